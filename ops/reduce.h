// Reductions. `dims` may be negative (counted from the end); keepdim keeps reduced dims as size 1.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace cg {

Tensor sum(const Tensor& x);  // all elements -> shape []
Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);

// Sums x down to `shape` (the reverse of broadcasting): the gradient of a broadcast input.
// `shape` may have fewer dims than x (right-aligned, as in broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace cg
