// narrow (one 2-D strided copy kernel, cpu/shape.cpp and cuda/shape.cu) and permute (the strided
// copy that broadcasting uses).
#include "ops/shape.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "ops/linear.h"  // index_rows, for flip

namespace cg {

static int normalise_dim(const char* op, const Tensor& x, int dim) {
  const int d = dim < 0 ? dim + x.ndim() : dim;
  if (d < 0 || d >= x.ndim())
    throw Error(std::string(op) + ": dim " + std::to_string(dim) + " out of range for " + x.describe());
  return d;
}

// ---- narrow: x viewed as (outer, D, inner) keeps (outer, length, inner) from `start`; dx is dy
// copied back into those rows of zeros ----
Tensor narrow(const Tensor& x, int dim, int64_t start, int64_t length) {
  const int d = normalise_dim("narrow", x, dim);
  const int64_t D = x.size(d);
  if (start < 0 || length < 0 || start + length > D)
    throw Error("narrow: [" + std::to_string(start) + ", " + std::to_string(start + length) +
                ") is out of range for dim " + std::to_string(dim) + " of " + x.describe());
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < d; ++k) outer *= x.size(k);
  for (int k = d + 1; k < x.ndim(); ++k) inner *= x.size(k);
  Shape s = x.shape();
  s[static_cast<size_t>(d)] = length;
  Tensor y = Tensor::empty(s, x.dtype(), x.device());                                // (outer, length, inner)
  const size_t offset = static_cast<size_t>(start * inner) * dtype_size(x.dtype());  // bytes
  if (y.numel() > 0)
    CG_KERNEL(x.device(), copy_rows, x.dtype(), static_cast<const char*>(x.raw()) + offset, D * inner,
              y.raw(), length * inner, outer, length * inner);
  const Shape xs = x.shape();
  record("narrow", {x}, y, [xs, offset, D, length, inner, outer](const Tensor& dy, const Need&) {
    Tensor dx = Tensor::zeros(xs, dy.dtype(), dy.device());  // (outer, D, inner)
    if (dy.numel() > 0)
      CG_KERNEL(dy.device(), copy_rows, dy.dtype(), dy.raw(), length * inner,
                static_cast<char*>(dx.raw()) + offset, D * inner, outer, length * inner);
    return Grads{dx};
  });
  return y;
}

// ---- permute: y[i0, i1, ...] = x at the permuted index; dx is dy permuted by the inverse ----
Tensor permute(const Tensor& x, const std::vector<int>& dims) {
  const int nd = x.ndim();
  if (static_cast<int>(dims.size()) != nd)
    throw Error("permute: " + std::to_string(dims.size()) + " dims given for " + x.describe());
  if (nd > kern::kMaxDims) throw Error("permute: too many dims in " + x.describe());
  std::vector<int> perm(static_cast<size_t>(nd)), inverse(static_cast<size_t>(nd), -1);
  for (int i = 0; i < nd; ++i) {
    const int d = normalise_dim("permute", x, dims[static_cast<size_t>(i)]);
    if (inverse[static_cast<size_t>(d)] >= 0)
      throw Error("permute: dim " + std::to_string(d) + " given twice for " + x.describe());
    perm[static_cast<size_t>(i)] = d;
    inverse[static_cast<size_t>(d)] = i;
  }
  int64_t strides[kern::kMaxDims];  // x's, contiguous
  int64_t step = 1;
  for (int d = nd - 1; d >= 0; --d) {
    strides[d] = step;
    step *= x.size(d);
  }
  kern::Indexer ix;
  ix.nd = nd;
  Shape out(static_cast<size_t>(nd));
  for (int i = 0; i < nd; ++i) {
    const int d = perm[static_cast<size_t>(i)];
    out[static_cast<size_t>(i)] = ix.shape[i] = x.size(d);
    ix.stride_a[i] = strides[d];
  }
  Tensor y = Tensor::empty(out, x.dtype(), x.device());
  if (y.numel() > 0) CG_KERNEL(x.device(), copy_strided, x.dtype(), x.raw(), y.raw(), ix);
  record("permute", {x}, y, [inverse](const Tensor& dy, const Need&) { return Grads{permute(dy, inverse)}; });
  return y;
}

Tensor transpose(const Tensor& x, int d0, int d1) {
  const int a = normalise_dim("transpose", x, d0), b = normalise_dim("transpose", x, d1);
  std::vector<int> dims(static_cast<size_t>(x.ndim()));
  for (int i = 0; i < x.ndim(); ++i) dims[static_cast<size_t>(i)] = i;
  std::swap(dims[static_cast<size_t>(a)], dims[static_cast<size_t>(b)]);
  return permute(x, dims);
}

// ---- flip: composed of permute and index_rows ----
Tensor flip(const Tensor& x, int dim) {
  const int d = normalise_dim("flip", x, dim);
  std::vector<int> to_front{d}, back(static_cast<size_t>(x.ndim()));
  for (int k = 0; k < x.ndim(); ++k)
    if (k != d) to_front.push_back(k);
  for (int k = 0; k < x.ndim(); ++k) back[static_cast<size_t>(to_front[static_cast<size_t>(k)])] = k;
  const int64_t D = x.size(d);
  if (D == 0 || x.numel() == 0) return x.detach().clone();
  const Tensor front = permute(x, to_front);  // (D, the other dims)
  std::vector<double> reversed(static_cast<size_t>(D));
  for (int64_t i = 0; i < D; ++i) reversed[static_cast<size_t>(i)] = static_cast<double>(D - 1 - i);
  const Tensor index = Tensor::from_vector(reversed, {D}).to(x.dtype()).to(x.device());  // (D)
  return permute(index_rows(front.reshape({D, x.numel() / D}), index).reshape(front.shape()), back);
}

}  // namespace cg
