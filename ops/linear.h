// The dense layers' ops, PyTorch's semantics and layouts: linear (nn.Linear), embedding
// (nn.Embedding) and flatten (torch.flatten).
#pragma once

#include "tensor/tensor.h"

namespace cg {

// x (N, in), w (out, in), b (out) or undefined -> (N, out) = x w^T + b. It is the 1x1 convolution of
// (N, in, 1, 1) by (out, in, 1, 1), so it runs on the convolutions' GEMMs on both backends (cuDNN
// on the GPU) and its gradient is theirs: dx = dy w, dw = dy^T x, db = the column sums of dy.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

// weight (K, D), index (N) -> (N, D): row index[n] of weight for each n (a gather). index holds
// class numbers as whole numbers in the float dtype of weight, on its device; one that is not a
// whole number in [0, K) is an error naming it and its position. The gradient of weight is the
// scatter-add of dy's rows onto the rows they were read from (rows no index names get 0); index
// has no gradient.
Tensor embedding(const Tensor& weight, const Tensor& index);

// x (N, C), index (M) -> (M, C): x[index], the rows index names (as PyTorch's feat[patch_ids]),
// with embedding's kernels and rules: index holds whole numbers in [0, N) in x's dtype, on x's
// device, checked on the host; x's gradient is the scatter-add of dy's rows (a row named twice
// receives both). float32 names rows exactly up to 2^24.
Tensor index_rows(const Tensor& x, const Tensor& index);

namespace detail {
// Throws unless every value of index is a whole number in [0, count), naming op, the value, its
// position and what is counted ("embeddings", "rows", "classes"). Reads index on the host.
void check_index(const char* op, const Tensor& index, int64_t count, const char* what);
}  // namespace detail

// (N, d1, d2, ...) -> (N, d1 * d2 * ...): torch.flatten(x, 1), a reshape (no copy).
Tensor flatten(const Tensor& x);

}  // namespace cg
