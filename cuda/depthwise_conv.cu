// Depthwise convolution on the GPU (groups == channels). Forward: one thread per output element.
// Input gradient: one thread per input element, gathering the taps that read it (no atomics, so
// the transposed convolution's forward is deterministic). Weight gradient: one block per (c, r, s)
// tap, its N P Q products summed in double by a fixed tree. A channel's few taps leave cuDNN's
// grouped-convolution engines little to gain over these loops.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

__global__ void dw_fwd(const float* x, const float* w, float* y, kern::ConvGeom g) {
  const int64_t total = g.N * g.C * g.P * g.Q;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t q = i % g.Q, p = i / g.Q % g.P, nc = i / (g.Q * g.P), c = nc % g.C;
    const float* xp = x + nc * g.H * g.W;  // (H, W)
    const float* wp = w + c * g.R * g.S;   // (R, S)
    float acc = 0.f;
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t h = p * g.stride - g.pad + r;
      if (h < 0 || h >= g.H) continue;
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t v = q * g.stride - g.pad + s;
        if (v >= 0 && v < g.W) acc += wp[r * g.S + s] * xp[h * g.W + v];
      }
    }
    y[i] = acc;
  }
}

// dx[h, v] gathers dy[p, q] w[r, s] over the taps with p stride - pad + r = h (and likewise q).
__global__ void dw_bwd_data(const float* dy, const float* w, float* dx, kern::ConvGeom g) {
  const int64_t total = g.N * g.C * g.H * g.W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t v = i % g.W, h = i / g.W % g.H, nc = i / (g.W * g.H), c = nc % g.C;
    const float* gp = dy + nc * g.P * g.Q;  // (P, Q)
    const float* wp = w + c * g.R * g.S;    // (R, S)
    float acc = 0.f;
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t tp = h + g.pad - r;
      if (tp < 0 || tp % g.stride) continue;
      const int64_t p = tp / g.stride;
      if (p >= g.P) continue;
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t tq = v + g.pad - s;
        if (tq < 0 || tq % g.stride) continue;
        const int64_t q = tq / g.stride;
        if (q < g.Q) acc += wp[r * g.S + s] * gp[p * g.Q + q];
      }
    }
    dx[i] = acc;
  }
}

// One block per tap: blockIdx.x = (c R + r) S + s.
__global__ void dw_bwd_weight(const float* x, const float* dy, float* dw, kern::ConvGeom g) {
  __shared__ double buf[kThreads];
  const int64_t tap = blockIdx.x, s = tap % g.S, r = tap / g.S % g.R, c = tap / (g.S * g.R);
  const int64_t per_image = g.P * g.Q, total = g.N * per_image;
  double acc = 0;
  for (int64_t i = threadIdx.x; i < total; i += blockDim.x) {
    const int64_t n = i / per_image, p = i % per_image / g.Q, q = i % g.Q;
    const int64_t h = p * g.stride - g.pad + r, v = q * g.stride - g.pad + s;
    if (h < 0 || h >= g.H || v < 0 || v >= g.W) continue;
    const int64_t plane = n * g.C + c;
    acc += static_cast<double>(dy[plane * per_image + p * g.Q + q]) * x[(plane * g.H + h) * g.W + v];
  }
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half) buf[threadIdx.x] += buf[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) dw[tap] = static_cast<float>(buf[0]);
}

}  // namespace

void depthwise_conv2d_forward(DType dt, const void* x, const void* w, void* y, const kern::ConvGeom& g) {
  require_f32(dt, "depthwise_conv2d_forward");
  const int64_t n = g.N * g.C * g.P * g.Q;
  if (n == 0) return;
  dw_fwd<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<const float*>(x), static_cast<const float*>(w),
                                                   static_cast<float*>(y), g);
  CG_CUDA_LAUNCH_CHECK();
}

void depthwise_conv2d_backward_data(DType dt, const void* dy, const void* w, void* dx,
                                    const kern::ConvGeom& g) {
  require_f32(dt, "depthwise_conv2d_backward_data");
  const int64_t n = g.N * g.C * g.H * g.W;
  if (n == 0) return;
  dw_bwd_data<<<blocks_for(n), kThreads, 0, stream()>>>(
      static_cast<const float*>(dy), static_cast<const float*>(w), static_cast<float*>(dx), g);
  CG_CUDA_LAUNCH_CHECK();
}

void depthwise_conv2d_backward_weight(DType dt, const void* x, const void* dy, void* dw,
                                      const kern::ConvGeom& g) {
  require_f32(dt, "depthwise_conv2d_backward_weight");
  const int64_t taps = g.C * g.R * g.S;
  if (taps == 0) return;
  dw_bwd_weight<<<static_cast<unsigned>(taps), kThreads, 0, stream()>>>(
      static_cast<const float*>(x), static_cast<const float*>(dy), static_cast<float*>(dw), g);
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
