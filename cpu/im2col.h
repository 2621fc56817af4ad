// A convolution's input as a matrix, both ways: im2col (the GEMM packs its B panels straight from
// the image, so the column matrix is never built: Im2colB, Im2colTB) and col2im (a column matrix
// added back into the image: the input gradient of strided and transposed convolutions). Internal
// to cpu/; used by cpu/gemm.cpp and cpu/conv2d.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend/types.h"
#include "cpu/loops.h"
#include "cpu/pack.h"

namespace cg::cpu {

using kern::ConvGeom;

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

// col (C*R*S, P*Q) -> dx (C, H, W), adding every column entry into the pixel it came from.
template <class T>
void col2im(const T* col, T* dx, const ConvGeom& g) {
  const int64_t PQ = g.P * g.Q;
#pragma omp parallel for schedule(static) if (g.C * g.R * g.S * PQ > kParallelGrain)
  for (int64_t c = 0; c < g.C; ++c) {  // channels own disjoint planes of dx: no races
    T* dxc = dx + c * g.H * g.W;
    std::fill(dxc, dxc + g.H * g.W, T(0));
    for (int64_t r = 0; r < g.R; ++r)
      for (int64_t s = 0; s < g.S; ++s) {
        const T* src = col + ((c * g.R + r) * g.S + s) * PQ;
        const int64_t q_lo = std::clamp<int64_t>((g.pad - s + g.stride - 1) / g.stride, 0, g.Q);
        const int64_t q_hi = std::clamp<int64_t>((g.W + g.pad - s + g.stride - 1) / g.stride, q_lo, g.Q);
        for (int64_t p = 0; p < g.P; ++p) {
          const int64_t ih = p * g.stride - g.pad + r;
          if (ih < 0 || ih >= g.H) continue;
          T* drow = dxc + ih * g.W;
          const T* srow = src + p * g.Q;
          for (int64_t q = q_lo; q < q_hi; ++q) drow[q * g.stride - g.pad + s] += srow[q];
        }
      }
  }
}

}  // namespace cg::cpu
