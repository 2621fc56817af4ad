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

namespace detail {
void check_index(const char* op, const Tensor& index, int64_t count, const char* what) {
  const std::vector<double> idx = index.to_vector<double>();
  for (size_t n = 0; n < idx.size(); ++n) {
    const double v = idx[n];
    if (!(v >= 0 && v < static_cast<double>(count) && v == std::floor(v)))
      throw Error(std::string(op) + ": index " + std::to_string(v) + " at position " + std::to_string(n) +
                  " is out of range for " + std::to_string(count) + " " + what +
                  " (expected a whole number in [0, " + std::to_string(count - 1) + "])");
  }
}
}  // namespace detail

// ---- gather_rows: table[index] forward, scatter-add backward (cpu/embedding.cpp,
// cuda/embedding.cu); embedding and index_rows under their own names ----
static Tensor gather_rows(const char* op, const Tensor& table, const Tensor& index, const char* what) {
  if (index.ndim() != 1) throw Error(std::string(op) + ": index must be (N), got " + index.describe());
  if (index.dtype() != table.dtype() || index.device() != table.device())
    throw Error(std::string(op) + ": index " + index.describe() + " must have the dtype and device of " +
                table.describe());
  const int64_t K = table.size(0), D = table.size(1), N = index.size(0);
  // the kernels read rows at these positions unchecked: check every one here, on the host
  detail::check_index(op, index, K, what);
  Tensor y = Tensor::empty({N, D}, table.dtype(), table.device());  // (N, D)
  CG_KERNEL(table.device(), embedding_forward, table.dtype(), table.raw(), index.raw(), y.raw(), N, D);
  // index is saved version-checked: rows rewritten after the forward would scatter to the wrong rows
  record(op, {table}, y, [ix = Saved(index, op), K, D, N](const Tensor& dy, const Need&) {
    Tensor dw = Tensor::empty({K, D}, dy.dtype(), dy.device());  // (K, D)
    CG_KERNEL(dy.device(), embedding_backward, dy.dtype(), dy.raw(), ix.get().raw(), dw.raw(), N, K, D);
    return Grads{dw};
  });
  return y;
}

Tensor embedding(const Tensor& weight, const Tensor& index) {
  if (weight.ndim() != 2)
    throw Error("embedding: weight must be (num_embeddings, dim), got " + weight.describe());
  return gather_rows("embedding", weight, index, "embeddings");
}

Tensor index_rows(const Tensor& x, const Tensor& index) {
  if (x.ndim() != 2) throw Error("index_rows: x must be (N, C), got " + x.describe());
  return gather_rows("index_rows", x, index, "rows");
}

Tensor flatten(const Tensor& x) {
  if (x.ndim() < 1) throw Error("flatten: expected at least a batch dim, got " + x.describe());
  return x.reshape({x.size(0), -1});
}

}  // namespace cg
