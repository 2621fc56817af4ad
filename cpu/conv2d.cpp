// Convolution on the CPU as matrix multiplies over im2col columns, one image at a time:
//   forward          y[n] (K, PQ)    = w (K, CRS) * col (CRS, PQ)            (+ bias)
//   backward data    dcol (CRS, PQ)  = w^T (CRS, K) * dy[n] (K, PQ),  dx[n] = col2im(dcol)
//   backward weight  dw (K, CRS)    += dy[n] (K, PQ) * col^T (PQ, CRS),  db = sum of dy over N, P, Q
// col (CRS, PQ) holds, for each (c, r, s), the input pixels that weight tap meets at every output
// position (0 where it falls on the zero padding).
#include <algorithm>
#include <cstring>

#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/loops.h"
#include "cpu/scratch.h"

namespace cg::cpu {
namespace {

using kern::ConvGeom;

// x (C, H, W) -> col (C*R*S, P*Q)
template <class T>
void im2col(const T* x, T* col, const ConvGeom& g) {
  const int64_t rows = g.C * g.R * g.S, PQ = g.P * g.Q;
#pragma omp parallel for schedule(static) if (rows * PQ > kParallelGrain)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t c = row / (g.R * g.S), r = row / g.S % g.R, s = row % g.S;
    const T* xc = x + c * g.H * g.W;
    T* dst = col + row * PQ;
    // Output columns q whose input column iw = q*stride - pad + s lies inside [0, W).
    const int64_t q_lo = std::clamp<int64_t>((g.pad - s + g.stride - 1) / g.stride, 0, g.Q);
    const int64_t q_hi = std::clamp<int64_t>((g.W + g.pad - s + g.stride - 1) / g.stride, q_lo, g.Q);
    for (int64_t p = 0; p < g.P; ++p) {
      T* d = dst + p * g.Q;
      const int64_t ih = p * g.stride - g.pad + r;
      if (ih < 0 || ih >= g.H) {
        std::fill(d, d + g.Q, T(0));
        continue;
      }
      const T* xrow = xc + ih * g.W;
      std::fill(d, d + q_lo, T(0));
      if (g.stride == 1) {
        std::memcpy(d + q_lo, xrow + q_lo - g.pad + s, sizeof(T) * static_cast<size_t>(q_hi - q_lo));
      } else {
        for (int64_t q = q_lo; q < q_hi; ++q) d[q] = xrow[q * g.stride - g.pad + s];
      }
      std::fill(d + q_hi, d + g.Q, T(0));
    }
  }
}

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

template <class T>
void forward(const T* x, const T* w, const T* b, T* y, const ConvGeom& g) {
  const int64_t CRS = g.C * g.R * g.S, PQ = g.P * g.Q;
  T* col = scratch<T>(kColumns, static_cast<size_t>(CRS * PQ));
  for (int64_t n = 0; n < g.N; ++n) {
    T* yn = y + n * g.K * PQ;
    im2col(x + n * g.C * g.H * g.W, col, g);
    if (b) {  // start from the bias and accumulate the product onto it
      for (int64_t k = 0; k < g.K; ++k) std::fill(yn + k * PQ, yn + (k + 1) * PQ, b[k]);
    }
    gemm<T>(g.K, PQ, CRS, {w, CRS, 1}, {col, PQ, 1}, yn, PQ, b != nullptr);
  }
}

template <class T>
void backward_data(const T* dy, const T* w, T* dx, const ConvGeom& g) {
  const int64_t CRS = g.C * g.R * g.S, PQ = g.P * g.Q;
  T* dcol = scratch<T>(kColumns, static_cast<size_t>(CRS * PQ));
  for (int64_t n = 0; n < g.N; ++n) {
    // w^T: element (crs, k) of the transpose is w[k * CRS + crs]
    gemm<T>(CRS, PQ, g.K, {w, 1, CRS}, {dy + n * g.K * PQ, PQ, 1}, dcol, PQ, false);
    col2im(dcol, dx + n * g.C * g.H * g.W, g);
  }
}

template <class T>
void backward_weight(const T* x, const T* dy, T* dw, T* db, const ConvGeom& g) {
  const int64_t CRS = g.C * g.R * g.S, PQ = g.P * g.Q;
  T* col = scratch<T>(kColumns, static_cast<size_t>(CRS * PQ));
  for (int64_t n = 0; n < g.N; ++n) {
    im2col(x + n * g.C * g.H * g.W, col, g);
    // col^T: element (pq, crs) is col[crs * PQ + pq]
    gemm<T>(g.K, CRS, PQ, {dy + n * g.K * PQ, PQ, 1}, {col, 1, PQ}, dw, CRS, n > 0);
  }
  if (db) {
#pragma omp parallel for schedule(static) if (g.N * g.K * PQ > kParallelGrain)
    for (int64_t k = 0; k < g.K; ++k) {
      double acc = 0;
      for (int64_t n = 0; n < g.N; ++n) {
        const T* p = dy + (n * g.K + k) * PQ;
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < PQ; ++i) acc += p[i];
      }
      db[k] = static_cast<T>(acc);
    }
  }
}

}  // namespace

void conv2d_forward(DType dt, const void* x, const void* w, const void* b, void* y, const ConvGeom& g) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    forward<T>(static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b),
               static_cast<T*>(y), g);
  });
}

void conv2d_backward_data(DType dt, const void* dy, const void* w, void* dx, const ConvGeom& g) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    backward_data<T>(static_cast<const T*>(dy), static_cast<const T*>(w), static_cast<T*>(dx), g);
  });
}

void conv2d_backward_weight(DType dt, const void* x, const void* dy, void* dw, void* db, const ConvGeom& g) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    backward_weight<T>(static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw),
                       static_cast<T*>(db), g);
  });
}

}  // namespace cg::cpu
