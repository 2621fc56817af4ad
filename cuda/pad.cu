// Reflection and replication padding on the GPU. Forward: one thread per output element. Backward:
// one thread per *input* element, gathering the output positions that copied it, so no atomics
// (reflection: at most 4; replication: an edge pixel's whole strip of the border).
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

__device__ __forceinline__ int64_t reflect(int64_t i, int64_t before, int64_t n) {
  int64_t k = i - before;
  if (k < 0) k = -k;
  if (k >= n) k = 2 * (n - 1) - k;
  return k;
}

__global__ void pad_fwd(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int64_t top, int64_t left,
                        int64_t Ho, int64_t Wo) {
  const int64_t total = NC * Ho * Wo;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = i % Wo, r = i / Wo % Ho, plane = i / (Wo * Ho);
    y[i] = x[(plane * H + reflect(r, top, H)) * W + reflect(j, left, W)];
  }
}

// The padded positions along one axis that read source index k: k itself (shifted), its mirror
// in the leading pad, its mirror in the trailing pad.
__device__ __forceinline__ int sources(int64_t k, int64_t before, int64_t after, int64_t n, int64_t* out) {
  int c = 0;
  out[c++] = k + before;
  if (k >= 1 && k <= before) out[c++] = before - k;                           // leading mirror
  if (k >= n - 1 - after && k <= n - 2) out[c++] = before + 2 * (n - 1) - k;  // trailing mirror
  return c;
}

__global__ void pad_bwd(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int64_t top,
                        int64_t bottom, int64_t left, int64_t right) {
  const int64_t Ho = H + top + bottom, Wo = W + left + right, total = NC * H * W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % W, r = i / W % H, plane = i / (W * H);
    int64_t rs[3], cs[3];
    const int nr = sources(r, top, bottom, H, rs), nc = sources(c, left, right, W, cs);
    float acc = 0.f;
    for (int a = 0; a < nr; ++a)
      for (int b = 0; b < nc; ++b) acc += dy[(plane * Ho + rs[a]) * Wo + cs[b]];
    dx[i] = acc;
  }
}

__device__ __forceinline__ int64_t clamp_index(int64_t i, int64_t before, int64_t n) {
  return min(max(i - before, int64_t(0)), n - 1);
}

__global__ void replicate_fwd(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int64_t top,
                              int64_t left, int64_t Ho, int64_t Wo) {
  const int64_t total = NC * Ho * Wo;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = i % Wo, r = i / Wo % Ho, plane = i / (Wo * Ho);
    y[i] = x[(plane * H + clamp_index(r, top, H)) * W + clamp_index(j, left, W)];
  }
}

// Source index k of an axis of length n is read by the padded positions [first, last]: k + before
// alone inside, and the whole leading (trailing) border too for k = 0 (k = n - 1).
__global__ void replicate_bwd(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int64_t top,
                              int64_t bottom, int64_t left, int64_t right) {
  const int64_t Ho = H + top + bottom, Wo = W + left + right, total = NC * H * W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % W, r = i / W % H, plane = i / (W * H);
    const int64_t r0 = r == 0 ? 0 : r + top, r1 = r == H - 1 ? Ho - 1 : r + top;
    const int64_t c0 = c == 0 ? 0 : c + left, c1 = c == W - 1 ? Wo - 1 : c + left;
    float acc = 0.f;
    for (int64_t a = r0; a <= r1; ++a)
      for (int64_t b = c0; b <= c1; ++b) acc += dy[(plane * Ho + a) * Wo + b];
    dx[i] = acc;
  }
}

}  // namespace

void replication_pad2d_forward(DType dt, const void* x, void* y, int64_t NC, int64_t H, int64_t W,
                               int64_t top, int64_t bottom, int64_t left, int64_t right) {
  require_f32(dt, "replication_pad2d_forward");
  const int64_t Ho = H + top + bottom, Wo = W + left + right, n = NC * Ho * Wo;
  if (n == 0) return;
  replicate_fwd<<<blocks_for(n), kThreads, 0, stream()>>>(
      static_cast<const float*>(x), static_cast<float*>(y), NC, H, W, top, left, Ho, Wo);
  CG_CUDA_LAUNCH_CHECK();
}

void replication_pad2d_backward(DType dt, const void* dy, void* dx, int64_t NC, int64_t H, int64_t W,
                                int64_t top, int64_t bottom, int64_t left, int64_t right) {
  require_f32(dt, "replication_pad2d_backward");
  const int64_t n = NC * H * W;
  if (n == 0) return;
  replicate_bwd<<<blocks_for(n), kThreads, 0, stream()>>>(
      static_cast<const float*>(dy), static_cast<float*>(dx), NC, H, W, top, bottom, left, right);
  CG_CUDA_LAUNCH_CHECK();
}

void reflection_pad2d_forward(DType dt, const void* x, void* y, int64_t NC, int64_t H, int64_t W, int64_t top,
                              int64_t bottom, int64_t left, int64_t right) {
  require_f32(dt, "reflection_pad2d_forward");
  const int64_t Ho = H + top + bottom, Wo = W + left + right, n = NC * Ho * Wo;
  if (n == 0) return;
  pad_fwd<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<const float*>(x), static_cast<float*>(y), NC,
                                                    H, W, top, left, Ho, Wo);
  CG_CUDA_LAUNCH_CHECK();
}

void reflection_pad2d_backward(DType dt, const void* dy, void* dx, int64_t NC, int64_t H, int64_t W,
                               int64_t top, int64_t bottom, int64_t left, int64_t right) {
  require_f32(dt, "reflection_pad2d_backward");
  const int64_t n = NC * H * W;
  if (n == 0) return;
  pad_bwd<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<const float*>(dy), static_cast<float*>(dx),
                                                    NC, H, W, top, bottom, left, right);
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
