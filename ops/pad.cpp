#include "ops/pad.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"

namespace cg {

// ---- reflection_pad2d: dx = dy folded back onto the pixels each border copy came from ----
Tensor reflection_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom) {
  if (x.ndim() != 4) throw Error("reflection_pad2d: expected a 4-D (N, C, H, W) input, got " + x.describe());
  const int64_t H = x.size(2), W = x.size(3), NC = x.size(0) * x.size(1);
  if (left < 0 || right < 0 || top < 0 || bottom < 0 || left >= W || right >= W || top >= H || bottom >= H)
    throw Error("reflection_pad2d: padding (" + std::to_string(left) + ", " + std::to_string(right) + ", " +
                std::to_string(top) + ", " + std::to_string(bottom) +
                ") must be >= 0 and smaller than the input's " + "spatial size for " + x.describe());
  Tensor y = Tensor::empty({x.size(0), x.size(1), H + top + bottom, W + left + right}, x.dtype(), x.device());
  CG_KERNEL(x.device(), reflection_pad2d_forward, x.dtype(), x.raw(), y.raw(), NC, H, W, top, bottom, left,
            right);
  const Shape xs = x.shape();
  record("reflection_pad2d", {x}, y, [=](const Tensor& dy, const Need&) {
    Tensor dx = Tensor::empty(xs, dy.dtype(), dy.device());
    CG_KERNEL(dy.device(), reflection_pad2d_backward, dy.dtype(), dy.raw(), dx.raw(), NC, H, W, top, bottom,
              left, right);
    return Grads{dx};
  });
  return y;
}

// ---- replication_pad2d: dx = dy with each border copy added back onto its edge pixel ----
Tensor replication_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom) {
  if (x.ndim() != 4) throw Error("replication_pad2d: expected a 4-D (N, C, H, W) input, got " + x.describe());
  const int64_t H = x.size(2), W = x.size(3), NC = x.size(0) * x.size(1);
  if (left < 0 || right < 0 || top < 0 || bottom < 0)
    throw Error("replication_pad2d: padding (" + std::to_string(left) + ", " + std::to_string(right) + ", " +
                std::to_string(top) + ", " + std::to_string(bottom) + ") must be >= 0 for " + x.describe());
  if (H == 0 || W == 0)
    throw Error("replication_pad2d: nothing to replicate in the empty plane of " + x.describe());
  Tensor y = Tensor::empty({x.size(0), x.size(1), H + top + bottom, W + left + right}, x.dtype(), x.device());
  CG_KERNEL(x.device(), replication_pad2d_forward, x.dtype(), x.raw(), y.raw(), NC, H, W, top, bottom, left,
            right);
  const Shape xs = x.shape();
  record("replication_pad2d", {x}, y, [=](const Tensor& dy, const Need&) {
    Tensor dx = Tensor::empty(xs, dy.dtype(), dy.device());  // (N, C, H, W)
    CG_KERNEL(dy.device(), replication_pad2d_backward, dy.dtype(), dy.raw(), dx.raw(), NC, H, W, top, bottom,
              left, right);
    return Grads{dx};
  });
  return y;
}

}  // namespace cg
