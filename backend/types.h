// Plain types shared by every layer: dtypes, devices, and the small descriptors that kernels take.
// Nothing here knows about tensors or autograd, so cpu/ and cuda/ can include it freely.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "backend/elementwise_table.h"  // kern::Unary, kern::Binary

namespace cg {

enum class DType : uint8_t { F32, F64 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType dt) { return dt == DType::F32 ? 4 : 8; }
inline const char* dtype_name(DType dt) { return dt == DType::F32 ? "float32" : "float64"; }
inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

// True when this build compiled the CUDA backend (CMake -DCYCLEGAN_CUDA=ON, or AUTO with CUDA found).
#if defined(CG_HAVE_CUDA) && CG_HAVE_CUDA
inline constexpr bool kHaveCuda = true;
#else
inline constexpr bool kHaveCuda = false;
#endif

// Every error the framework raises: a message that names the shapes or the file involved.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace kern {

// Walks an output of up to kMaxDims dims while reading two inputs with their own strides, a stride
// of 0 meaning "broadcast along this dim". Built by ops/, consumed by both backends.
inline constexpr int kMaxDims = 8;
struct Indexer {
  int nd = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
};

// A 2-D convolution: input (N, C, H, W), weight (K, C, R, S), output (N, K, P, Q), the same stride
// and zero padding along both axes, P = (H + 2 pad - R) / stride + 1. The transposed convolution
// is this geometry run backwards (see ops/conv.cpp), so one struct serves both.
struct ConvGeom {
  int64_t N = 0, C = 0, H = 0, W = 0;
  int64_t K = 0, R = 0, S = 0;
  int64_t stride = 1, pad = 0;
  int64_t P = 0, Q = 0;
};

// One parameter tensor of an Adam step: parameter, gradient, first and second moments, n values each.
struct AdamTensor {
  void* p = nullptr;
  const void* g = nullptr;
  void* m = nullptr;
  void* v = nullptr;
  int64_t n = 0;
};

}  // namespace kern
}  // namespace cg
