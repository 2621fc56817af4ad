// Per-thread scratch buffers that grow on demand and are kept between calls, so the large
// temporaries of a training step (packed panels, im2col columns) are allocated once, not per op.
// Internal to cpu/.
#pragma once

#include <cstddef>

#include "cpu/kernels.h"

namespace cg::cpu {

enum ScratchSlot { kPackB = 0, kPackA = 1, kColumns = 2, kTranspose = 3, kSlots = 4 };

template <class T>
T* scratch(ScratchSlot slot, size_t n) {
  struct Buf {
    void* p = nullptr;
    size_t bytes = 0;
    ~Buf() { cpu::free(p); }
  };
  thread_local Buf bufs[kSlots];
  Buf& b = bufs[slot];
  if (b.bytes < n * sizeof(T)) {
    cpu::free(b.p);
    b.p = nullptr;
    b.p = cpu::alloc(n * sizeof(T));
    b.bytes = n * sizeof(T);
  }
  return static_cast<T*>(b.p);
}

}  // namespace cg::cpu
