// The CUDA backend's kernel interface: the names of cpu/kernels.h, for device pointers, float32
// only (float64 stays on the CPU); kernels only (the device, memory, NCCL and graphs are in
// cuda/device_api.h). Plain C++: no CUDA header is needed to include this, so ops/
// compiles the same with or without the CUDA toolkit. In a build without CUDA these functions are
// declared but never defined; backend/dispatch.h only names them under `if constexpr (kHaveCuda)`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/types.h"

namespace cg::cuda {

// ---- the shared compute kernels, in cuda/<name>.cu (conv2d.cpp: cuDNN) ----
#include "backend/kernel_api.inc"

}  // namespace cg::cuda
