// The CPU backend's kernel interface. Raw pointers and sizes only: this layer knows nothing of
// tensors or autograd. cuda/kernels.h declares the same names for the GPU; ops/ reaches both
// through backend/dispatch.h. Every kernel accepts float32 and float64.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/types.h"

namespace cg::cpu {

// ---- memory (cpu/memory.cpp) ----
void* alloc(size_t bytes);  // 64-byte aligned; throws cg::Error when out of memory
void free(void* p);
void copy(void* dst, const void* src, size_t bytes);
void fill(DType dt, void* x, int64_t n, double value);
void cast(DType from, const void* x, DType to, void* y, int64_t n);
// y = a[ix], a strided/broadcast read into a contiguous y of ix.shape (stride_b unused).
void copy_strided(DType dt, const void* a, void* y, const kern::Indexer& ix);

// ---- elementwise (cpu/elementwise.cpp) ----
void unary(kern::Unary op, double alpha, DType dt, const void* x, void* y, int64_t n);
// z = op(a, b) over the contiguous output shape ix.shape; a and b read with their own strides.
void binary(kern::Binary op, double alpha, DType dt, const void* a, const void* b, void* z,
            const kern::Indexer& ix);
// y = y + alpha * x, in place (gradient accumulation, optimizer updates).
void axpy(DType dt, double alpha, const void* x, void* y, int64_t n);

// ---- reductions (cpu/reduce.cpp) ----
// y[k] = sum over the reduced dims of x. ix.shape is x's shape, stride_a x's strides, stride_b
// y's strides with 0 on every reduced dim; y is contiguous. Accumulates in double.
void reduce_sum(DType dt, const void* x, void* y, const kern::Indexer& ix);

}  // namespace cg::cpu
