#include "ops/norm.h"

#include "autograd/tape.h"
#include "backend/comm.h"
#include "backend/dispatch.h"
#include "ops/all_reduce.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace cg {

// ---- instance norm, optionally with a fused (leaky) ReLU. With y the normalised values,
//      rstd = 1/sqrt(var + eps) per plane and g the gradient at y (dy, or dy times the
//      activation's slope where y <= 0): dx = rstd * (g - mean(g) - y * mean(g * y)) ----
static Tensor instance_norm_impl(const char* op, const Tensor& x, double eps, bool act, double slope) {
  if (x.ndim() != 4)
    throw Error(std::string(op) + ": expected a 4-D (N, C, H, W) input, got " + x.describe());
  const int64_t NC = x.size(0) * x.size(1), HW = x.size(2) * x.size(3);
  if (HW < 2) throw Error(std::string(op) + ": need more than one value per channel, got " + x.describe());
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());              // (N, C, H, W), normalised
  Tensor out = act ? Tensor::empty(x.shape(), x.dtype(), x.device()) : y;  // (N, C, H, W), activated
  Tensor rstd = Tensor::empty({NC}, x.dtype(), x.device());                // (N*C)
  CG_KERNEL(x.device(), instance_norm_forward, x.dtype(), x.raw(), y.raw(), rstd.raw(), NC, HW, eps, act,
            slope, act ? out.raw() : nullptr);
  record(op, {x}, out, [ys = Saved(y, op), rstd, NC, HW, act, slope](const Tensor& dy, const Need&) {
    const Tensor& yv = ys.get();
    Tensor dx = Tensor::empty(yv.shape(), yv.dtype(), yv.device());
    CG_KERNEL(dy.device(), instance_norm_backward, dy.dtype(), dy.raw(), yv.raw(), rstd.raw(), dx.raw(), NC,
              HW, act, slope);
    return Grads{dx};
  });
  return out;
}

Tensor instance_norm2d(const Tensor& x, double eps) {
  return instance_norm_impl("instance_norm2d", x, eps, false, 0);
}

Tensor instance_norm_act2d(const Tensor& x, double slope, double eps) {
  return instance_norm_impl("instance_norm_act2d", x, eps, true, slope);
}

// ---- batch norm: composed of recorded ops (mean, sub, square, sqrt, div, mul, add), so the
//      backward is theirs; the running statistics are updated outside the tape ----
static Tensor batch_norm_impl(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                              Tensor& running_mean, Tensor& running_var, bool training, double momentum,
                              double eps, bool update_running, bool sync_ranks = false) {
  const int64_t C = x.size(1), count = x.numel() / C;
  for (const Tensor* t : std::initializer_list<const Tensor*>{&weight, &bias, &running_mean, &running_var})
    if (t->shape() != Shape{C})
      throw Error(std::string(op) + ": input " + x.describe() + " needs (" + std::to_string(C) +
                  ") weight, bias and running statistics, got " + t->describe());
  // the per-channel statistics reduce every dim but the channels: (N) or (N, H, W)
  const std::vector<int> dims = x.ndim() == 2 ? std::vector<int>{0} : std::vector<int>{0, 2, 3};
  Tensor x_hat;  // x's shape
  if (training) {
    // PyTorch refuses too: the variance of a single value says nothing
    if (count < 2)
      throw Error(std::string(op) + ": need more than one value per channel when training, got " +
                  x.describe());
    Tensor mu, xc, var;  // (C), x's shape, (C) biased
    double n = static_cast<double>(count);
    if (sync_ranks && world_size() > 1) {
      // every rank's sums, all-reduced (differentiably: the backward all-reduces the gradients)
      comm::all_reduce_sum(&n, 1);
      mu = all_reduce_sum(sum(x, dims)) / n;
      xc = x - mu;
      var = all_reduce_sum(sum(square(xc), dims)) / n;
    } else {
      mu = mean(x, dims);
      xc = x - mu;
      var = mean(square(xc), dims);
    }
    x_hat = xc / sqrt(var + eps);
    if (update_running) {
      NoGradGuard no_grad;
      const double unbias = n / (n - 1.0);
      copy_(running_mean, running_mean * (1.0 - momentum) + mu.detach() * momentum);
      copy_(running_var, running_var * (1.0 - momentum) + var.detach() * (momentum * unbias));
    }
  } else {
    x_hat = (x - running_mean) / sqrt(running_var + eps);
  }
  return x_hat * weight + bias;
}

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum, double eps, bool update_running,
                    bool sync_ranks) {
  if (x.ndim() != 4) throw Error("batch_norm2d: expected a 4-D (N, C, H, W) input, got " + x.describe());
  return batch_norm_impl("batch_norm2d", x, weight, bias, running_mean, running_var, training, momentum, eps,
                         update_running, sync_ranks);
}

Tensor batch_norm1d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum, double eps, bool update_running) {
  if (x.ndim() != 2) throw Error("batch_norm1d: expected a 2-D (N, C) input, got " + x.describe());
  return batch_norm_impl("batch_norm1d", x, weight, bias, running_mean, running_var, training, momentum, eps,
                         update_running);
}

// ---- l2_normalize: composed (square, sum, sqrt, add, div carry the gradient) ----
Tensor l2_normalize(const Tensor& x, int dim, double eps) {
  return x / (sqrt(sum(square(x), {dim}, true)) + eps);
}

}  // namespace cg
