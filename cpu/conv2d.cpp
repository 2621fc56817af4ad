// Convolution on the CPU as matrix multiplies, one image at a time, with col = im2col(x[n]):
//   forward          y[n] (K, PQ)    = w (K, CRS) * col (CRS, PQ)            (+ bias)
//   backward data    stride 1: a forward convolution of dy with flipped weights;
//                    otherwise dcol (CRS, PQ) = w^T (CRS, K) * dy[n] (K, PQ), dx[n] = col2im(dcol)
//   backward weight  dw (K, CRS)    += dy[n] (K, PQ) * col^T (PQ, CRS),  db = sum of dy over N, P, Q
// col (CRS, PQ) holds, for each (c, r, s), the input pixels that weight tap meets at every output
// position (0 where it falls on the zero padding). It is never built: the GEMM packs its blocks
// straight from x (cpu/gemm.cpp), so no buffer of CRS x PQ values is written or read.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>

#include "cpu/conv_narrow.h"
#include "cpu/gemm.h"
#include "cpu/im2col.h"
#include "cpu/kernels.h"
#include "cpu/loops.h"
#include "cpu/scratch.h"

namespace cg::cpu {
namespace {

using kern::ConvGeom;

std::atomic<uint64_t> g_conv_flops{0};
void count(const ConvGeom& g) {
  g_conv_flops += static_cast<uint64_t>(2 * g.N * g.K * g.P * g.Q * g.C * g.R * g.S);
}

template <class T>
void forward(const T* x, const T* w, const T* b, T* y, const ConvGeom& g) {
  if constexpr (std::is_same_v<T, float>)
    if (narrow_conv_applies(DType::F32, g)) return narrow_conv_forward(x, w, b, y, g);
  const int64_t CRS = g.C * g.R * g.S, PQ = g.P * g.Q;
  for (int64_t n = 0; n < g.N; ++n)  // the bias is added by the GEMM as it first writes each tile
    gemm_im2col<T>(g.K, {w, CRS, 1}, x + n * g.C * g.H * g.W, g, y + n * g.K * PQ, PQ, false, b);
}

// With stride 1, the gradient of the input is itself a convolution: of dy, zero-padded by
// R - 1 - pad, with the weights flipped in space and their channel axes swapped. That runs as a
// forward convolution (implicit GEMM, no column buffer and no col2im scatter).
template <class T>
void backward_data_stride1(const T* dy, const T* w, T* dx, const ConvGeom& g) {
  const int64_t RS = g.R * g.S, KRS = g.K * RS;
  T* wt = scratch<T>(kColumns, static_cast<size_t>(g.C * KRS));  // (C, K, R, S), flipped
#pragma omp parallel for schedule(static) if (g.C * KRS > kParallelGrain)
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t i = 0; i < RS; ++i) wt[(c * g.K + k) * RS + (RS - 1 - i)] = w[(k * g.C + c) * RS + i];
  ConvGeom t{1, g.K, g.P, g.Q, g.C, g.R, g.S, 1, g.R - 1 - g.pad, g.H, g.W};
  if constexpr (std::is_same_v<T, float>) {  // few input channels (the image): the direct kernel
    if (narrow_conv_applies(DType::F32, t)) {
      t.N = g.N;
      return narrow_conv_forward(dy, wt, nullptr, dx, t);
    }
  }
  for (int64_t n = 0; n < g.N; ++n)
    gemm_im2col<T>(g.C, {wt, KRS, 1}, dy + n * g.K * g.P * g.Q, t, dx + n * g.C * g.H * g.W, g.H * g.W,
                   false);
}

template <class T>
void backward_data(const T* dy, const T* w, T* dx, const ConvGeom& g) {
  if (g.stride == 1 && g.R == g.S && g.pad <= g.R - 1) return backward_data_stride1(dy, w, dx, g);
  const int64_t CRS = g.C * g.R * g.S, PQ = g.P * g.Q;
  T* dcol = scratch<T>(kColumns, static_cast<size_t>(CRS * PQ));  // (CRS, PQ)
  for (int64_t n = 0; n < g.N; ++n) {
    // w^T: element (crs, k) of the transpose is w[k * CRS + crs]
    gemm<T>(CRS, PQ, g.K, {w, 1, CRS}, {dy + n * g.K * PQ, PQ, 1}, dcol, PQ, false);
    col2im(dcol, dx + n * g.C * g.H * g.W, g);
  }
}

// db (K) = sum of dy (N, K, P, Q) over N, P, Q, in double; nothing when db is null.
template <class T>
void bias_grad(const T* dy, T* db, const ConvGeom& g) {
  if (!db) return;
  const int64_t PQ = g.P * g.Q;
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

template <class T>
void backward_weight(const T* x, const T* dy, T* dw, T* db, const ConvGeom& g) {
  if constexpr (std::is_same_v<T, float>)
    if (narrow_conv_applies(DType::F32, g)) {
      narrow_conv_backward_weight(x, dy, dw, g);
      return bias_grad(dy, db, g);
    }
  const int64_t CRS = g.C * g.R * g.S, PQ = g.P * g.Q;
  for (int64_t n = 0; n < g.N; ++n)
    gemm_im2col_t<T>(g.K, {dy + n * g.K * PQ, PQ, 1}, x + n * g.C * g.H * g.W, g, dw, CRS, n > 0);
  bias_grad(dy, db, g);
}

}  // namespace

uint64_t conv_flops() { return g_conv_flops; }

void conv2d_forward(DType dt, const void* x, const void* w, const void* b, void* y, const ConvGeom& g) {
  count(g);
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    forward<T>(static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b),
               static_cast<T*>(y), g);
  });
}

void conv2d_backward_data(DType dt, const void* dy, const void* w, void* dx, const ConvGeom& g) {
  count(g);
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    backward_data<T>(static_cast<const T*>(dy), static_cast<const T*>(w), static_cast<T*>(dx), g);
  });
}

void conv2d_backward_weight(DType dt, const void* x, const void* dy, void* dw, void* db, const ConvGeom& g) {
  count(g);
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    backward_weight<T>(static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw),
                       static_cast<T*>(db), g);
  });
}

}  // namespace cg::cpu
