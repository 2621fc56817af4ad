// Reductions: sum over dims (one kernel), and everything else composed from it.
#include "ops/reduce.h"

#include <algorithm>

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "ops/elementwise.h"

namespace cg {

// Normalises dims (negative -> from the end), rejecting out-of-range and repeated ones.
static std::vector<bool> reduced_mask(const char* op, const Tensor& x, const std::vector<int>& dims) {
  std::vector<bool> mask(static_cast<size_t>(x.ndim()), false);
  for (int d : dims) {
    const int k = d < 0 ? d + x.ndim() : d;
    if (k < 0 || k >= x.ndim())
      throw Error(std::string(op) + ": dim " + std::to_string(d) + " out of range for " + x.describe());
    if (mask[static_cast<size_t>(k)])
      throw Error(std::string(op) + ": dim " + std::to_string(d) + " given twice");
    mask[static_cast<size_t>(k)] = true;
  }
  return mask;
}

// Sums the dims set in `mask`; the result keeps them as size 1.
static Tensor sum_kernel(const Tensor& x, const std::vector<bool>& mask) {
  Shape kept = x.shape();
  for (size_t d = 0; d < kept.size(); ++d)
    if (mask[d]) kept[d] = 1;
  Tensor y = Tensor::empty(kept, x.dtype(), x.device());
  if (x.ndim() > kern::kMaxDims) throw Error("sum: too many dims in " + x.describe());
  kern::Indexer ix;
  ix.nd = x.ndim();
  int64_t sx = 1, sy = 1;
  for (int d = ix.nd - 1; d >= 0; --d) {
    const size_t u = static_cast<size_t>(d);
    ix.shape[d] = x.shape()[u];
    ix.stride_a[d] = sx;
    ix.stride_b[d] = mask[u] ? 0 : sy;
    sx *= x.shape()[u];
    sy *= kept[u];
  }
  CG_KERNEL(x.device(), reduce_sum, x.dtype(), x.raw(), y.raw(), ix);
  return y;
}

// ---- sum over dims: dx = dy broadcast back over the reduced dims ----
Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  const std::vector<bool> mask = reduced_mask("sum", x, dims);
  Tensor kept;
  {
    NoGradGuard inner;  // the kernel result is recorded once, as `sum`, below
    kept = sum_kernel(x, mask);
  }
  Shape out_shape;
  for (size_t d = 0; d < mask.size(); ++d)
    if (!mask[d] || keepdim) out_shape.push_back(kept.shape()[d]);
  Tensor y = kept.reshape(out_shape).detach();
  const Shape x_shape = x.shape(), kept_shape = kept.shape();
  record("sum", {x}, y, [x_shape, kept_shape](const Tensor& dy, const Need&) {
    return Grads{expand(dy.reshape(kept_shape), x_shape)};
  });
  return y;
}

Tensor sum(const Tensor& x) {
  std::vector<int> all(static_cast<size_t>(x.ndim()));
  for (int d = 0; d < x.ndim(); ++d) all[static_cast<size_t>(d)] = d;
  return sum(x, all, false);
}

// ---- mean = sum / count: composed, so it needs no backward of its own ----
Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  const std::vector<bool> mask = reduced_mask("mean", x, dims);
  int64_t count = 1;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) count *= x.shape()[d];
  return mul_scalar(sum(x, dims, keepdim), 1.0 / static_cast<double>(count));
}

Tensor mean(const Tensor& x) { return mul_scalar(sum(x), 1.0 / static_cast<double>(x.numel())); }

// ---- sum_to: the gradient of broadcasting; its own backward is broadcasting again ----
Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const size_t nd = static_cast<size_t>(x.ndim());
  if (shape.size() > nd) throw Error("sum_to: cannot reduce " + x.describe() + " to " + shape_str(shape));
  const size_t off = nd - shape.size();
  std::vector<int> dims;
  for (size_t d = 0; d < nd; ++d) {
    const int64_t target = d < off ? 1 : shape[d - off];
    if (target == 1 && x.shape()[d] != 1)
      dims.push_back(static_cast<int>(d));
    else if (target != x.shape()[d])
      throw Error("sum_to: cannot reduce " + x.describe() + " to " + shape_str(shape));
  }
  return sum(x, dims, true).reshape(shape);
}

}  // namespace cg
