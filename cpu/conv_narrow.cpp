#include "cpu/conv_narrow.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "cpu/isa.h"
#include "cpu/loops.h"

namespace cg::cpu {
namespace {

using kern::ConvGeom;

// Lanes of a 16-wide vector whose input column col0 + lane lies in [0, W) and whose output column
// q0 + lane lies in [0, Q).
inline __mmask16 lanes(int64_t col0, int64_t W, int64_t q0, int64_t Q) {
  const int64_t lo = std::max<int64_t>(0, -col0), hi = std::min<int64_t>(16, std::min(W - col0, Q - q0));
  if (hi <= lo) return 0;
  const uint32_t all = (hi - lo >= 32) ? 0xFFFFFFFFu : ((1u << (hi - lo)) - 1u);
  return static_cast<__mmask16>(all << lo);
}

__attribute__((target("avx512f"))) inline float hsum(__m512 v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  float s = 0;
  for (float x : t) s += x;
  return s;
}

// One output row p of image n, 64 output columns at a time: acc[k][v] over every (c, r, s).
template <int KO, int S>
__attribute__((target("avx512f,fma"))) void forward_row(const float* x, const float* w, const float* b,
                                                        float* y, const ConvGeom& g, int64_t n, int64_t p) {
  constexpr int V = 4;
  const int64_t RS = g.R * S;
  for (int64_t q0 = 0; q0 < g.Q; q0 += 16 * V) {
    __mmask16 in_mask[S][V], out_mask[V];
    for (int v = 0; v < V; ++v) {
      out_mask[v] = lanes(q0 + 16 * v, g.Q, q0 + 16 * v, g.Q);
      for (int s = 0; s < S; ++s) in_mask[s][v] = lanes(q0 + 16 * v - g.pad + s, g.W, q0 + 16 * v, g.Q);
    }
    __m512 acc[KO][V];
    for (int k = 0; k < KO; ++k)
      for (int v = 0; v < V; ++v) acc[k][v] = _mm512_set1_ps(b ? b[k] : 0.0f);
    for (int64_t c = 0; c < g.C; ++c) {
      const float* xc = x + (n * g.C + c) * g.H * g.W;
      for (int64_t r = 0; r < g.R; ++r) {
        const int64_t ih = p - g.pad + r;
        if (ih < 0 || ih >= g.H) continue;
        const float* row = xc + ih * g.W + q0 - g.pad;
        const float* wcr = w + c * RS + r * S;  // w[k][c][r][s] at wcr[k * C*R*S + s]
#pragma GCC unroll 8
        for (int s = 0; s < S; ++s) {
          __m512 xv[V];
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) xv[v] = _mm512_maskz_loadu_ps(in_mask[s][v], row + s + 16 * v);
#pragma GCC unroll 4
          for (int k = 0; k < KO; ++k) {
            const __m512 wk = _mm512_set1_ps(wcr[k * g.C * RS + s]);
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) acc[k][v] = _mm512_fmadd_ps(wk, xv[v], acc[k][v]);
          }
        }
      }
    }
    for (int k = 0; k < KO; ++k)
      for (int v = 0; v < V; ++v)
        if (out_mask[v])
          _mm512_mask_storeu_ps(y + ((n * KO + k) * g.P + p) * g.Q + q0 + 16 * v, out_mask[v], acc[k][v]);
  }
}

// dw[k][c][r][s] for one (c, r), summed over every image and output position. masks[b * S + s]:
// the lanes of output block b (16 columns) valid for tap s.
template <int KO, int S>
__attribute__((target("avx512f,fma"))) void weight_cr(const float* x, const float* dy, float* dw,
                                                      const ConvGeom& g, int64_t c, int64_t r,
                                                      const __mmask16* masks) {
  __m512 acc[KO][S];
  for (int k = 0; k < KO; ++k)
    for (int s = 0; s < S; ++s) acc[k][s] = _mm512_setzero_ps();
  const int64_t blocks = (g.Q + 15) / 16;
  for (int64_t n = 0; n < g.N; ++n) {
    const float* xc = x + (n * g.C + c) * g.H * g.W;
    for (int64_t p = 0; p < g.P; ++p) {
      const int64_t ih = p - g.pad + r;
      if (ih < 0 || ih >= g.H) continue;
      const float* row = xc + ih * g.W - g.pad;
      const float* dyp = dy + (n * KO * g.P + p) * g.Q;  // dy[n][k][p][.] at dyp + k * P * Q
      for (int64_t bq = 0; bq < blocks; ++bq) {
        const int64_t q0 = bq * 16;
        const __mmask16* m = masks + bq * (S + 1);
        const __mmask16 qm = m[S];  // the block's valid output lanes, stored after the taps
        __m512 d[KO];
#pragma GCC unroll 4
        for (int k = 0; k < KO; ++k) d[k] = _mm512_maskz_loadu_ps(qm, dyp + k * g.P * g.Q + q0);
#pragma GCC unroll 8
        for (int s = 0; s < S; ++s) {
          const __m512 xv = _mm512_maskz_loadu_ps(m[s], row + q0 + s);
#pragma GCC unroll 4
          for (int k = 0; k < KO; ++k) acc[k][s] = _mm512_fmadd_ps(d[k], xv, acc[k][s]);
        }
      }
    }
  }
  for (int k = 0; k < KO; ++k)
    for (int s = 0; s < S; ++s) dw[((k * g.C + c) * g.R + r) * S + s] = hsum(acc[k][s]);
}

template <int KO, int S>
void forward_t(const float* x, const float* w, const float* b, float* y, const ConvGeom& g) {
  const int64_t rows = g.N * g.P;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) forward_row<KO, S>(x, w, b, y, g, i / g.P, i % g.P);
}

template <int KO, int S>
void weight_t(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  // The lane masks depend only on (output block, tap): computed once, S + 1 per block (the last
  // one is the block's valid output lanes). The stride is S + 1, so index with blocks * (S + 1).
  const int64_t blocks = (g.Q + 15) / 16;
  std::vector<__mmask16> masks(static_cast<size_t>(blocks * (S + 1)));
  for (int64_t b = 0; b < blocks; ++b) {
    for (int s = 0; s < S; ++s)
      masks[static_cast<size_t>(b * (S + 1) + s)] = lanes(b * 16 - g.pad + s, g.W, b * 16, g.Q);
    masks[static_cast<size_t>(b * (S + 1) + S)] = lanes(b * 16, g.Q, b * 16, g.Q);
  }
  const int64_t items = g.C * g.R;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < items; ++i) weight_cr<KO, S>(x, dy, dw, g, i / g.R, i % g.R, masks.data());
}

// Calls f.template operator()<KO, S>() for the geometry's (K, S).
template <class F>
void dispatch(const ConvGeom& g, F&& f) {
  auto by_s = [&](auto ko) {
    constexpr int KO = decltype(ko)::value;
    switch (g.S) {
      case 3:
        return f.template operator()<KO, 3>();
      case 4:
        return f.template operator()<KO, 4>();
      default:
        return f.template operator()<KO, 7>();
    }
  };
  switch (g.K) {
    case 1:
      return by_s(std::integral_constant<int, 1>{});
    case 2:
      return by_s(std::integral_constant<int, 2>{});
    case 3:
      return by_s(std::integral_constant<int, 3>{});
    default:
      return by_s(std::integral_constant<int, 4>{});
  }
}

}  // namespace

bool narrow_conv_applies(DType dt, const ConvGeom& g) {
  return cpu_isa() == Isa::Avx512 && dt == DType::F32 && g.stride == 1 && g.K >= 1 && g.K <= 4 &&
         (g.S == 3 || g.S == 4 || g.S == 7);
}

void narrow_conv_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g) {
  dispatch(g, [&]<int KO, int S>() { forward_t<KO, S>(x, w, b, y, g); });
}

void narrow_conv_backward_weight(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  dispatch(g, [&]<int KO, int S>() { weight_t<KO, S>(x, dy, dw, g); });
}

}  // namespace cg::cpu
