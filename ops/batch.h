// Splitting and joining along the batch dim (dim 0): the image pool works per image, the data
// loader stacks images into batches; and joining along the channels (dim 1).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace cg {

// Rows [start, start + len) of x along dim 0; a copy.
Tensor slice0(const Tensor& x, int64_t start, int64_t len);
// Joins tensors of equal trailing shape along dim 0.
Tensor cat0(const std::vector<Tensor>& xs);
// Joins (N, C_i, ...) tensors of equal N and trailing shape along the channels, dim 1 (the U-Net's
// skip connections: torch.cat([x, y], 1)).
Tensor cat1(const std::vector<Tensor>& xs);

}  // namespace cg
