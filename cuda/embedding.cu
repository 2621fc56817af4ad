// Embedding lookup on the GPU. Forward: one thread per output element. Backward: one thread per
// weight element (k, d), adding the rows n with index[n] == k in the order of n: no atomics, and
// the same sums as the CPU's.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

__global__ void gather_rows(const float* weight, const float* index, float* out, int64_t N, int64_t D) {
  const int64_t total = N * D;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / D, d = i % D;
    out[i] = weight[static_cast<int64_t>(index[n]) * D + d];
  }
}

__global__ void scatter_add_rows(const float* dy, const float* index, float* dweight, int64_t N, int64_t K,
                                 int64_t D) {
  const int64_t total = K * D;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = i / D, d = i % D;
    float acc = 0.f;
    for (int64_t n = 0; n < N; ++n)
      if (static_cast<int64_t>(index[n]) == k) acc += dy[n * D + d];
    dweight[i] = acc;
  }
}

}  // namespace

void embedding_forward(DType dt, const void* weight, const void* index, void* out, int64_t N, int64_t D) {
  require_f32(dt, "embedding_forward");
  if (N * D == 0) return;
  gather_rows<<<blocks_for(N * D), kThreads, 0, stream()>>>(
      static_cast<const float*>(weight), static_cast<const float*>(index), static_cast<float*>(out), N, D);
  CG_CUDA_LAUNCH_CHECK();
}

void embedding_backward(DType dt, const void* dy, const void* index, void* dweight, int64_t N, int64_t K,
                        int64_t D) {
  require_f32(dt, "embedding_backward");
  if (K * D == 0) return;
  scatter_add_rows<<<blocks_for(K * D), kThreads, 0, stream()>>>(
      static_cast<const float*>(dy), static_cast<const float*>(index), static_cast<float*>(dweight), N, K, D);
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
