#include "ops/linear.h"

#include <cmath>

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "ops/conv.h"

namespace cg {

// ---- linear: the 1x1 convolution's forward and backward (ops/conv.cpp) ----
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  if (x.ndim() != 2 || w.ndim() != 2 || x.size(1) != w.size(1))
    throw Error("linear: input " + x.describe() + " and weight " + w.describe() +
                " must be (N, in) and (out, in) with the same in");
  if (b.defined() && b.shape() != Shape{w.size(0)})
    throw Error("linear: bias " + b.describe() + " must be (" + std::to_string(w.size(0)) + ") for weight " +
                w.describe());
  const int64_t N = x.size(0), in = x.size(1), out = w.size(0);
  const Tensor y = conv2d(x.reshape({N, in, 1, 1}), w.reshape({out, in, 1, 1}), b);  // (N, out, 1, 1)
  return y.reshape({N, out});
}

// ---- embedding: gather forward, scatter-add backward (cpu/embedding.cpp, cuda/embedding.cu) ----
Tensor embedding(const Tensor& weight, const Tensor& index) {
  if (weight.ndim() != 2)
    throw Error("embedding: weight must be (num_embeddings, dim), got " + weight.describe());
  if (index.ndim() != 1) throw Error("embedding: index must be (N), got " + index.describe());
  if (index.dtype() != weight.dtype() || index.device() != weight.device())
    throw Error("embedding: index " + index.describe() + " must have the dtype and device of weight " +
                weight.describe());
  const int64_t K = weight.size(0), D = weight.size(1), N = index.size(0);
  // the kernels read rows at these positions unchecked: check every one here, on the host
  const std::vector<double> idx = index.to_vector<double>();
  for (int64_t n = 0; n < N; ++n) {
    const double v = idx[static_cast<size_t>(n)];
    if (!(v >= 0 && v < static_cast<double>(K) && v == std::floor(v)))
      throw Error("embedding: index " + std::to_string(v) + " at position " + std::to_string(n) +
                  " is out of range for " + std::to_string(K) +
                  " embeddings (expected a whole number in [0, " + std::to_string(K - 1) + "])");
  }
  Tensor y = Tensor::empty({N, D}, weight.dtype(), weight.device());  // (N, D)
  CG_KERNEL(weight.device(), embedding_forward, weight.dtype(), weight.raw(), index.raw(), y.raw(), N, D);
  // index is saved version-checked: rows rewritten after the forward would scatter to the wrong rows
  record("embedding", {weight}, y, [ix = Saved(index, "embedding"), K, D, N](const Tensor& dy, const Need&) {
    Tensor dw = Tensor::empty({K, D}, dy.dtype(), dy.device());  // (K, D)
    CG_KERNEL(dy.device(), embedding_backward, dy.dtype(), dy.raw(), ix.get().raw(), dw.raw(), N, K, D);
    return Grads{dw};
  });
  return y;
}

Tensor flatten(const Tensor& x) {
  if (x.ndim() < 1) throw Error("flatten: expected at least a batch dim, got " + x.describe());
  return x.reshape({x.size(0), -1});
}

}  // namespace cg
