// Embedding lookup (and index_rows) on the GPU. Forward: one thread per output element. Backward:
// the rows n with index[n] == k added in the order of n, so no atomics and the same sums as the
// CPU's, by one of two kernels: one thread per weight element (k, d) scanning all N indices when
// few rows are looked up from a small table (the CGAN's 10 classes), or, when fewer rows are read
// than the table holds (CUT's 256 sampled positions of a 65536-position feature map), a zeroed
// dweight and one thread per (n, d) that writes the whole sum from each index's first occurrence:
// O(N N D) instead of O(K N D) work.
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

// dweight is zero beforehand; the thread of the first n naming k writes row k's sum.
__global__ void scatter_add_first(const float* dy, const float* index, float* dweight, int64_t N, int64_t D) {
  const int64_t total = N * D;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / D, d = i % D;
    const float k = index[n];
    bool first = true;
    for (int64_t m = 0; m < n && first; ++m) first = index[m] != k;
    if (!first) continue;
    float acc = 0.f;
    for (int64_t m = n; m < N; ++m)
      if (index[m] == k) acc += dy[m * D + d];
    dweight[static_cast<int64_t>(k) * D + d] = acc;
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
  if (N < K) {
    fill(dt, dweight, K * D, 0.0);
    if (N * D == 0) return;
    scatter_add_first<<<blocks_for(N * D), kThreads, 0, stream()>>>(
        static_cast<const float*>(dy), static_cast<const float*>(index), static_cast<float*>(dweight), N, D);
    CG_CUDA_LAUNCH_CHECK();
    return;
  }
  scatter_add_rows<<<blocks_for(K * D), kThreads, 0, stream()>>>(
      static_cast<const float*>(dy), static_cast<const float*>(index), static_cast<float*>(dweight), N, K, D);
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
