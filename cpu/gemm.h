// Packed, cache-blocked matrix multiply: the workhorse of the CPU convolutions. Internal to cpu/.
//
//   C (M x N, row-major, leading dim ldc)  =  [C +]  A (M x K) * B (K x N)
//
// A is read through strides, so a transpose is only a change of strides: A(i, k) = A[i*rs + k*cs].
// B is either a strided matrix too, or the im2col matrix of a convolution input, read straight from
// the image while packing (an "implicit GEMM": the column matrix, CRS x PQ, is never built).
// float runs AVX-512 micro-kernels (AVX2 on CPUs without AVX-512), picked at run time, with
// narrow-and-wide kernels for the convolutions with 1 to 4 output channels; double runs a portable
// kernel (it serves the float64 gradchecks, where speed matters little).
#pragma once

#include <cstdint>

#include "backend/types.h"

namespace cg::cpu {

template <class T>
struct MatView {
  const T* p;
  int64_t rs, cs;  // row and column strides
};

// C = [C +] A * B, B a strided matrix.
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, MatView<T> A, MatView<T> B, T* C, int64_t ldc, bool accumulate);

// C (M x PQ) = [C +] A (M x CRS) * im2col(x) [+ bias (M), per row, when not accumulating], x one
// image (C, H, W) of geometry g: im2col(x)[(c, r, s)][(p, q)] = x[c][p*stride - pad + r][q*stride - pad + s],
// 0 outside.
template <class T>
void gemm_im2col(int64_t M, MatView<T> A, const T* x, const kern::ConvGeom& g, T* C, int64_t ldc,
                 bool accumulate, const T* bias = nullptr);

// C (M x CRS) = [C +] A (M x PQ) * im2col(x)^T: the weight gradient's product.
template <class T>
void gemm_im2col_t(int64_t M, MatView<T> A, const T* x, const kern::ConvGeom& g, T* C, int64_t ldc,
                   bool accumulate);

// The micro-kernel family in use for float ("avx512", "avx2" or "generic"), for reports.
const char* gemm_isa();

}  // namespace cg::cpu
