// Packed, cache-blocked matrix multiply: the workhorse of the CPU convolutions. Internal to cpu/.
//
//   C (M x N, row-major, leading dim ldc)  =  [C +]  A (M x K) * B (K x N)
//
// A and B are read through strides, so a transpose is only a change of strides:
// A(i, k) = A[i * rsa + k * csa], B(k, j) = B[k * rsb + j * csb].
// float runs an AVX-512 (or, on CPUs without it, AVX2) micro-kernel picked at run time; double
// runs a portable one (it serves the float64 gradchecks, where speed matters little).
#pragma once

#include <cstdint>

namespace cg::cpu {

template <class T>
struct MatView {
  const T* p;
  int64_t rs, cs;  // row and column strides
};

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, MatView<T> A, MatView<T> B, T* C, int64_t ldc, bool accumulate);

// The micro-kernel family in use for float ("avx512", "avx2" or "generic"), for reports.
const char* gemm_isa();

}  // namespace cg::cpu
