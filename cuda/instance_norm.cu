// Instance norm on the GPU. Statistics in double (as on the CPU). A plane of up to kChunk values
// is one block: two passes over it (mean, then centred variance), then the normalising write. A
// larger plane (the first and last layers at 256x256 and up) is cut into chunks of kChunk values,
// one block each, so that a layer of 64 planes of a million values keeps every SM busy: one kernel
// writes each chunk's (count, mean, M2) or gradient sums, the next merges its plane's partials in a
// fixed order (Chan et al.'s pairwise update for the variance) and writes its chunk. Deterministic.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

constexpr int kBlock = 512;
constexpr int64_t kChunk = 16384;

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

// mean and M2 (sum of squared deviations) of x[0, n), two passes.
__device__ void block_moments(const float* x, int64_t n, double* buf, double* mean, double* m2) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
  *mean = block_sum(s, buf) / static_cast<double>(n);
  double v = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const double d = x[i] - *mean;
    v += d * d;
  }
  *m2 = block_sum(v, buf);
}

__device__ void normalise(const float* xp, float* yp, float* op, int64_t n, float m, float rf, bool act,
                          float slope) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = (xp[i] - m) * rf;
    yp[i] = v;
    if (act) op[i] = kern::op::LeakyRelu::f(v, slope);  // relu for slope 0
  }
}

// One block per plane.
__global__ void in_fwd(const float* x, float* y, float* rstd, int64_t HW, double eps, bool act, float slope,
                       float* out) {
  __shared__ double buf[kBlock];
  const int64_t base = blockIdx.x * HW;
  double mean, m2;
  block_moments(x + base, HW, buf, &mean, &m2);
  const float rf = static_cast<float>(rsqrt(m2 / HW + eps));
  normalise(x + base, y + base, act ? out + base : nullptr, HW, static_cast<float>(mean), rf, act, slope);
  if (threadIdx.x == 0) rstd[blockIdx.x] = rf;
}

// Chunked: blockIdx.x = chunk, blockIdx.y = plane; part holds (mean, M2) per (plane, chunk).
__global__ void in_fwd_stats(const float* x, double* part, int64_t HW, int chunks) {
  __shared__ double buf[kBlock];
  const int64_t c0 = blockIdx.x * kChunk, n = min(kChunk, HW - c0);
  double mean, m2;
  block_moments(x + blockIdx.y * HW + c0, n, buf, &mean, &m2);
  if (threadIdx.x == 0) {
    part[2 * (blockIdx.y * chunks + blockIdx.x)] = mean;
    part[2 * (blockIdx.y * chunks + blockIdx.x) + 1] = m2;
  }
}

__global__ void in_fwd_apply(const float* x, float* y, float* rstd, const double* part, int64_t HW,
                             int chunks, double eps, bool act, float slope, float* out) {
  // Every thread merges the plane's partials in the same order: the same mean and M2 everywhere.
  const double* p = part + 2 * blockIdx.y * chunks;
  double n = 0, mean = 0, m2 = 0;
  for (int c = 0; c < chunks; ++c) {
    const double nb = static_cast<double>(min(kChunk, HW - c * kChunk)), d = p[2 * c] - mean;
    const double nn = n + nb;
    mean += d * nb / nn;
    m2 += p[2 * c + 1] + d * d * n * nb / nn;
    n = nn;
  }
  const float rf = static_cast<float>(rsqrt(m2 / HW + eps));
  const int64_t base = blockIdx.y * HW + blockIdx.x * kChunk, len = min(kChunk, HW - blockIdx.x * kChunk);
  normalise(x + base, y + base, act ? out + base : nullptr, len, static_cast<float>(mean), rf, act, slope);
  if (threadIdx.x == 0 && blockIdx.x == 0) rstd[blockIdx.y] = rf;
}

// The gradient at y: dy, or dy through the fused activation.
__device__ __forceinline__ float grad_at(const float* g, const float* y, int64_t i, bool act, float slope) {
  return act ? kern::op::LeakyRelu::df(g[i], y[i], slope) : g[i];
}

__device__ void grad_sums(const float* g, const float* y, int64_t n, bool act, float slope, double* buf,
                          double* sg, double* sgy) {
  double a = 0, b = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float gi = grad_at(g, y, i, act, slope);
    a += gi;
    b += static_cast<double>(gi) * y[i];
  }
  *sg = block_sum(a, buf);
  *sgy = block_sum(b, buf);
}

__device__ void grad_apply(const float* g, const float* y, float* d, int64_t n, float r, float mg, float mgy,
                           bool act, float slope) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    d[i] = r * (grad_at(g, y, i, act, slope) - mg - y[i] * mgy);
}

__global__ void in_bwd(const float* dy, const float* y, const float* rstd, float* dx, int64_t HW, bool act,
                       float slope) {
  __shared__ double buf[kBlock];
  const int64_t base = blockIdx.x * HW;
  double sg, sgy;
  grad_sums(dy + base, y + base, HW, act, slope, buf, &sg, &sgy);
  grad_apply(dy + base, y + base, dx + base, HW, rstd[blockIdx.x], static_cast<float>(sg / HW),
             static_cast<float>(sgy / HW), act, slope);
}

__global__ void in_bwd_sums(const float* dy, const float* y, double* part, int64_t HW, int chunks, bool act,
                            float slope) {
  __shared__ double buf[kBlock];
  const int64_t base = blockIdx.y * HW + blockIdx.x * kChunk, n = min(kChunk, HW - blockIdx.x * kChunk);
  double sg, sgy;
  grad_sums(dy + base, y + base, n, act, slope, buf, &sg, &sgy);
  if (threadIdx.x == 0) {
    part[2 * (blockIdx.y * chunks + blockIdx.x)] = sg;
    part[2 * (blockIdx.y * chunks + blockIdx.x) + 1] = sgy;
  }
}

__global__ void in_bwd_apply(const float* dy, const float* y, const float* rstd, const double* part,
                             float* dx, int64_t HW, int chunks, bool act, float slope) {
  const double* p = part + 2 * blockIdx.y * chunks;
  double sg = 0, sgy = 0;
  for (int c = 0; c < chunks; ++c) {
    sg += p[2 * c];
    sgy += p[2 * c + 1];
  }
  const int64_t base = blockIdx.y * HW + blockIdx.x * kChunk, n = min(kChunk, HW - blockIdx.x * kChunk);
  grad_apply(dy + base, y + base, dx + base, n, rstd[blockIdx.y], static_cast<float>(sg / HW),
             static_cast<float>(sgy / HW), act, slope);
}

// The chunk grid of a (NC, HW) tensor, or 0 chunks when one block per plane serves.
int chunks_for(int64_t HW) { return HW > kChunk ? static_cast<int>((HW + kChunk - 1) / kChunk) : 0; }

}  // namespace

void instance_norm_forward(DType dt, const void* x, void* y, void* rstd, int64_t NC, int64_t HW, double eps,
                           bool act, double slope, void* out) {
  require_f32(dt, "instance_norm_forward");
  if (NC == 0) return;
  const float* xf = static_cast<const float*>(x);
  float *yf = static_cast<float*>(y), *rf = static_cast<float*>(rstd), *of = static_cast<float*>(out);
  const int chunks = chunks_for(HW);
  if (!chunks) {
    in_fwd<<<static_cast<unsigned>(NC), kBlock, 0, stream()>>>(xf, yf, rf, HW, eps, act,
                                                               static_cast<float>(slope), of);
    CG_CUDA_LAUNCH_CHECK();
    return;
  }
  double* part = static_cast<double*>(alloc(static_cast<size_t>(NC * chunks) * 2 * sizeof(double)));
  const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(NC));
  in_fwd_stats<<<grid, kBlock, 0, stream()>>>(xf, part, HW, chunks);
  CG_CUDA_LAUNCH_CHECK();
  in_fwd_apply<<<grid, kBlock, 0, stream()>>>(xf, yf, rf, part, HW, chunks, eps, act,
                                              static_cast<float>(slope), of);
  CG_CUDA_LAUNCH_CHECK();
  free(part);  // safe at once: one stream orders any reuse after these kernels
}

void instance_norm_backward(DType dt, const void* dy, const void* y, const void* rstd, void* dx, int64_t NC,
                            int64_t HW, bool act, double slope) {
  require_f32(dt, "instance_norm_backward");
  if (NC == 0) return;
  const float *g = static_cast<const float*>(dy), *yf = static_cast<const float*>(y),
              *rf = static_cast<const float*>(rstd);
  float* d = static_cast<float*>(dx);
  const int chunks = chunks_for(HW);
  if (!chunks) {
    in_bwd<<<static_cast<unsigned>(NC), kBlock, 0, stream()>>>(g, yf, rf, d, HW, act,
                                                               static_cast<float>(slope));
    CG_CUDA_LAUNCH_CHECK();
    return;
  }
  double* part = static_cast<double*>(alloc(static_cast<size_t>(NC * chunks) * 2 * sizeof(double)));
  const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(NC));
  in_bwd_sums<<<grid, kBlock, 0, stream()>>>(g, yf, part, HW, chunks, act, static_cast<float>(slope));
  CG_CUDA_LAUNCH_CHECK();
  in_bwd_apply<<<grid, kBlock, 0, stream()>>>(g, yf, rf, part, d, HW, chunks, act, static_cast<float>(slope));
  CG_CUDA_LAUNCH_CHECK();
  free(part);
}

}  // namespace cg::cuda
