// Losses, mean-reduced as PyTorch's defaults. Built from other ops: no kernels of their own.
#pragma once

#include "tensor/tensor.h"

namespace cg {

Tensor mse_loss(const Tensor& pred, const Tensor& target);  // mean((pred - target)^2)
Tensor l1_loss(const Tensor& pred, const Tensor& target);   // mean(|pred - target|)
// mean(max(x, 0) - x t + log(1 + exp(-|x|))): binary cross-entropy on logits x, computed without
// overflow. Its own backward rule, dx = (sigmoid(x) - t) / n, dt = -x / n: exact at x = 0, where
// the composed rule would hit the kinks of max and |.|.
Tensor bce_with_logits(const Tensor& x, const Tensor& target);

}  // namespace cg
