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

#include "cpu/isa.h"
#include "cpu/kernels.h"
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

bool has_avx512() { return cpu_isa() == Isa::Avx512; }

// Transposes a 16 x 16 block held in 16 vectors (r[i] = row i) in place: r[j] becomes column j.
// Four rounds of 16 shuffles (unpack ps, unpack pd, two rounds of 128-bit lane shuffles).
// GCC 12's unpack intrinsics start from an undefined register, which -Wmaybe-uninitialized
// reports inside the compiler's own header; the values are all defined.
#pragma GCC diagnostic push
#if !defined(__clang__)  // (clang has no such warning)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {  // t[2i] lane L: r2i[4L], r2i+1[4L], r2i[4L+1], r2i+1[4L+1]
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // u[4g + j] lane L: column 4L + j, rows 4g .. 4g + 3
    u[4 * g + 0] =
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[4 * g]), _mm512_castps_pd(t[4 * g + 2])));
    u[4 * g + 1] =
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[4 * g]), _mm512_castps_pd(t[4 * g + 2])));
    u[4 * g + 2] =
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[4 * g + 1]), _mm512_castps_pd(t[4 * g + 3])));
    u[4 * g + 3] =
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[4 * g + 1]), _mm512_castps_pd(t[4 * g + 3])));
  }
  for (int j = 0; j < 4; ++j) {  // gather the four row blocks of each column
    const __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88),
                 v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88),
                 v3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
    r[j] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[4 + j] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}
#pragma GCC diagnostic pop

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

// Writes `count` values of B's row k, starting at block column jl, into the panels: from `src`
// (stride `step`), or zeros when src is null. Splits at panel boundaries.
template <class T>
inline void put_row_run(T* dst, int64_t kc, int NR, int64_t k, int64_t jl, const T* src, int64_t step,
                        int64_t count) {
  while (count > 0) {
    const int64_t col = jl % NR, n = std::min<int64_t>(count, NR - col);
    T* d = dst + (jl / NR) * kc * NR + k * NR + col;
    // Runs are short (at most one panel row): plain loops the compiler inlines and vectorises
    // beat calls to memcpy/memset here.
    if (!src) {
      for (int64_t i = 0; i < n; ++i) d[i] = T(0);
    } else if (step == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) d[i] = src[i];
    } else {
      for (int64_t i = 0; i < n; ++i) d[i] = src[i * step];
    }
    if (src) src += n * step;
    jl += n;
    count -= n;
  }
}

// Zeroes the columns of the last panel beyond nc (the micro-kernel always reads NR columns).
template <class T>
void zero_tail(T* dst, int64_t kc, int NR, int64_t nc) {
  const int64_t used = nc % NR;
  if (used == 0) return;
  T* d = dst + (nc / NR) * kc * NR;
  for (int64_t k = 0; k < kc; ++k)
    std::memset(d + k * NR + used, 0, sizeof(T) * static_cast<size_t>(NR - used));
}

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

// The output columns q of one output row whose input column q*stride - pad + s lies in [0, W).
inline void valid_q(const ConvGeom& g, int64_t s, int64_t& lo, int64_t& hi) {
  lo = std::clamp<int64_t>((g.pad - s + g.stride - 1) / g.stride, 0, g.Q);
  hi = std::clamp<int64_t>((g.W + g.pad - s + g.stride - 1) / g.stride, lo, g.Q);
}

// Calls run(j_offset, src or nullptr, step, count) for the output positions [pq0, pq0 + n) of
// input channel c and kernel tap (r, s), in runs within one output row: the values are
// x[c][ih][iw] along the run (stride `step`), or zeros where the tap falls on the padding.
template <class T, class Run>
inline void for_each_tap_run(const T* x, const ConvGeom& g, int64_t c, int64_t r, int64_t s, int64_t pq0,
                             int64_t n, Run&& run) {
  int64_t q_lo, q_hi;
  valid_q(g, s, q_lo, q_hi);
  const T* xc = x + c * g.H * g.W;
  int64_t off = 0;
  while (off < n) {
    const int64_t pq = pq0 + off, p = pq / g.Q, q = pq % g.Q;
    const int64_t len = std::min(g.Q - q, n - off);  // to the end of this output row
    const int64_t ih = p * g.stride - g.pad + r;
    if (ih < 0 || ih >= g.H) {
      run(off, nullptr, 0, len);
    } else {
      const T* row = xc + ih * g.W;
      const int64_t a = std::clamp(q_lo, q, q + len), b = std::clamp(q_hi, a, q + len);
      if (a > q) run(off, nullptr, 0, a - q);
      if (b > a) run(off + (a - q), row + a * g.stride - g.pad + s, g.stride, b - a);
      if (q + len > b) run(off + (b - q), nullptr, 0, q + len - b);
    }
    off += len;
  }
}

// B = im2col(x): row (c, r, s), column (p, q).
template <class T>
struct Im2colB {
  const T* x;
  ConvGeom g;
  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int NR, T* dst) const {
    for (int64_t k = 0; k < kc; ++k) {
      const int64_t crs = k0 + k, c = crs / (g.R * g.S), r = crs / g.S % g.R, s = crs % g.S;
      for_each_tap_run(x, g, c, r, s, j0, nc, [&](int64_t off, const T* src, int64_t step, int64_t count) {
        put_row_run(dst, kc, NR, k, off, src, step, count);
      });
    }
    zero_tail(dst, kc, NR, nc);
  }
};

// B = im2col(x)^T: row (p, q), column (c, r, s). Each column is one tap read along the image:
// contiguous in x but a column of the panel, so the panel is a transpose. With AVX-512 the columns
// are first copied into a column-major buffer and transposed in 16 x 16 register blocks; otherwise
// they are written one element at a time.
template <class T>
struct Im2colTB {
  const T* x;
  ConvGeom g;
  // Column j of the block (tap j0 + j) for rows [k0, k0 + kc): out[i * stride] for each row i.
  void column(int64_t k0, int64_t kc, int64_t crs, T* out, int64_t stride) const {
    const int64_t c = crs / (g.R * g.S), r = crs / g.S % g.R, s = crs % g.S;
    for_each_tap_run(x, g, c, r, s, k0, kc, [&](int64_t off, const T* src, int64_t step, int64_t count) {
      T* o = out + off * stride;
      if (!src)
        for (int64_t i = 0; i < count; ++i) o[i * stride] = T(0);
      else if (step == 1 && stride == 1)
        std::memcpy(o, src, sizeof(T) * static_cast<size_t>(count));
      else
        for (int64_t i = 0; i < count; ++i) o[i * stride] = src[i * step];
    });
  }
  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int NR, T* dst) const {
    if constexpr (std::is_same_v<T, float>) {
      if (has_avx512() && NR % 16 == 0) return pack_transposed(k0, kc, j0, nc, NR, dst);
    }
    for (int64_t j = 0; j < nc; ++j) column(k0, kc, j0 + j, dst + (j / NR) * kc * NR + j % NR, NR);
    zero_tail(dst, kc, NR, nc);
  }
  void pack_transposed(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int NR, float* dst) const;
};

template <>
__attribute__((target("avx512f"))) void Im2colTB<float>::pack_transposed(int64_t k0, int64_t kc, int64_t j0,
                                                                         int64_t nc, int NR,
                                                                         float* dst) const {
  float* cols = scratch<float>(kTranspose, static_cast<size_t>(NR * kc));  // (NR, kc): column-major panel
  for (int64_t jp = 0; jp < nc; jp += NR) {
    const int64_t ncols = std::min<int64_t>(NR, nc - jp);
    for (int64_t j = 0; j < ncols; ++j) column(k0, kc, j0 + jp + j, cols + j * kc, 1);
    std::memset(cols + ncols * kc, 0, sizeof(float) * static_cast<size_t>((NR - ncols) * kc));
    float* panel = dst + (jp / NR) * kc * NR;
    int64_t kb = 0;
    for (; kb + 16 <= kc; kb += 16)
      for (int jb = 0; jb < NR; jb += 16) {
        __m512 v[16];
        for (int c = 0; c < 16; ++c) v[c] = _mm512_loadu_ps(cols + (jb + c) * kc + kb);
        transpose16(v);
        for (int i = 0; i < 16; ++i) _mm512_storeu_ps(panel + (kb + i) * NR + jb, v[i]);
      }
    for (; kb < kc; ++kb)
      for (int j = 0; j < NR; ++j) panel[kb * NR + j] = cols[j * kc + kb];
  }
}

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
