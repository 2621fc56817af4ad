#pragma once

#include "tensor/tensor.h"

namespace cg {

// Training: zero each element with probability p and scale the rest by 1 / (1 - p), drawing from
// `gen` (default: the device's generator). Evaluation (training = false): the identity.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace cg
