// Elementwise maps on the GPU: one templated grid-stride kernel per arity, the op chosen on the
// host so each kernel body is a single expression.
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

using kern::Binary;
using kern::Unary;

template <Unary op>
__device__ __forceinline__ float apply1(float v, float alpha) {
  if constexpr (op == Unary::Neg) return -v;
  if constexpr (op == Unary::Abs) return fabsf(v);
  if constexpr (op == Unary::Square) return v * v;
  if constexpr (op == Unary::Sqrt) return sqrtf(v);
  if constexpr (op == Unary::Exp) return expf(v);
  if constexpr (op == Unary::Log) return logf(v);
  if constexpr (op == Unary::Relu) return v > 0.f ? v : 0.f;
  if constexpr (op == Unary::LeakyRelu) return v > 0.f ? v : alpha * v;
  if constexpr (op == Unary::Tanh) return tanhf(v);
  if constexpr (op == Unary::Sigmoid) return 1.f / (1.f + expf(-v));
  if constexpr (op == Unary::AddScalar) return v + alpha;
  if constexpr (op == Unary::MulScalar) return v * alpha;
  return v;
}

template <Unary op>
__global__ void unary_kernel(const float* x, float* y, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = apply1<op>(x[i], alpha);
}

template <Binary op>
__device__ __forceinline__ float apply2(float a, float b, float alpha) {
  if constexpr (op == Binary::Add) return a + b;
  if constexpr (op == Binary::Sub) return a - b;
  if constexpr (op == Binary::Mul) return a * b;
  if constexpr (op == Binary::Div) return a / b;
  if constexpr (op == Binary::ReluGrad) return b > 0.f ? a : 0.f;
  if constexpr (op == Binary::LeakyReluGrad) return b > 0.f ? a : alpha * a;
  if constexpr (op == Binary::AbsGrad) return b > 0.f ? a : (b < 0.f ? -a : 0.f);
  if constexpr (op == Binary::TanhGrad) return a * (1.f - b * b);
  if constexpr (op == Binary::SigmoidGrad) return a * b * (1.f - b);
  return a;
}

template <Binary op>
__global__ void binary_flat_kernel(const float* a, const float* b, float* z, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    z[i] = apply2<op>(a[i], b[i], alpha);
}

template <Binary op>
__global__ void binary_strided_kernel(const float* a, const float* b, float* z, kern::Indexer ix, int64_t n,
                                      float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = ix.nd - 1; d >= 0; --d) {
      const int64_t k = rem % ix.shape[d];
      rem /= ix.shape[d];
      oa += k * ix.stride_a[d];
      ob += k * ix.stride_b[d];
    }
    z[i] = apply2<op>(a[oa], b[ob], alpha);
  }
}

template <Unary op>
void launch1(const void* x, void* y, int64_t n, float alpha) {
  unary_kernel<op><<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<const float*>(x),
                                                             static_cast<float*>(y), n, alpha);
  CG_CUDA_LAUNCH_CHECK();
}

template <Binary op>
void launch2(const void* a, const void* b, void* z, const kern::Indexer& ix, float alpha) {
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
  if (flat)
    binary_flat_kernel<op><<<blocks_for(n), kThreads, 0, stream()>>>(pa, pb, pz, n, alpha);
  else
    binary_strided_kernel<op><<<blocks_for(n), kThreads, 0, stream()>>>(pa, pb, pz, ix, n, alpha);
  CG_CUDA_LAUNCH_CHECK();
}

__global__ void axpy_kernel(const float* x, float* y, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] += alpha * x[i];
}

}  // namespace

void unary(Unary op, double alpha_d, DType dt, const void* x, void* y, int64_t n) {
  require_f32(dt, "unary");
  if (n == 0) return;
  const float alpha = static_cast<float>(alpha_d);
  switch (op) {
    case Unary::Neg:
      return launch1<Unary::Neg>(x, y, n, alpha);
    case Unary::Abs:
      return launch1<Unary::Abs>(x, y, n, alpha);
    case Unary::Square:
      return launch1<Unary::Square>(x, y, n, alpha);
    case Unary::Sqrt:
      return launch1<Unary::Sqrt>(x, y, n, alpha);
    case Unary::Exp:
      return launch1<Unary::Exp>(x, y, n, alpha);
    case Unary::Log:
      return launch1<Unary::Log>(x, y, n, alpha);
    case Unary::Relu:
      return launch1<Unary::Relu>(x, y, n, alpha);
    case Unary::LeakyRelu:
      return launch1<Unary::LeakyRelu>(x, y, n, alpha);
    case Unary::Tanh:
      return launch1<Unary::Tanh>(x, y, n, alpha);
    case Unary::Sigmoid:
      return launch1<Unary::Sigmoid>(x, y, n, alpha);
    case Unary::AddScalar:
      return launch1<Unary::AddScalar>(x, y, n, alpha);
    case Unary::MulScalar:
      return launch1<Unary::MulScalar>(x, y, n, alpha);
  }
}

void binary(Binary op, double alpha_d, DType dt, const void* a, const void* b, void* z,
            const kern::Indexer& ix) {
  require_f32(dt, "binary");
  const float alpha = static_cast<float>(alpha_d);
  switch (op) {
    case Binary::Add:
      return launch2<Binary::Add>(a, b, z, ix, alpha);
    case Binary::Sub:
      return launch2<Binary::Sub>(a, b, z, ix, alpha);
    case Binary::Mul:
      return launch2<Binary::Mul>(a, b, z, ix, alpha);
    case Binary::Div:
      return launch2<Binary::Div>(a, b, z, ix, alpha);
    case Binary::ReluGrad:
      return launch2<Binary::ReluGrad>(a, b, z, ix, alpha);
    case Binary::LeakyReluGrad:
      return launch2<Binary::LeakyReluGrad>(a, b, z, ix, alpha);
    case Binary::AbsGrad:
      return launch2<Binary::AbsGrad>(a, b, z, ix, alpha);
    case Binary::TanhGrad:
      return launch2<Binary::TanhGrad>(a, b, z, ix, alpha);
    case Binary::SigmoidGrad:
      return launch2<Binary::SigmoidGrad>(a, b, z, ix, alpha);
  }
}

void axpy(DType dt, double alpha, const void* x, void* y, int64_t n) {
  require_f32(dt, "axpy");
  if (n == 0) return;
  axpy_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<const float*>(x), static_cast<float*>(y),
                                                        n, static_cast<float>(alpha));
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
