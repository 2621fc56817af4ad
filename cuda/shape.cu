// The 2-D strided copy behind narrow and its backward: one thread per copied element.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

__global__ void copy_rows_kernel(const float* src, int64_t src_ld, float* dst, int64_t dst_ld, int64_t rows,
                                 int64_t cols) {
  const int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, j = i % cols;
    dst[r * dst_ld + j] = src[r * src_ld + j];
  }
}

}  // namespace

void copy_rows(DType dt, const void* src, int64_t src_ld, void* dst, int64_t dst_ld, int64_t rows,
               int64_t cols) {
  require_f32(dt, "copy_rows");
  if (rows * cols == 0) return;
  copy_rows_kernel<<<blocks_for(rows * cols), kThreads, 0, stream()>>>(
      static_cast<const float*>(src), src_ld, static_cast<float*>(dst), dst_ld, rows, cols);
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
