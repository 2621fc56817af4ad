// Direct AVX-512 kernels for stride-1 convolutions with 1 to 4 output channels: the generator's
// last layer (7x7, 64 -> 3) and the discriminator's (4x4, 512 -> 1). There a GEMM does a few
// multiply-adds per packed value and spends its time packing; these kernels read the image in
// place, vectorised along output columns, with every weight tap held in registers. Internal to cpu/.
#pragma once

#include "backend/types.h"

namespace cg::cpu {

// True when the narrow kernels apply: float32, AVX-512, stride 1, K <= 4, and a kernel width the
// kernels are built for (3, 4 or 7).
bool narrow_conv_applies(DType dt, const kern::ConvGeom& g);
// y (N, K, P, Q) = conv(x, w) + b (b may be null).
void narrow_conv_forward(const float* x, const float* w, const float* b, float* y, const kern::ConvGeom& g);
// dw (K, C, R, S) = sum over N of the correlation of dy with x. (The bias gradient, the same for
// every path, is cpu/conv2d.cpp's.)
void narrow_conv_backward_weight(const float* x, const float* dy, float* dw, const kern::ConvGeom& g);

}  // namespace cg::cpu
