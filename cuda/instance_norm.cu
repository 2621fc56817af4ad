// Instance norm on the GPU: one block per (n, c) plane. Statistics in double (as on the CPU), two
// passes over the plane (mean, then centred variance), then the normalising write.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

constexpr int kBlock = 512;

// Sum of v over the block, returned to every thread.
__device__ double block_sum(double v, double* buf) {
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  const double r = buf[0];
  __syncthreads();
  return r;
}

__global__ void in_fwd(const float* x, float* y, float* rstd, int64_t HW, double eps, bool act, float slope,
                       float* out) {
  __shared__ double buf[kBlock];
  const float* xp = x + blockIdx.x * HW;
  float* yp = y + blockIdx.x * HW;
  double s = 0;
  for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) s += xp[i];
  const double mean = block_sum(s, buf) / HW;
  double v = 0;
  for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) {
    const double d = xp[i] - mean;
    v += d * d;
  }
  const double r = rsqrt(block_sum(v, buf) / HW + eps);
  const float m = static_cast<float>(mean), rf = static_cast<float>(r);
  float* op = act ? out + blockIdx.x * HW : nullptr;
  for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) {
    const float v = (xp[i] - m) * rf;
    yp[i] = v;
    if (act) op[i] = v > 0.f ? v : slope * v;
  }
  if (threadIdx.x == 0) rstd[blockIdx.x] = rf;
}

__global__ void in_bwd(const float* dy, const float* y, const float* rstd, float* dx, int64_t HW, bool act,
                       float slope) {
  __shared__ double buf[kBlock];
  const float* g = dy + blockIdx.x * HW;
  const float* yp = y + blockIdx.x * HW;
  float* d = dx + blockIdx.x * HW;
  // the gradient at y: dy, or dy through the fused activation
  auto grad_at = [&](int64_t i) { return act && !(yp[i] > 0.f) ? slope * g[i] : g[i]; };
  double sg = 0, sgy = 0;
  for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) {
    const float gi = grad_at(i);
    sg += gi;
    sgy += static_cast<double>(gi) * yp[i];
  }
  const float mg = static_cast<float>(block_sum(sg, buf) / HW);
  const float mgy = static_cast<float>(block_sum(sgy, buf) / HW);
  const float r = rstd[blockIdx.x];
  for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) d[i] = r * (grad_at(i) - mg - yp[i] * mgy);
}

}  // namespace

void instance_norm_forward(DType dt, const void* x, void* y, void* rstd, int64_t NC, int64_t HW, double eps,
                           bool act, double slope, void* out) {
  require_f32(dt, "instance_norm_forward");
  if (NC == 0) return;
  in_fwd<<<static_cast<unsigned>(NC), kBlock, 0, stream()>>>(
      static_cast<const float*>(x), static_cast<float*>(y), static_cast<float*>(rstd), HW, eps, act,
      static_cast<float>(slope), static_cast<float*>(out));
  CG_CUDA_LAUNCH_CHECK();
}

void instance_norm_backward(DType dt, const void* dy, const void* y, const void* rstd, void* dx, int64_t NC,
                            int64_t HW, bool act, double slope) {
  require_f32(dt, "instance_norm_backward");
  if (NC == 0) return;
  in_bwd<<<static_cast<unsigned>(NC), kBlock, 0, stream()>>>(
      static_cast<const float*>(dy), static_cast<const float*>(y), static_cast<const float*>(rstd),
      static_cast<float*>(dx), HW, act, static_cast<float>(slope));
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
