// Elementwise maps on the GPU: the rows of backend/elementwise_table.h, one templated grid-stride
// kernel per shape of work, the row chosen on the host (kern::visit_*) so each kernel body is the
// row's expression alone.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

template <class Op>
__global__ void unary_kernel(const float* x, float* y, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = Op::f(x[i], alpha);
}

template <class Op>
__global__ void unary_backward_kernel(const float* dy, const float* kept, float* dx, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dx[i] = Op::df(dy[i], kept[i], alpha);
}

template <class Op>
__global__ void binary_flat_kernel(const float* a, const float* b, float* z, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    z[i] = Op::f(a[i], b[i]);
}

template <class Op>
__global__ void binary_strided_kernel(const float* a, const float* b, float* z, kern::Indexer ix, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = ix.nd - 1; d >= 0; --d) {
      const int64_t k = rem % ix.shape[d];
      rem /= ix.shape[d];
      oa += k * ix.stride_a[d];
      ob += k * ix.stride_b[d];
    }
    z[i] = Op::f(a[oa], b[ob]);
  }
}

__global__ void axpy_kernel(const float* x, float* y, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] += alpha * x[i];
}

}  // namespace

void unary(kern::Unary op, double alpha, DType dt, const void* x, void* y, int64_t n) {
  require_f32(dt, "unary");
  if (n == 0) return;
  kern::visit_unary(op, [&](auto row) {
    unary_kernel<decltype(row)><<<blocks_for(n), kThreads, 0, stream()>>>(
        static_cast<const float*>(x), static_cast<float*>(y), n, static_cast<float>(alpha));
  });
  CG_CUDA_LAUNCH_CHECK();
}

void unary_backward(kern::Unary op, double alpha, DType dt, const void* dy, const void* kept, void* dx,
                    int64_t n) {
  require_f32(dt, "unary_backward");
  if (n == 0) return;
  kern::visit_unary(op, [&](auto row) {
    unary_backward_kernel<decltype(row)><<<blocks_for(n), kThreads, 0, stream()>>>(
        static_cast<const float*>(dy), static_cast<const float*>(kept), static_cast<float*>(dx), n,
        static_cast<float>(alpha));
  });
  CG_CUDA_LAUNCH_CHECK();
}

void binary(kern::Binary op, DType dt, const void* a, const void* b, void* z, const kern::Indexer& ix) {
  require_f32(dt, "binary");
  int64_t n = 1;
  bool flat = true;
  int64_t s = 1;
  for (int d = ix.nd - 1; d >= 0; --d) {
    if (ix.shape[d] != 1 && (ix.stride_a[d] != s || ix.stride_b[d] != s)) flat = false;
    s *= ix.shape[d];
    n *= ix.shape[d];
  }
  if (n == 0) return;
  const float* pa = static_cast<const float*>(a);
  const float* pb = static_cast<const float*>(b);
  float* pz = static_cast<float*>(z);
  kern::visit_binary(op, [&](auto row) {
    using Op = decltype(row);
    if (flat)
      binary_flat_kernel<Op><<<blocks_for(n), kThreads, 0, stream()>>>(pa, pb, pz, n);
    else
      binary_strided_kernel<Op><<<blocks_for(n), kThreads, 0, stream()>>>(pa, pb, pz, ix, n);
  });
  CG_CUDA_LAUNCH_CHECK();
}

void axpy(DType dt, double alpha, const void* x, void* y, int64_t n) {
  require_f32(dt, "axpy");
  if (n == 0) return;
  axpy_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<const float*>(x), static_cast<float*>(y),
                                                        n, static_cast<float>(alpha));
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
