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

// The parameters with a gradient, in order; all on one device and of one dtype.
void Adam::select_active(bool create_state) {
  active_.clear();
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    if (!active_.empty() &&
        (p.device() != params_[active_[0]].device() || p.dtype() != params_[active_[0]].dtype()))
      throw Error("Adam: parameters on different devices or of different dtypes (" + p.describe() + " and " +
                  params_[active_[0]].describe() + ")");
    ParamState& s = state_[i];
    // The parameter moved (Module::to) since its moments were made: they follow it, as
    // torch.optim.Adam's state follows a parameter moved before its optimizer steps again.
    if (s.exp_avg.defined() && (s.exp_avg.device() != p.device() || s.exp_avg.dtype() != p.dtype())) {
      if (!create_state)
        throw Error("Adam: parameter " + std::to_string(i) + " moved to " + p.describe() +
                    " since its step was captured as a CUDA graph");
      s.exp_avg = s.exp_avg.to(p.dtype()).to(p.device()).detach();
      s.exp_avg_sq = s.exp_avg_sq.to(p.dtype()).to(p.device()).detach();
    }
    if (!s.exp_avg.defined()) {
      if (!create_state)
        throw Error("Adam: parameter " + std::to_string(i) + " (" + p.describe() +
                    ") has no moments yet; run one eager step before capturing");
      s.exp_avg = Tensor::zeros(p.shape(), p.dtype(), p.device());
      s.exp_avg_sq = Tensor::zeros(p.shape(), p.dtype(), p.device());
    }
    active_.push_back(i);
  }
}

void Adam::prepare_update() { prepare(false); }

// Selects the parameters with a gradient (creating missing moments only when allowed), advances
// their step counts and uploads the step scalars.
void Adam::prepare(bool create_state) {
  select_active(create_state);
  if (active_.empty()) return;
  scalars_host_.clear();
  for (size_t i : active_) {
    ParamState& s = state_[i];
    ++s.step;
    // The scalars in double, as PyTorch computes them in Python.
    const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(s.step));
    const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(s.step));
    scalars_host_.push_back(opt_.lr / bc1);
    scalars_host_.push_back(std::sqrt(bc2));
  }
  const Device dev = params_[active_[0]].device();
  // Allocated once, for every parameter: a captured graph keeps reading this address.
  if (!scalars_dev_ || scalars_dev_->device != dev)
    scalars_dev_ = std::make_shared<Storage>(2 * params_.size() * sizeof(double), dev);
  CG_KERNEL(dev, upload, scalars_dev_->data, scalars_host_.data(), scalars_host_.size() * sizeof(double));
}

void Adam::queue_update() {
  select_active(false);  // while capturing, the gradients are the ones the capture produced
  if (active_.empty()) return;
  if (!scalars_dev_) throw Error("Adam::queue_update before prepare_update");
  if (grad_hook_) {  // e.g. the data-parallel average over ranks, before any parameter moves
    std::vector<Tensor> grads;
    for (size_t i : active_) grads.push_back(params_[i].grad());
    grad_hook_(grads);
  }
  std::vector<kern::AdamTensor> table;
  for (size_t i : active_) {
    Tensor& p = params_[i];
    ParamState& s = state_[i];
    table.push_back({p.raw(), p.grad().raw(), s.exp_avg.raw(), s.exp_avg_sq.raw(), p.numel()});
  }
  const Tensor& p0 = params_[active_[0]];
  CG_KERNEL(p0.device(), adam_update, p0.dtype(), table.data(), static_cast<int>(table.size()),
            static_cast<const double*>(scalars_dev_->data), opt_.beta1, opt_.beta2, opt_.eps);
  for (size_t i : active_) params_[i].bump_version();
}

void Adam::step() {
  NoGradGuard no_grad;
  prepare(true);
  queue_update();
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
  // The state comes from a file: every entry is checked before any of it replaces the current
  // state, so a corrupt file is an error naming the entry, never NaN weights several steps later.
  auto fail = [&](const std::string& key, const std::string& why) {
    return Error(what + ": optimizer entry '" + key + "' " + why);
  };
  for (auto it = sd.lower_bound(prefix); it != sd.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    const std::string rest = it->first.substr(prefix.size());
    const size_t dot = rest.find('.');
    const std::string num = rest.substr(0, dot), field = dot == std::string::npos ? "" : rest.substr(dot + 1);
    const bool known =
        !num.empty() && num.size() <= 9 && num.find_first_not_of("0123456789") == std::string::npos &&
        std::stoul(num) < params_.size() && (field == "step" || field == "exp_avg" || field == "exp_avg_sq");
    if (!known)
      throw fail(it->first, "does not belong to any of the " + std::to_string(params_.size()) +
                                " parameters (a state saved for another network?)");
  }
  std::vector<ParamState> loaded(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string k = prefix + std::to_string(i);
    auto st = sd.find(k + ".step");
    if (st == sd.end()) throw Error(what + ": optimizer entry '" + k + ".step' is missing");
    if (st->second.numel() != 1)
      throw fail(st->first, "has shape " + shape_str(st->second.shape()) + ", not a scalar");
    const double step = st->second.item();
    // 2^53: the largest count a float64 holds exactly, far beyond any training run.
    if (!(step >= 0 && step <= 9007199254740992.0) || step != std::floor(step))
      throw fail(st->first, "is " + std::to_string(step) + ", not a step count");
    loaded[i].step = static_cast<int64_t>(step);
    auto m = sd.find(k + ".exp_avg"), v = sd.find(k + ".exp_avg_sq");
    if ((m == sd.end()) != (v == sd.end()))
      throw Error(what + ": optimizer entry '" + k + "' has only one of exp_avg and exp_avg_sq");
    if (m == sd.end()) continue;
    if (loaded[i].step == 0) throw fail(st->first, "is 0 although moments were saved for it");
    for (auto it : {m, v}) {
      if (it->second.shape() != params_[i].shape())
        throw Error(what + ": optimizer entry '" + it->first + "' has shape " +
                    shape_str(it->second.shape()) + " but parameter " + std::to_string(i) + " has shape " +
                    shape_str(params_[i].shape()));
      for (double x : it->second.to_vector<double>())
        if (!std::isfinite(x) || (it == v && x < 0))
          throw fail(it->first, "holds " + std::to_string(x) +
                                    (it == v ? " (must be finite and non-negative)" : " (must be finite)"));
    }
    loaded[i].exp_avg = m->second.detach().to(params_[i].dtype()).to(params_[i].device()).clone();
    loaded[i].exp_avg_sq = v->second.detach().to(params_[i].dtype()).to(params_[i].device()).clone();
  }
  state_ = std::move(loaded);
}

}  // namespace cg::nn
