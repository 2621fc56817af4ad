// Depthwise convolutions: groups == channels, each channel filtered by its own (R, S) filter, as
// F.conv2d(x, w, stride=, padding=, groups=C) and F.conv_transpose2d(..., groups=C). CUT's
// antialiasing is built from them: its Downsample blurs with a fixed binomial filter at stride 2,
// its Upsample is the transposed blur (models/networks.py of taesungp/contrastive-unpaired-translation).
// No bias (CUT's blurs have none). Zero padding; under a Bf16Autocast (ops/conv.h) they round as
// conv2d does.
#pragma once

#include "tensor/tensor.h"

namespace cg {

// x (N, C, H, W), w (C, 1, R, S) -> (N, C, P, Q), P = (H + 2 padding - R) / stride + 1.
Tensor depthwise_conv2d(const Tensor& x, const Tensor& w, int64_t stride = 1, int64_t padding = 0);

// x (N, C, H, W), w (C, 1, R, S) (PyTorch's (in, out / groups, kh, kw)) -> (N, C, Ho, Wo),
// Ho = (H - 1) stride - 2 padding + R + output_padding (output_padding < stride).
Tensor depthwise_conv_transpose2d(const Tensor& x, const Tensor& w, int64_t stride = 1, int64_t padding = 0,
                                  int64_t output_padding = 0);

}  // namespace cg
