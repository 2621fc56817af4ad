#pragma once

#include "autograd/tensor.h"

namespace cg {

// InstanceNorm2d(affine=False, track_running_stats=False) on (N, C, H, W): every (n, c) plane
// normalised by its own mean and biased variance.
Tensor instance_norm2d(const Tensor& x, double eps = 1e-5);

// instance_norm2d followed by LeakyReLU(slope) (ReLU for slope 0), fused: one pass each way, and
// only the normalised values are kept for backward.
Tensor instance_norm_act2d(const Tensor& x, double slope, double eps = 1e-5);

}  // namespace cg
