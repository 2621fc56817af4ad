// Adam with PyTorch's exact update (torch.optim.Adam: bias correction, eps added outside the
// square root, no weight decay, no amsgrad). Its state is exposed for checkpoints.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace cg::nn {

class Adam {
 public:
  struct Options {
    double lr = 2e-4;
    double beta1 = 0.5;  // CycleGAN's default (PyTorch's own default is 0.9)
    double beta2 = 0.999;
    double eps = 1e-8;
  };
  struct ParamState {
    int64_t step = 0;
    Tensor exp_avg, exp_avg_sq;  // each of its parameter's shape; undefined before the first step
  };

  Adam(std::vector<Tensor> params, Options opt);
  void zero_grad();  // drops every gradient (PyTorch's set_to_none=True)
  void step();       // parameters without a gradient are skipped, as PyTorch does
  double lr() const { return opt_.lr; }
  void set_lr(double lr) { opt_.lr = lr; }
  const Options& options() const { return opt_; }
  const std::vector<Tensor>& params() const { return params_; }
  std::vector<ParamState>& state() { return state_; }

  // The state as named tensors ("<prefix><i>.exp_avg", ".exp_avg_sq", ".step" as a float64
  // scalar), for checkpoints; load_state checks every entry against the parameters.
  std::map<std::string, Tensor> state_dict(const std::string& prefix) const;
  void load_state_dict(const std::map<std::string, Tensor>& sd, const std::string& prefix,
                       const std::string& what);

 private:
  std::vector<Tensor> params_;
  std::vector<ParamState> state_;
  Options opt_;
};

}  // namespace cg::nn
