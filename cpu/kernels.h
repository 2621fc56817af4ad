// The CPU backend's kernel interface. Raw pointers and sizes only: this layer knows nothing of
// tensors or autograd. cuda/kernels.h declares the same names for the GPU; ops/ reaches both
// through backend/dispatch.h. Every kernel accepts float32 and float64.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/types.h"

namespace cg::cpu {

// ---- memory (cpu/memory.cpp) ----
// 64-byte aligned; large blocks come from a cache; throws cg::Error when out of memory.
void* alloc(size_t bytes);
void free(void* p);              // large blocks go back to the cache
void release_cached();           // returns the cached large blocks to the system
size_t cached_bytes();           // bytes held in the cache (free, not in use)
uint64_t large_system_allocs();  // large blocks taken from the system so far (a warm step adds none)
void copy(void* dst, const void* src, size_t bytes);

// ---- the shared compute kernels, in cpu/<name>.cpp ----
#include "backend/kernel_api.inc"

// Multiply-adds x 2 done by the three conv2d kernels since the program started (for benchmarks).
uint64_t conv_flops();

}  // namespace cg::cpu
