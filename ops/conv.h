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

// --amp: while a Bf16Autocast is alive on this thread, both convolutions compute with bfloat16
// operands and fp32 accumulation: x, w and b are rounded to bfloat16 first and the output after,
// and in the backward pass the incoming gradient and the gradients the convolution returns are
// rounded the same way (round_bf16's rule). Everything else (norms, losses, Adam and its master
// weights) stays fp32. This is PyTorch's autocast policy for the convolutions, computed exactly
// in fp32 arithmetic on rounded values; float64 tensors are left alone.
// (ops/depthwise_conv.cpp follows the same policy.)
class Bf16Autocast {
 public:
  explicit Bf16Autocast(bool on = true);
  ~Bf16Autocast();
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool prev_;
};
bool bf16_autocast_enabled();  // whether a Bf16Autocast is alive on this thread

}  // namespace cg
