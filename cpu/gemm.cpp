// The GEMM of cpu/gemm.h, in the usual three-level blocking (Goto/BLIS): a KC x NC block of B is
// packed into NR-wide panels (kept in L2/L3), an MC x KC block of A into MR-tall panels (kept in
// L2), and a micro-kernel multiplies one MR x KC panel by one KC x NR panel into an MR x NR tile of
// C held entirely in registers. Threads split C into disjoint blocks, each packing its own panels.
//
// B comes from a "source" that knows how to pack a block: a strided matrix, or a convolution
// input read as its im2col matrix (or that matrix's transpose) without ever building it.
#include "cpu/gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "cpu/im2col.h"
#include "cpu/isa.h"
#include "cpu/kernels.h"
#include "cpu/pack.h"
#include "cpu/scratch.h"

namespace cg::cpu {
namespace {

using kern::ConvGeom;

// ---- micro-kernels: C[m x n] (+)= Ap (MR x kc, packed by k) * Bp (kc x NR, packed by k) ----

// AVX-512, MR x (16 NV): MR*NV accumulators, NV vectors of B and one broadcast of A per k.
// 14 x 32 (28 accumulators) is the main kernel; the wide, short ones serve convolutions with 1-4
// output channels, where a 14-row kernel would multiply mostly padding.
template <int MR, int NV>
__attribute__((target("avx512f,fma"))) void uk_avx512(int64_t kc, const float* a, const float* b, float* c,
                                                      int64_t ldc, int m, int n, bool acc,
                                                      const float* bias) {
  __m512 r[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) r[i][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m512 bv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) r[i][v] = _mm512_fmadd_ps(ai, bv[v], r[i][v]);
    }
    a += MR;
    b += 16 * NV;
  }
  __mmask16 mask[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    const int left = n - 16 * v;
    mask[v] = left >= 16 ? __mmask16(0xFFFF) : left > 0 ? __mmask16((1u << left) - 1) : __mmask16(0);
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    float* ci = c + i * ldc;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      __m512 x = r[i][v];
      if (acc)
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], ci + 16 * v));
      else if (bias)
        x = _mm512_add_ps(x, _mm512_set1_ps(bias[i]));
      _mm512_mask_storeu_ps(ci + 16 * v, mask[v], x);
    }
  }
}

// AVX2, 6 x 16: 12 accumulators + 2 B vectors + 1 broadcast of the 16 ymm registers.
__attribute__((target("avx2,fma"))) void uk_avx2(int64_t kc, const float* a, const float* b, float* c,
                                                 int64_t ldc, int m, int n, bool acc, const float* bias) {
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
    for (int j = 0; j < n; ++j)
      c[i * ldc + j] = acc ? c[i * ldc + j] + tile[i][j] : tile[i][j] + (bias ? bias[i] : 0.0f);
}

// Portable: the compiler vectorises the j loop.
template <class T, int MR, int NR>
void uk_generic(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int m, int n, bool acc,
                const T* bias) {
  T r[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) r[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      c[i * ldc + j] = acc ? c[i * ldc + j] + r[i][j] : r[i][j] + (bias ? bias[i] : T(0));
}

// (kc, packed A, packed B, C tile, ldc, valid rows, valid cols, add to C, row bias or null). The
// bias is added when the tile is first written (acc false): a convolution's bias costs no pass.
template <class T>
using Micro = void (*)(int64_t, const T*, const T*, T*, int64_t, int, int, bool, const T*);

// A micro-kernel and its blocking. KC: a KC x NR panel of B stays in L1 (48 KiB on the machines we
// tune for). MC: an MC x KC block of A stays in L2. NC: a KC x NC block of B stays in L2/L3.
template <class T>
struct Kernel {
  Micro<T> fn;
  int MR, NR;
  int64_t KC, MC, NC;
  const char* isa;
};

// Packs an MR <= 16 row panel of a row-major float A (rows `src + r*rs`, mr of them valid) for k in
// [0, kc): dst[k*MR + r]. Blocks of 16 k go through a register transpose; the rest one by one.
__attribute__((target("avx512f"))) void pack_a_rows_avx512(const float* src, int64_t rs, int mr, int MR,
                                                           int64_t kc, float* dst) {
  const __mmask16 row_mask = static_cast<__mmask16>((1u << MR) - 1);
  int64_t k = 0;
  for (; k + 16 <= kc; k += 16) {
    __m512 v[16];
    for (int r = 0; r < 16; ++r) v[r] = r < mr ? _mm512_loadu_ps(src + r * rs + k) : _mm512_setzero_ps();
    transpose16(v);
    for (int kk = 0; kk < 16; ++kk) _mm512_mask_storeu_ps(dst + (k + kk) * MR, row_mask, v[kk]);
  }
  for (; k < kc; ++k)
    for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < mr ? src[r * rs + k] : 0.0f;
}

// The kernel for an M-row product.
Kernel<float> float_kernel(int64_t M) {
  if (has_avx512()) {
    switch (M) {
      case 1:
        return {uk_avx512<1, 16>, 1, 256, 48, 1, 4096, "avx512"};
      case 2:
        return {uk_avx512<2, 12>, 2, 192, 64, 2, 3072, "avx512"};
      case 3:
        return {uk_avx512<3, 8>, 3, 128, 96, 3, 2048, "avx512"};
      case 4:
        return {uk_avx512<4, 6>, 4, 96, 128, 4, 2016, "avx512"};
      default:
        return {uk_avx512<14, 2>, 14, 32, 256, 14 * 24, 2048, "avx512"};
    }
  }
  if (cpu_isa() == Isa::Avx2) return {uk_avx2, 6, 16, 256, 6 * 56, 2048, "avx2"};
  return {uk_generic<float, 4, 16>, 4, 16, 256, 128, 1024, "generic"};
}

Kernel<double> double_kernel(int64_t) { return {uk_generic<double, 4, 8>, 4, 8, 256, 128, 1024, "generic"}; }

template <class T>
Kernel<T> kernel_for(int64_t M) {
  if constexpr (std::is_same_v<T, float>)
    return float_kernel(M);
  else
    return double_kernel(M);
}

// ---- packing A: rows [i0, i0+mc), cols [k0, k0+kc) -> MR-row panels, each k-major: dst[k*MR + r] ----

// One panel of mr valid rows (the rest zero) read through A's strides.
template <class T>
void pack_a_panel(const T* src, MatView<T> A, int mr, int MR, int64_t kc, T* d) {
  if (A.rs == 1) {  // columns of A contiguous: read along r
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = src + k * A.cs;
      for (int r = 0; r < mr; ++r) d[k * MR + r] = s[r];
      for (int r = mr; r < MR; ++r) d[k * MR + r] = T(0);
    }
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    if (A.cs == 1 && MR <= 16 && has_avx512()) return pack_a_rows_avx512(src, A.rs, mr, MR, kc, d);
  }
  for (int r = 0; r < mr; ++r) {
    const T* s = src + r * A.rs;
    for (int64_t k = 0; k < kc; ++k) d[k * MR + r] = s[k * A.cs];
  }
  for (int r = mr; r < MR; ++r)
    for (int64_t k = 0; k < kc; ++k) d[k * MR + r] = T(0);
}

template <class T>
void pack_a(MatView<T> A, int64_t i0, int64_t mc, int64_t k0, int64_t kc, int MR, T* dst) {
  for (int64_t p = 0; p < mc; p += MR)
    pack_a_panel(A.p + (i0 + p) * A.rs + k0 * A.cs, A, static_cast<int>(std::min<int64_t>(MR, mc - p)), MR,
                 kc, dst + p * kc);
}

// ---- packing B: rows [k0, k0+kc), cols [j0, j0+nc) -> NR-column panels, each k-major:
//      panel t holds columns [t*NR, t*NR + NR) at dst + t*kc*NR, element (k, j) at k*NR + j ----

template <class T>
struct DenseB {
  MatView<T> v;
  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int NR, T* dst) const {
    if (v.cs == 1) {
      // Row by row: each source row is read once, front to back (friendly to the TLB even when
      // rows are far apart), and scattered into the panels.
      for (int64_t k = 0; k < kc; ++k) put_row_run(dst, kc, NR, k, 0, v.p + (k0 + k) * v.rs + j0, 1, nc);
    } else {
      for (int64_t j = 0; j < nc; ++j) {  // column by column: B's columns are contiguous
        const T* s = v.p + k0 * v.rs + (j0 + j) * v.cs;
        T* d = dst + (j / NR) * kc * NR + j % NR;
        for (int64_t k = 0; k < kc; ++k) d[k * NR] = s[k * v.rs];
      }
    }
    zero_tail(dst, kc, NR, nc);
  }
};

// One thread's share: C rows [m0, m1), cols [n0, n1).
template <class T, class BSrc>
void gemm_block(const Kernel<T>& kr, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K, MatView<T> A,
                const BSrc& B, T* C, int64_t ldc, bool accumulate, const T* bias) {
  T* bp = scratch<T>(kPackB, static_cast<size_t>(kr.KC * (kr.NC + kr.NR)));
  T* ap = scratch<T>(kPackA, static_cast<size_t>(kr.KC * (kr.MC + kr.MR)));
  for (int64_t jc = n0; jc < n1; jc += kr.NC) {
    const int64_t nc = std::min(kr.NC, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kr.KC) {
      const int64_t kc = std::min(kr.KC, K - pc);
      const bool acc = accumulate || pc > 0;
      B.pack(pc, kc, jc, nc, kr.NR, bp);
      for (int64_t ic = m0; ic < m1; ic += kr.MC) {
        const int64_t mc = std::min(kr.MC, m1 - ic);
        pack_a(A, ic, mc, pc, kc, kr.MR, ap);
        for (int64_t jr = 0; jr < nc; jr += kr.NR) {
          const int n = static_cast<int>(std::min<int64_t>(kr.NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += kr.MR) {
            const int m = static_cast<int>(std::min<int64_t>(kr.MR, mc - ir));
            kr.fn(kc, ap + ir * kc, bp + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc, m, n, acc,
                  bias ? bias + ic + ir : nullptr);
          }
        }
      }
    }
  }
}

template <class T, class BSrc>
void gemm_impl(int64_t M, int64_t N, int64_t K, MatView<T> A, const BSrc& B, T* C, int64_t ldc,
               bool accumulate, const T* bias = nullptr) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, bias ? bias[i] : T(0));
    return;
  }
  const Kernel<T> kr = kernel_for<T>(M);
  const int64_t mtiles = (M + kr.MR - 1) / kr.MR, ntiles = (N + kr.NR - 1) / kr.NR;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int nt = (omp_in_parallel() || flops < 2e6) ? 1 : omp_get_max_threads();
  if (nt == 1) return gemm_block(kr, 0, M, 0, N, K, A, B, C, ldc, accumulate, bias);
  // Split the dimension with more tiles, in whole tiles, so that no two threads share a tile.
  const bool split_n = ntiles >= mtiles || ntiles >= 2 * nt;
#pragma omp parallel num_threads(nt)
  {
    const int64_t t = omp_get_thread_num(), T_ = omp_get_num_threads();
    const int64_t tiles = split_n ? ntiles : mtiles, tile = split_n ? kr.NR : kr.MR;
    const int64_t b = tiles * t / T_ * tile, e = std::min(tiles * (t + 1) / T_ * tile, split_n ? N : M);
    if (b < e) {
      if (split_n)
        gemm_block(kr, 0, M, b, e, K, A, B, C, ldc, accumulate, bias);
      else
        gemm_block(kr, b, e, 0, N, K, A, B, C, ldc, accumulate, bias);
    }
  }
}

}  // namespace

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, MatView<T> A, MatView<T> B, T* C, int64_t ldc, bool accumulate) {
  gemm_impl(M, N, K, A, DenseB<T>{B}, C, ldc, accumulate);
}

template <class T>
void gemm_im2col(int64_t M, MatView<T> A, const T* x, const ConvGeom& g, T* C, int64_t ldc, bool accumulate,
                 const T* bias) {
  gemm_impl(M, g.P * g.Q, g.C * g.R * g.S, A, Im2colB<T>{x, g}, C, ldc, accumulate, bias);
}

template <class T>
void gemm_im2col_t(int64_t M, MatView<T> A, const T* x, const ConvGeom& g, T* C, int64_t ldc,
                   bool accumulate) {
  gemm_impl(M, g.C * g.R * g.S, g.P * g.Q, A, Im2colTB<T>{x, g}, C, ldc, accumulate);
}

template void gemm<float>(int64_t, int64_t, int64_t, MatView<float>, MatView<float>, float*, int64_t, bool);
template void gemm<double>(int64_t, int64_t, int64_t, MatView<double>, MatView<double>, double*, int64_t,
                           bool);
template void gemm_im2col<float>(int64_t, MatView<float>, const float*, const ConvGeom&, float*, int64_t,
                                 bool, const float*);
template void gemm_im2col<double>(int64_t, MatView<double>, const double*, const ConvGeom&, double*, int64_t,
                                  bool, const double*);
template void gemm_im2col_t<float>(int64_t, MatView<float>, const float*, const ConvGeom&, float*, int64_t,
                                   bool);
template void gemm_im2col_t<double>(int64_t, MatView<double>, const double*, const ConvGeom&, double*,
                                    int64_t, bool);

const char* gemm_isa() { return float_kernel(64).isa; }

}  // namespace cg::cpu
