#include "ops/norm.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"

namespace cg {

// ---- instance_norm2d: with y the output and rstd = 1/sqrt(var + eps) per plane,
//      dx = rstd * (dy - mean(dy) - y * mean(dy * y)) ----
Tensor instance_norm2d(const Tensor& x, double eps) {
  if (x.ndim() != 4) throw Error("instance_norm2d: expected a 4-D (N, C, H, W) input, got " + x.describe());
  const int64_t NC = x.size(0) * x.size(1), HW = x.size(2) * x.size(3);
  if (HW < 2) throw Error("instance_norm2d: need more than one value per channel, got " + x.describe());
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty({NC}, x.dtype(), x.device());  // (N*C)
  CG_KERNEL(x.device(), instance_norm_forward, x.dtype(), x.raw(), y.raw(), rstd.raw(), NC, HW, eps);
  record("instance_norm2d", {x}, y,
         [ys = Saved(y, "instance_norm2d"), rstd, NC, HW](const Tensor& dy, const std::vector<bool>&) {
           const Tensor& yv = ys.get();
           Tensor dx = Tensor::empty(yv.shape(), yv.dtype(), yv.device());
           CG_KERNEL(dy.device(), instance_norm_backward, dy.dtype(), dy.raw(), yv.raw(), rstd.raw(),
                     dx.raw(), NC, HW);
           return std::vector<Tensor>{dx};
         });
  return y;
}

}  // namespace cg
