// Splitting and joining along the batch dim (dim 0): the image pool works per image, the data
// loader stacks images into batches.
#pragma once

#include <vector>

#include "autograd/tensor.h"

namespace cg {

// Rows [start, start + len) of x along dim 0; a copy.
Tensor slice0(const Tensor& x, int64_t start, int64_t len);
// Joins tensors of equal trailing shape along dim 0.
Tensor cat0(const std::vector<Tensor>& xs);

}  // namespace cg
