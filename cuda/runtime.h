// Internal to cuda/: error checks, the framework's stream, launch geometry.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "backend/types.h"
#include "cuda/device_api.h"

namespace cg::cuda {

[[noreturn]] void fail(const char* what, cudaError_t err, const char* file, int line);

// Every CUDA runtime call goes through this: a failure becomes a cg::Error naming the call.
#define CG_CUDA_CHECK(call)                                                           \
  do {                                                                                \
    cudaError_t cg_err_ = (call);                                                     \
    if (cg_err_ != cudaSuccess) ::cg::cuda::fail(#call, cg_err_, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: catches bad launch configurations at the call site.
#define CG_CUDA_LAUNCH_CHECK() CG_CUDA_CHECK(cudaGetLastError())

cudaStream_t stream();  // all framework work is queued on this one stream, in order

inline constexpr int kThreads = 256;
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

inline void require_f32(DType dt, const char* kernel) {
  if (dt != DType::F32) throw Error(std::string("cuda::") + kernel + ": only float32 lives on the GPU");
}

}  // namespace cg::cuda
