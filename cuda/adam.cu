// Fused Adam on the GPU: one pass per parameter tensor, PyTorch's float operations and order.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {
__global__ void adam_kernel(float* p, const float* g, float* m, float* v, int64_t n, float b1, float b2,
                            float one_b1, float one_b2, float eps, float neg_step, float bc2) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float gi = g[i];
    const float mi = __fadd_rn(__fmul_rn(m[i], b1), __fmul_rn(one_b1, gi));
    const float vi = __fadd_rn(__fmul_rn(v[i], b2), __fmul_rn(__fmul_rn(one_b2, gi), gi));
    const float denom = __fadd_rn(__fdiv_rn(sqrtf(vi), bc2), eps);
    m[i] = mi;
    v[i] = vi;
    p[i] = __fadd_rn(p[i], __fdiv_rn(__fmul_rn(neg_step, mi), denom));
  }
}
}  // namespace

void adam_update(DType dt, void* p, const void* g, void* m, void* v, int64_t n, double beta1, double beta2,
                 double eps, double step_size, double bc2_sqrt) {
  require_f32(dt, "adam_update");
  if (n == 0) return;
  adam_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(
      static_cast<float*>(p), static_cast<const float*>(g), static_cast<float*>(m), static_cast<float*>(v), n,
      static_cast<float>(beta1), static_cast<float>(beta2), static_cast<float>(1 - beta1),
      static_cast<float>(1 - beta2), static_cast<float>(eps), static_cast<float>(-step_size),
      static_cast<float>(bc2_sqrt));
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
