// Losses, mean-reduced as PyTorch's defaults. Built from other ops: no kernels of their own.
#pragma once

#include "autograd/tensor.h"

namespace cg {

Tensor mse_loss(const Tensor& pred, const Tensor& target);  // mean((pred - target)^2)
Tensor l1_loss(const Tensor& pred, const Tensor& target);   // mean(|pred - target|)

}  // namespace cg
