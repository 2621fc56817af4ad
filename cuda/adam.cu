// Fused multi-tensor Adam on the GPU: one launch updates up to kMaxTensors parameter tensors
// (CycleGAN's 96 generator tensors take two), each block one chunk of one tensor. PyTorch's float
// operations and order, each rounded to nearest as on the CPU. The step scalars are read from
// device memory when the kernel runs, so a replayed CUDA graph takes each step's values.
#include <algorithm>

#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

constexpr int kMaxTensors = 64;
constexpr int64_t kChunk = 8192;  // values per block

// Passed by value (about 3 KiB): the table needs no upload, so capturing it costs nothing.
struct Batch {
  float* p[kMaxTensors];
  const float* g[kMaxTensors];
  float* m[kMaxTensors];
  float* v[kMaxTensors];
  int64_t n[kMaxTensors];
  int64_t first_block[kMaxTensors + 1];  // tensor k owns blocks [first_block[k], first_block[k+1])
  int count;
};

__global__ void adam_kernel(const Batch b, const double* scalars, float b1, float b2, float one_b1,
                            float one_b2, float eps) {
  const int64_t blk = blockIdx.x;
  int k = 0;
  while (k + 1 < b.count && b.first_block[k + 1] <= blk) ++k;
  const int64_t begin = (blk - b.first_block[k]) * kChunk, end = min(b.n[k], begin + kChunk);
  const float neg_step = static_cast<float>(-scalars[2 * k]), bc2 = static_cast<float>(scalars[2 * k + 1]);
  float *p = b.p[k], *m = b.m[k], *v = b.v[k];
  const float* g = b.g[k];
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
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

void adam_update(DType dt, const kern::AdamTensor* t, int count, const double* scalars, double beta1,
                 double beta2, double eps) {
  require_f32(dt, "adam_update");
  for (int base = 0; base < count; base += kMaxTensors) {
    Batch b{};
    b.count = std::min(kMaxTensors, count - base);
    int64_t blocks = 0;
    for (int k = 0; k < b.count; ++k) {
      const kern::AdamTensor& a = t[base + k];
      b.p[k] = static_cast<float*>(a.p);
      b.g[k] = static_cast<const float*>(a.g);
      b.m[k] = static_cast<float*>(a.m);
      b.v[k] = static_cast<float*>(a.v);
      b.n[k] = a.n;
      b.first_block[k] = blocks;
      blocks += (a.n + kChunk - 1) / kChunk;
    }
    b.first_block[b.count] = blocks;
    if (blocks == 0) continue;
    adam_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream()>>>(
        b, scalars + 2 * base, static_cast<float>(beta1), static_cast<float>(beta2),
        static_cast<float>(1 - beta1), static_cast<float>(1 - beta2), static_cast<float>(eps));
    CG_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace cg::cuda
