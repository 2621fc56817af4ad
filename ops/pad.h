#pragma once

#include "tensor/tensor.h"

namespace cg {

// PyTorch's ReflectionPad2d on (N, C, H, W): each pad must be smaller than the padded dim.
Tensor reflection_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom);
inline Tensor reflection_pad2d(const Tensor& x, int64_t pad) {
  return reflection_pad2d(x, pad, pad, pad, pad);
}

// PyTorch's ReplicationPad2d on (N, C, H, W): the edge rows and columns repeated outward; a pad may
// exceed the padded dim (every border pixel then copies the edge).
Tensor replication_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom);
inline Tensor replication_pad2d(const Tensor& x, int64_t pad) {
  return replication_pad2d(x, pad, pad, pad, pad);
}

}  // namespace cg
