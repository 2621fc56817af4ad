// Log-softmax and cross-entropy over rows on the GPU: one block per row (a grid-stride loop over
// rows), the row's maximum and its sum of exponentials reduced in shared memory, sums in double as
// on the CPU. Deterministic: every reduction has a fixed shape.
#include <cfloat>

#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

// The sum (or, with take_max, the maximum) of v over the block, returned to every thread.
__device__ double block_reduce(double v, double* buf, bool take_max) {
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half)
      buf[threadIdx.x] = take_max ? fmax(buf[threadIdx.x], buf[threadIdx.x + half])
                                  : buf[threadIdx.x] + buf[threadIdx.x + half];
    __syncthreads();
  }
  const double r = buf[0];
  __syncthreads();
  return r;
}

// max and log(sum(exp(x - max))) of the row x[0, cols).
__device__ void row_stats(const float* x, int64_t cols, double* buf, double* max, double* log_sum) {
  double m = -DBL_MAX;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmax(m, static_cast<double>(x[j]));
  *max = block_reduce(m, buf, true);
  double s = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += exp(static_cast<double>(x[j]) - *max);
  *log_sum = log(block_reduce(s, buf, false));
}

__global__ void log_softmax_fwd(const float* x, float* y, int64_t rows, int64_t cols) {
  __shared__ double buf[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    double m, ls;
    row_stats(xr, cols, buf, &m, &ls);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      y[r * cols + j] = static_cast<float>(static_cast<double>(xr[j]) - m - ls);
  }
}

__global__ void log_softmax_bwd(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols) {
  __shared__ double buf[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *g = dy + r * cols, *yr = y + r * cols;
    double s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += g[j];
    s = block_reduce(s, buf, false);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dx[r * cols + j] = static_cast<float>(g[j] - exp(static_cast<double>(yr[j])) * s);
  }
}

__global__ void ce_fwd(const float* x, const float* target, float* loss, float* lse, int64_t rows,
                       int64_t cols) {
  __shared__ double buf[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    double m, ls;
    row_stats(xr, cols, buf, &m, &ls);
    if (threadIdx.x == 0) {
      const int64_t t = static_cast<int64_t>(target[r]);
      loss[r] = static_cast<float>(-(static_cast<double>(xr[t]) - m - ls));
      lse[r] = static_cast<float>(m + ls);
    }
  }
}

__global__ void ce_bwd(const float* dloss, const float* x, const float* lse, const float* target, float* dx,
                       int64_t rows, int64_t cols) {
  const int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, j = i % cols;
    const double onehot = j == static_cast<int64_t>(target[r]) ? 1.0 : 0.0;
    dx[i] = static_cast<float>(dloss[r] * (exp(static_cast<double>(x[i]) - lse[r]) - onehot));
  }
}

unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(rows < 65535 * 16 ? rows : 65535 * 16); }

}  // namespace

void log_softmax_forward(DType dt, const void* x, void* y, int64_t rows, int64_t cols) {
  require_f32(dt, "log_softmax_forward");
  if (rows * cols == 0) return;
  log_softmax_fwd<<<row_blocks(rows), kThreads, 0, stream()>>>(static_cast<const float*>(x),
                                                               static_cast<float*>(y), rows, cols);
  CG_CUDA_LAUNCH_CHECK();
}

void log_softmax_backward(DType dt, const void* dy, const void* y, void* dx, int64_t rows, int64_t cols) {
  require_f32(dt, "log_softmax_backward");
  if (rows * cols == 0) return;
  log_softmax_bwd<<<row_blocks(rows), kThreads, 0, stream()>>>(
      static_cast<const float*>(dy), static_cast<const float*>(y), static_cast<float*>(dx), rows, cols);
  CG_CUDA_LAUNCH_CHECK();
}

void cross_entropy_forward(DType dt, const void* x, const void* target, void* loss, void* lse, int64_t rows,
                           int64_t cols) {
  require_f32(dt, "cross_entropy_forward");
  if (rows * cols == 0) return;
  ce_fwd<<<row_blocks(rows), kThreads, 0, stream()>>>(
      static_cast<const float*>(x), static_cast<const float*>(target), static_cast<float*>(loss),
      static_cast<float*>(lse), rows, cols);
  CG_CUDA_LAUNCH_CHECK();
}

void cross_entropy_backward(DType dt, const void* dloss, const void* x, const void* lse, const void* target,
                            void* dx, int64_t rows, int64_t cols) {
  require_f32(dt, "cross_entropy_backward");
  if (rows * cols == 0) return;
  ce_bwd<<<blocks_for(rows * cols), kThreads, 0, stream()>>>(
      static_cast<const float*>(dloss), static_cast<const float*>(x), static_cast<const float*>(lse),
      static_cast<const float*>(target), static_cast<float*>(dx), rows, cols);
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
