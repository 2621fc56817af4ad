// Depthwise convolution kernels (groups == channels): direct loops, one (n, c) plane per OpenMP
// task for the forward and the input gradient, one channel per task for the weight gradient. A
// channel's filter has only R S taps (9 or 16 for CUT's blurs), too few for the GEMM path of
// cpu/conv2d.cpp to pay.
#include <algorithm>
#include <vector>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {
namespace {

// The output positions [first, last) along one axis whose tap `t` reads an input position inside
// [0, n): 0 <= o stride - pad + t < n.
struct Span {
  int64_t first, last;
};
inline Span valid_outputs(int64_t t, int64_t n, int64_t outputs, int64_t stride, int64_t pad) {
  const int64_t lo = pad - t, hi = n - 1 + pad - t;  // o stride must lie in [lo, hi]
  const int64_t first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  const int64_t last = hi < 0 ? 0 : std::min(outputs, hi / stride + 1);
  return {first, std::max(first, last)};
}

// Row by row (p outermost), so that the output row being summed stays in L1 while the R input
// rows it reads pass by; the taps' valid column spans are computed once per plane.
template <class T>
void forward(const T* x, const T* w, T* y, const kern::ConvGeom& g) {
  const int64_t planes = g.N * g.C;
#pragma omp parallel for schedule(static) if (planes * g.P * g.Q * g.R * g.S > kParallelGrain)
  for (int64_t nc = 0; nc < planes; ++nc) {
    const T* xp = x + nc * g.H * g.W;        // (H, W)
    const T* wp = w + nc % g.C * g.R * g.S;  // (R, S)
    T* yp = y + nc * g.P * g.Q;              // (P, Q)
    std::vector<Span> qs(static_cast<size_t>(g.S));
    for (int64_t s = 0; s < g.S; ++s)
      qs[static_cast<size_t>(s)] = valid_outputs(s, g.W, g.Q, g.stride, g.pad);
    for (int64_t p = 0; p < g.P; ++p) {
      T* yr = yp + p * g.Q;
      std::fill(yr, yr + g.Q, T(0));
      for (int64_t r = 0; r < g.R; ++r) {
        const int64_t h = p * g.stride - g.pad + r;
        if (h < 0 || h >= g.H) continue;
        const T* xr = xp + h * g.W;
        for (int64_t s = 0; s < g.S; ++s) {
          const T wv = wp[r * g.S + s];
          const Span span = qs[static_cast<size_t>(s)];
          const int64_t shift =
              s - g.pad;  // column q reads x column q stride + shift (in range for q in span)
          for (int64_t q = span.first; q < span.last; ++q) yr[q] += wv * xr[q * g.stride + shift];
        }
      }
    }
  }
}

// Scatters each dy row back through the taps into the input rows it read; a plane belongs to one
// thread, so no races.
template <class T>
void backward_data(const T* dy, const T* w, T* dx, const kern::ConvGeom& g) {
  const int64_t planes = g.N * g.C;
#pragma omp parallel for schedule(static) if (planes * g.P * g.Q * g.R * g.S > kParallelGrain)
  for (int64_t nc = 0; nc < planes; ++nc) {
    const T* gp = dy + nc * g.P * g.Q;       // (P, Q)
    const T* wp = w + nc % g.C * g.R * g.S;  // (R, S)
    T* dp = dx + nc * g.H * g.W;             // (H, W)
    std::fill(dp, dp + g.H * g.W, T(0));
    std::vector<Span> qs(static_cast<size_t>(g.S));
    for (int64_t s = 0; s < g.S; ++s)
      qs[static_cast<size_t>(s)] = valid_outputs(s, g.W, g.Q, g.stride, g.pad);
    for (int64_t p = 0; p < g.P; ++p) {
      const T* gr = gp + p * g.Q;
      for (int64_t r = 0; r < g.R; ++r) {
        const int64_t h = p * g.stride - g.pad + r;
        if (h < 0 || h >= g.H) continue;
        T* dr = dp + h * g.W;
        for (int64_t s = 0; s < g.S; ++s) {
          const T wv = wp[r * g.S + s];
          const Span span = qs[static_cast<size_t>(s)];
          const int64_t shift = s - g.pad;
          for (int64_t q = span.first; q < span.last; ++q) dr[q * g.stride + shift] += wv * gr[q];
        }
      }
    }
  }
}

// dw[c, r, s] = the sum over n, p, q of dy[n, c, p, q] x[n, c, p stride - pad + r, q stride - pad + s],
// accumulated in double (a tap sums N P Q products).
template <class T>
void backward_weight(const T* x, const T* dy, T* dw, const kern::ConvGeom& g) {
#pragma omp parallel for schedule(static) if (g.N * g.C * g.P * g.Q * g.R * g.S > kParallelGrain)
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t r = 0; r < g.R; ++r) {
      const Span ps = valid_outputs(r, g.H, g.P, g.stride, g.pad);
      for (int64_t s = 0; s < g.S; ++s) {
        const Span qs = valid_outputs(s, g.W, g.Q, g.stride, g.pad);
        double acc = 0;
        for (int64_t n = 0; n < g.N; ++n) {
          const T* xp = x + (n * g.C + c) * g.H * g.W;   // (H, W)
          const T* gp = dy + (n * g.C + c) * g.P * g.Q;  // (P, Q)
          for (int64_t p = ps.first; p < ps.last; ++p) {
            const int64_t at = (p * g.stride - g.pad + r) * g.W - g.pad + s;
            const T* gr = gp + p * g.Q;
            for (int64_t q = qs.first; q < qs.last; ++q)
              acc += static_cast<double>(gr[q]) * xp[at + q * g.stride];
          }
        }
        dw[(c * g.R + r) * g.S + s] = static_cast<T>(acc);
      }
    }
  }
}

}  // namespace

void depthwise_conv2d_forward(DType dt, const void* x, const void* w, void* y, const kern::ConvGeom& g) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    forward(static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(y), g);
  });
}

void depthwise_conv2d_backward_data(DType dt, const void* dy, const void* w, void* dx,
                                    const kern::ConvGeom& g) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    backward_data(static_cast<const T*>(dy), static_cast<const T*>(w), static_cast<T*>(dx), g);
  });
}

void depthwise_conv2d_backward_weight(DType dt, const void* x, const void* dy, void* dw,
                                      const kern::ConvGeom& g) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    backward_weight(static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw), g);
  });
}

}  // namespace cg::cpu
