#include "nn/adam.h"

#include <cmath>

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "ops/elementwise.h"

namespace cg::nn {

Adam::Adam(std::vector<Tensor> params, Options opt)
    : params_(std::move(params)), state_(params_.size()), opt_(opt) {}

void Adam::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Adam::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    ParamState& s = state_[i];
    if (!s.exp_avg.defined()) {
      s.exp_avg = Tensor::zeros(p.shape(), p.dtype(), p.device());
      s.exp_avg_sq = Tensor::zeros(p.shape(), p.dtype(), p.device());
    }
    ++s.step;
    // The scalars in double, as PyTorch computes them in Python.
    const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(s.step));
    const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(s.step));
    CG_KERNEL(p.device(), adam_update, p.dtype(), p.raw(), g.raw(), s.exp_avg.raw(), s.exp_avg_sq.raw(),
              p.numel(), opt_.beta1, opt_.beta2, opt_.eps, opt_.lr / bc1, std::sqrt(bc2));
    p.bump_version();
  }
}

std::map<std::string, Tensor> Adam::state_dict(const std::string& prefix) const {
  std::map<std::string, Tensor> sd;
  for (size_t i = 0; i < state_.size(); ++i) {
    const std::string k = prefix + std::to_string(i);
    sd[k + ".step"] = Tensor::full({}, static_cast<double>(state_[i].step), DType::F64);
    if (state_[i].exp_avg.defined()) {
      sd[k + ".exp_avg"] = state_[i].exp_avg.detach();
      sd[k + ".exp_avg_sq"] = state_[i].exp_avg_sq.detach();
    }
  }
  return sd;
}

void Adam::load_state_dict(const std::map<std::string, Tensor>& sd, const std::string& prefix,
                           const std::string& what) {
  std::vector<ParamState> loaded(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string k = prefix + std::to_string(i);
    auto st = sd.find(k + ".step");
    if (st == sd.end()) throw Error(what + ": optimizer entry '" + k + ".step' is missing");
    loaded[i].step = static_cast<int64_t>(st->second.item());
    auto m = sd.find(k + ".exp_avg"), v = sd.find(k + ".exp_avg_sq");
    if ((m == sd.end()) != (v == sd.end()))
      throw Error(what + ": optimizer entry '" + k + "' has only one of exp_avg and exp_avg_sq");
    if (m == sd.end()) continue;
    for (auto it : {m, v})
      if (it->second.shape() != params_[i].shape())
        throw Error(what + ": optimizer entry '" + it->first + "' has shape " +
                    shape_str(it->second.shape()) + " but parameter " + std::to_string(i) + " has shape " +
                    shape_str(params_[i].shape()));
    loaded[i].exp_avg = m->second.detach().to(params_[i].dtype()).to(params_[i].device()).clone();
    loaded[i].exp_avg_sq = v->second.detach().to(params_[i].dtype()).to(params_[i].device()).clone();
  }
  state_ = std::move(loaded);
}

}  // namespace cg::nn
