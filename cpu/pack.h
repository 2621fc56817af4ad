// The panel layout the GEMM's micro-kernels read (cpu/gemm.cpp), shared by the GEMM's own
// packing and the convolutions' im2col packing (cpu/im2col.h). Internal to cpu/.
//
// B panels: rows [k0, k0+kc), cols [j0, j0+nc) -> NR-column panels, each k-major: panel t holds
// columns [t*NR, t*NR + NR) at dst + t*kc*NR, element (k, j) at k*NR + j.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "cpu/isa.h"

namespace cg::cpu {

inline bool has_avx512() { return cpu_isa() == Isa::Avx512; }

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

}  // namespace cg::cpu
