// The GEMM of cpu/gemm.h, in the usual three-level blocking (Goto/BLIS): a KC x NC block of B is
// packed into NR-wide panels (kept in L3/L2), an MC x KC block of A into MR-tall panels (kept in
// L2), and a micro-kernel multiplies one MR x KC panel by one KC x NR panel into an MR x NR tile of
// C held entirely in registers. Threads split C into disjoint blocks, each packing its own panels.
#include "cpu/gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/kernels.h"
#include "cpu/scratch.h"

namespace cg::cpu {
namespace {

// ---- micro-kernels: C[m x n] (+)= Ap (MR x kc, packed by k) * Bp (kc x NR, packed by k) ----

// AVX-512, 14 x 32: 28 accumulators + 2 B vectors + 1 broadcast = 31 of the 32 zmm registers.
// Per k: 2 loads of B, 14 broadcasts of A, 28 FMAs.
__attribute__((target("avx512f,fma"))) void uk_avx512(int64_t kc, const float* a, const float* b, float* c,
                                                      int64_t ldc, int m, int n, bool acc) {
  constexpr int MR = 14;
  __m512 r0[MR], r1[MR];
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) r0[i] = r1[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      r0[i] = _mm512_fmadd_ps(ai, b0, r0[i]);
      r1[i] = _mm512_fmadd_ps(ai, b1, r1[i]);
    }
    a += MR;
    b += 32;
  }
  const __mmask16 k0 = n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
  const __mmask16 k1 = n >= 32 ? __mmask16(0xFFFF) : n > 16 ? __mmask16((1u << (n - 16)) - 1) : __mmask16(0);
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    float* ci = c + i * ldc;
    __m512 v0 = r0[i], v1 = r1[i];
    if (acc) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(k0, ci));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(k1, ci + 16));
    }
    _mm512_mask_storeu_ps(ci, k0, v0);
    _mm512_mask_storeu_ps(ci + 16, k1, v1);
  }
}

// AVX2, 6 x 16: 12 accumulators + 2 B vectors + 1 broadcast of the 16 ymm registers.
__attribute__((target("avx2,fma"))) void uk_avx2(int64_t kc, const float* a, const float* b, float* c,
                                                 int64_t ldc, int m, int n, bool acc) {
  constexpr int MR = 6;
  __m256 r0[MR], r1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) r0[i] = r1[i] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      r0[i] = _mm256_fmadd_ps(ai, b0, r0[i]);
      r1[i] = _mm256_fmadd_ps(ai, b1, r1[i]);
    }
    a += MR;
    b += 16;
  }
  alignas(32) float tile[MR][16];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(tile[i], r0[i]);
    _mm256_store_ps(tile[i] + 8, r1[i]);
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * ldc + j] = acc ? c[i * ldc + j] + tile[i][j] : tile[i][j];
}

// Portable: the compiler vectorises the j loop.
template <class T, int MR, int NR>
void uk_generic(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int m, int n, bool acc) {
  T r[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) r[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * ldc + j] = acc ? c[i * ldc + j] + r[i][j] : r[i][j];
}

template <class T>
using Micro = void (*)(int64_t, const T*, const T*, T*, int64_t, int, int, bool);

template <class T>
struct Kernel {
  Micro<T> fn;
  int MR, NR;
  int64_t KC, MC, NC;
  const char* isa;
};

// KC: a KC x NR panel of B stays in L1 (32 KiB for float/AVX-512). MC: an MC x KC block of A stays
// in L2. NC: a KC x NC block of B stays in L3.
Kernel<float> float_kernel() {
  static const Kernel<float> k = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
      return Kernel<float>{uk_avx512, 14, 32, 256, 14 * 24, 2048, "avx512"};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return Kernel<float>{uk_avx2, 6, 16, 256, 6 * 56, 2048, "avx2"};
    return Kernel<float>{uk_generic<float, 4, 16>, 4, 16, 256, 128, 1024, "generic"};
  }();
  return k;
}

Kernel<double> double_kernel() { return {uk_generic<double, 4, 8>, 4, 8, 256, 128, 1024, "generic"}; }

// ---- packing ----

// A rows [i0, i0+mc), cols [k0, k0+kc) -> MR-row panels, each laid out k-major: dst[k*MR + r].
template <class T>
void pack_a(MatView<T> A, int64_t i0, int64_t mc, int64_t k0, int64_t kc, int MR, T* dst) {
  for (int64_t p = 0; p < mc; p += MR) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, mc - p));
    T* d = dst + p * kc;
    const T* src = A.p + (i0 + p) * A.rs + k0 * A.cs;
    if (A.rs == 1) {  // columns of A contiguous: read along r
      for (int64_t k = 0; k < kc; ++k) {
        const T* s = src + k * A.cs;
        for (int r = 0; r < mr; ++r) d[k * MR + r] = s[r];
        for (int r = mr; r < MR; ++r) d[k * MR + r] = T(0);
      }
    } else {
      for (int r = 0; r < mr; ++r) {
        const T* s = src + r * A.rs;
        for (int64_t k = 0; k < kc; ++k) d[k * MR + r] = s[k * A.cs];
      }
      for (int r = mr; r < MR; ++r)
        for (int64_t k = 0; k < kc; ++k) d[k * MR + r] = T(0);
    }
  }
}

// B rows [k0, k0+kc), cols [j0, j0+nc) -> NR-column panels, each laid out k-major: dst[k*NR + j].
template <class T>
void pack_b(MatView<T> B, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int NR, T* dst) {
  for (int64_t q = 0; q < nc; q += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - q));
    T* d = dst + q * kc;
    const T* src = B.p + k0 * B.rs + (j0 + q) * B.cs;
    if (B.cs == 1) {  // rows of B contiguous: copy NR at a time
      for (int64_t k = 0; k < kc; ++k) {
        std::memcpy(d + k * NR, src + k * B.rs, sizeof(T) * static_cast<size_t>(nr));
        for (int j = nr; j < NR; ++j) d[k * NR + j] = T(0);
      }
    } else {
      for (int j = 0; j < nr; ++j) {
        const T* s = src + j * B.cs;
        for (int64_t k = 0; k < kc; ++k) d[k * NR + j] = s[k * B.rs];
      }
      for (int j = nr; j < NR; ++j)
        for (int64_t k = 0; k < kc; ++k) d[k * NR + j] = T(0);
    }
  }
}

// One thread's share: C rows [m0, m1), cols [n0, n1).
template <class T>
void gemm_block(const Kernel<T>& kr, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K, MatView<T> A,
                MatView<T> B, T* C, int64_t ldc, bool accumulate) {
  T* bp = scratch<T>(kPackB, static_cast<size_t>(kr.KC * (kr.NC + kr.NR)));
  T* ap = scratch<T>(kPackA, static_cast<size_t>(kr.KC * (kr.MC + kr.MR)));
  for (int64_t jc = n0; jc < n1; jc += kr.NC) {
    const int64_t nc = std::min(kr.NC, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kr.KC) {
      const int64_t kc = std::min(kr.KC, K - pc);
      const bool acc = accumulate || pc > 0;
      pack_b(B, pc, kc, jc, nc, kr.NR, bp);
      for (int64_t ic = m0; ic < m1; ic += kr.MC) {
        const int64_t mc = std::min(kr.MC, m1 - ic);
        pack_a(A, ic, mc, pc, kc, kr.MR, ap);
        for (int64_t jr = 0; jr < nc; jr += kr.NR) {
          const int n = static_cast<int>(std::min<int64_t>(kr.NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += kr.MR) {
            const int m = static_cast<int>(std::min<int64_t>(kr.MR, mc - ir));
            kr.fn(kc, ap + ir * kc, bp + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc, m, n, acc);
          }
        }
      }
    }
  }
}

template <class T>
void gemm_impl(const Kernel<T>& kr, int64_t M, int64_t N, int64_t K, MatView<T> A, MatView<T> B, T* C,
               int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
    return;
  }
  const int64_t mtiles = (M + kr.MR - 1) / kr.MR, ntiles = (N + kr.NR - 1) / kr.NR;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int nt = (omp_in_parallel() || flops < 2e6) ? 1 : omp_get_max_threads();
  if (nt == 1) return gemm_block(kr, 0, M, 0, N, K, A, B, C, ldc, accumulate);
  // Split the dimension with more tiles, in whole tiles, so that no two threads share a tile.
  const bool split_n = ntiles >= mtiles || ntiles >= 2 * nt;
#pragma omp parallel num_threads(nt)
  {
    const int64_t t = omp_get_thread_num(), T_ = omp_get_num_threads();
    const int64_t tiles = split_n ? ntiles : mtiles, tile = split_n ? kr.NR : kr.MR;
    const int64_t b = tiles * t / T_ * tile, e = std::min(tiles * (t + 1) / T_ * tile, split_n ? N : M);
    if (b < e) {
      if (split_n)
        gemm_block(kr, 0, M, b, e, K, A, B, C, ldc, accumulate);
      else
        gemm_block(kr, b, e, 0, N, K, A, B, C, ldc, accumulate);
    }
  }
}

}  // namespace

template <>
void gemm<float>(int64_t M, int64_t N, int64_t K, MatView<float> A, MatView<float> B, float* C, int64_t ldc,
                 bool accumulate) {
  gemm_impl(float_kernel(), M, N, K, A, B, C, ldc, accumulate);
}

template <>
void gemm<double>(int64_t M, int64_t N, int64_t K, MatView<double> A, MatView<double> B, double* C,
                  int64_t ldc, bool accumulate) {
  gemm_impl(double_kernel(), M, N, K, A, B, C, ldc, accumulate);
}

const char* gemm_isa() { return float_kernel().isa; }

}  // namespace cg::cpu
