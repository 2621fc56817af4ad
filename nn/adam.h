// Adam with PyTorch's exact update (torch.optim.Adam: bias correction, eps added outside the
// square root, no weight decay, no amsgrad). Its state is exposed for checkpoints.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

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

  // For CUDA graphs, the step in two halves, each for the parameters that have a gradient now
  // (their moments must exist already, from an eager step). queue_update() queues the update,
  // reading the step scalars from device memory (call it while the step is being captured).
  // prepare_update() advances their step counts and uploads this step's scalars (call it before
  // every launch of the captured graph). step() is prepare + queue.
  void queue_update();
  void prepare_update();
  // Called with the gradients of the parameters a step updates, in order, just before the update
  // (and captured with it): what may change them in place first, as data-parallel training
  // averages them over ranks (distributed::DataParallel::attach).
  void set_grad_hook(std::function<void(const std::vector<Tensor>& grads)> hook) {
    grad_hook_ = std::move(hook);
  }
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
  void select_active(bool create_state);
  void prepare(bool create_state);
  std::vector<Tensor> params_;
  std::vector<ParamState> state_;
  Options opt_;
  std::vector<size_t> active_;            // the parameters updated by the current step
  std::vector<double> scalars_host_;      // (step_size, bc2_sqrt) per active parameter
  std::shared_ptr<Storage> scalars_dev_;  // the same on the parameters' device (2 * params doubles)
  std::function<void(const std::vector<Tensor>&)> grad_hook_;  // set_grad_hook's; empty: none
};

}  // namespace cg::nn
