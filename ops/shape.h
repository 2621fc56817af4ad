// Rearranging copies along any dim: narrow (slicing, x[:, :, 1:, 1:]), permute and transpose.
// Tensors are contiguous, so each returns a copy (PyTorch returns a view; the values are the same).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace cg {

// torch.narrow: indices [start, start + length) of dim `dim` (negative counts from the end), the
// other dims whole. x[:, :, 1:, 1:] is narrow(narrow(x, 2, 1, H - 1), 3, 1, W - 1). Its gradient
// is dy placed in those positions of zeros.
Tensor narrow(const Tensor& x, int dim, int64_t start, int64_t length);

// x.permute(dims): output dim i is input dim dims[i]; dims lists every dim once (negative ones
// count from the end). Its gradient is dy permuted back.
Tensor permute(const Tensor& x, const std::vector<int>& dims);
// x.transpose(d0, d1): the permutation that swaps two dims.
Tensor transpose(const Tensor& x, int d0, int d1);

// torch.flip(x, [dim]): x reversed along `dim` (CUT's flip equivariance flips images and features
// along the width). Composed: `dim` permuted to the front, its rows gathered in reverse order
// (index_rows), permuted back; its gradient is theirs, dy reversed.
Tensor flip(const Tensor& x, int dim);

}  // namespace cg
