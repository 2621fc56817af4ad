// Sum over dims on the GPU, in the CPU kernel's scheme: each output's reduction range is cut into
// fixed chunks, one block per (output, chunk) writes a partial, and a second pass adds the partials
// in order. Partials accumulate in double, as on the CPU.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

constexpr int64_t kChunk = 1 << 14;

struct Split {  // kept dims (walk the outputs) and reduced dims (walk one output's inputs)
  int nk = 0, nr = 0;
  int64_t kshape[kern::kMaxDims], kstride[kern::kMaxDims];
  int64_t rshape[kern::kMaxDims], rstride[kern::kMaxDims];
};

__global__ void partial_kernel(const float* x, double* partial, Split sp, int64_t nchunk, int64_t rlen) {
  const int64_t item = blockIdx.x;
  const int64_t j = item / nchunk, c = item % nchunk;
  int64_t base = 0, rem = j;
  for (int d = sp.nk - 1; d >= 0; --d) {
    base += (rem % sp.kshape[d]) * sp.kstride[d];
    rem /= sp.kshape[d];
  }
  const int64_t r0 = c * kChunk, r1 = min(rlen, r0 + kChunk);
  double acc = 0;
  for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) {
    int64_t rr = r, off = base;
    for (int d = sp.nr - 1; d >= 0; --d) {
      off += (rr % sp.rshape[d]) * sp.rstride[d];
      rr /= sp.rshape[d];
    }
    acc += x[off];
  }
  __shared__ double buf[kThreads];
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[item] = buf[0];
}

__global__ void finish_kernel(const double* partial, float* y, int64_t nout, int64_t nchunk) {
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < nout;
       j += int64_t(gridDim.x) * blockDim.x) {
    double acc = 0;
    for (int64_t c = 0; c < nchunk; ++c) acc += partial[j * nchunk + c];
    y[j] = static_cast<float>(acc);
  }
}

}  // namespace

void reduce_sum(DType dt, const void* x, void* y, const kern::Indexer& ix) {
  require_f32(dt, "reduce_sum");
  Split sp;
  for (int d = 0; d < ix.nd; ++d) {
    if (ix.shape[d] == 1) continue;
    if (ix.stride_b[d] != 0) {
      sp.kshape[sp.nk] = ix.shape[d];
      sp.kstride[sp.nk++] = ix.stride_a[d];
    } else {
      sp.rshape[sp.nr] = ix.shape[d];
      sp.rstride[sp.nr++] = ix.stride_a[d];
    }
  }
  int64_t nout = 1, rlen = 1;
  for (int d = 0; d < sp.nk; ++d) nout *= sp.kshape[d];
  for (int d = 0; d < sp.nr; ++d) rlen *= sp.rshape[d];
  if (nout == 0) return;
  const int64_t nchunk = (rlen + kChunk - 1) / kChunk;
  if (nchunk == 0) {
    fill(dt, y, nout, 0.0);
    return;
  }
  double* partial = static_cast<double*>(alloc(static_cast<size_t>(nout * nchunk) * sizeof(double)));
  partial_kernel<<<static_cast<unsigned>(nout * nchunk), kThreads, 0, stream()>>>(
      static_cast<const float*>(x), partial, sp, nchunk, rlen);
  CG_CUDA_LAUNCH_CHECK();
  finish_kernel<<<blocks_for(nout), kThreads, 0, stream()>>>(partial, static_cast<float*>(y), nout, nchunk);
  CG_CUDA_LAUNCH_CHECK();
  free(partial);  // safe at once: one stream orders the reuse after these kernels
}

}  // namespace cg::cuda
