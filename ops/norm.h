#pragma once

#include "tensor/tensor.h"

namespace cg {

// InstanceNorm2d(affine=False, track_running_stats=False) on (N, C, H, W): every (n, c) plane
// normalised by its own mean and biased variance.
Tensor instance_norm2d(const Tensor& x, double eps = 1e-5);

// instance_norm2d followed by LeakyReLU(slope) (ReLU for slope 0), fused: one pass each way, and
// only the normalised values are kept for backward.
Tensor instance_norm_act2d(const Tensor& x, double slope, double eps = 1e-5);

// BatchNorm2d (affine) on (N, C, H, W), as PyTorch's: in training, each channel is normalised by
// the batch's mean and biased variance over (N, H, W), and running_mean/running_var (C) are blended
// in place with `momentum`, the variance unbiased (n / (n - 1)); in eval, the running statistics
// normalise. Then y = x_hat * weight + bias, weight and bias (C). Built from the elementwise and
// reduction ops, so it runs wherever they do and its gradient is theirs. update_running = false
// normalises by the batch in training without touching the running statistics (PyTorch's
// F.batch_norm with no running statistics; the conditional GAN's frozen discriminator).
// sync_ranks = true: in training, the mean and variance are those of every rank's batch together
// (ops/all_reduce.h; PyTorch's SyncBatchNorm): the per-rank sums are all-reduced, forward and backward.
Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                    bool update_running = true, bool sync_ranks = false);
// The same on (N, C), as PyTorch's BatchNorm1d: each channel's statistics over the batch.
Tensor batch_norm1d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                    bool update_running = true);

// CUT's Normalize(power=2): x / (sqrt(sum(x^2 over dim, keepdim)) + eps), eps added to the norm
// (not under the root) as the official code does. Composed of elementwise ops and sum, so its
// gradient is theirs; an all-zero slice has an infinite gradient there, as in PyTorch.
Tensor l2_normalize(const Tensor& x, int dim = 1, double eps = 1e-7);

}  // namespace cg
