// Convolutions, PyTorch's semantics and weight layouts. `b` may be an undefined Tensor (no bias).
#pragma once

#include "tensor/tensor.h"

namespace cg {

// x (N, C, H, W), w (K, C, R, S), b (K) -> (N, K, P, Q), P = (H + 2 padding - R) / stride + 1.
// Zero padding.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride = 1, int64_t padding = 0);

// x (N, Cin, H, W), w (Cin, Cout, R, S), b (Cout) -> (N, Cout, Ho, Wo),
// Ho = (H - 1) stride - 2 padding + R + output_padding (output_padding < stride).
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride = 1,
                        int64_t padding = 0, int64_t output_padding = 0);

}  // namespace cg
