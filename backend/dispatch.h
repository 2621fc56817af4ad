// The one small interface between ops/ and the numeric backends: CG_KERNEL(device, name, args...)
// calls cpu::name(args...) or cuda::name(args...). Both backends declare the same names with the
// same signatures (cpu/kernels.h, cuda/kernels.h), so an op is written once for both devices.
#pragma once

#include "backend/types.h"
#include "cpu/kernels.h"
#include "cuda/device_api.h"
#include "cuda/kernels.h"

namespace cg::backend {
[[noreturn]] inline void no_cuda(const char* kernel) {
  throw Error(std::string("kernel '") + kernel +
              "' was asked to run on cuda, but this build has no CUDA backend "
              "(configure with -DCYCLEGAN_CUDA=ON on a machine with the CUDA toolkit and cuDNN)");
}

// Copies bytes between any two devices (host <-> GPU or within one).
inline void copy_bytes(void* dst, Device ddev, const void* src, Device sdev, size_t n) {
  if (ddev == Device::CPU && sdev == Device::CPU) return cpu::copy(dst, src, n);
  if constexpr (kHaveCuda) {
    if (ddev == Device::CUDA && sdev == Device::CUDA) return cuda::copy(dst, src, n);
    if (ddev == Device::CUDA) return cuda::copy_to_device(dst, src, n);
    return cuda::copy_to_host(dst, src, n);
  } else {
    no_cuda("copy");
  }
}
}  // namespace cg::backend

// `if constexpr` keeps a CPU-only build from referencing the cuda:: symbols at all.
#define CG_KERNEL(device, fn, ...)       \
  do {                                   \
    if ((device) == ::cg::Device::CPU) { \
      ::cg::cpu::fn(__VA_ARGS__);        \
    } else {                             \
      if constexpr (::cg::kHaveCuda)     \
        ::cg::cuda::fn(__VA_ARGS__);     \
      else                               \
        ::cg::backend::no_cuda(#fn);     \
    }                                    \
  } while (0)
