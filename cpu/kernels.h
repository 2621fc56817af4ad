// The CPU backend's kernel interface. Raw pointers and sizes only: this layer knows nothing of
// tensors or autograd. cuda/kernels.h declares the same names for the GPU; ops/ reaches both
// through backend/dispatch.h. Every kernel accepts float32 and float64.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/types.h"

namespace cg::cpu {

// ---- memory (cpu/memory.cpp) ----
void* alloc(
    size_t bytes);   // 64-byte aligned; large blocks come from a cache; throws cg::Error when out of memory
void free(void* p);  // large blocks go back to the cache
void release_cached();           // returns the cached large blocks to the system
size_t cached_bytes();           // bytes held in the cache (free, not in use)
uint64_t large_system_allocs();  // large blocks taken from the system so far (a warm step adds none)
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

// ---- convolution (cpu/conv2d.*) ----
// Each writes (never accumulates into) its output. b and db may be null (no bias).
// y (N,K,P,Q) = conv(x (N,C,H,W), w (K,C,R,S)) + b (K)
void conv2d_forward(DType dt, const void* x, const void* w, const void* b, void* y, const kern::ConvGeom& g);
// dx (N,C,H,W) from dy (N,K,P,Q) and w
void conv2d_backward_data(DType dt, const void* dy, const void* w, void* dx, const kern::ConvGeom& g);
// dw (K,C,R,S) and db (K) from x and dy
void conv2d_backward_weight(DType dt, const void* x, const void* dy, void* dw, void* db,
                            const kern::ConvGeom& g);

// Multiply-adds x 2 done by the three kernels above since the program started (for benchmarks).
uint64_t conv_flops();

// ---- reflection padding (cpu/pad.*) ----
// y (NC, H+top+bottom, W+left+right) mirrors x (NC, H, W) at its edges, as ReflectionPad2d.
void reflection_pad2d_forward(DType dt, const void* x, void* y, int64_t NC, int64_t H, int64_t W, int64_t top,
                              int64_t bottom, int64_t left, int64_t right);
// dx (NC, H, W): each dy element added to the x element it was copied from.
void reflection_pad2d_backward(DType dt, const void* dy, void* dx, int64_t NC, int64_t H, int64_t W,
                               int64_t top, int64_t bottom, int64_t left, int64_t right);

// ---- instance normalisation (cpu/instance_norm.*) ----
// Per plane of HW values: y = (x - mean) * rstd, rstd = 1 / sqrt(biased var + eps). rstd: (NC).
// With act, out = y > 0 ? y : slope * y (ReLU for slope 0, LeakyReLU otherwise), in the same pass;
// out may be null without act.
void instance_norm_forward(DType dt, const void* x, void* y, void* rstd, int64_t NC, int64_t HW, double eps,
                           bool act, double slope, void* out);
// dx = rstd * (g - mean(g) - y * mean(g * y)) per plane, where g = dy, or with act
// g = dy * (y > 0 ? 1 : slope): the activation's backward fused in.
void instance_norm_backward(DType dt, const void* dy, const void* y, const void* rstd, void* dx, int64_t NC,
                            int64_t HW, bool act, double slope);

// ---- optimizer (cpu/adam.*) ----
// One Adam step on n values, in PyTorch's order of float operations (torch.optim.Adam, single-tensor
// path): m = m*b1 + (1-b1) g; v = v*b2 + (1-b2) g g; p -= step_size * m / (sqrt(v)/bc2_sqrt + eps),
// with step_size = lr / (1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) computed by the caller in double.
void adam_update(DType dt, void* p, const void* g, void* m, void* v, int64_t n, double beta1, double beta2,
                 double eps, double step_size, double bc2_sqrt);

}  // namespace cg::cpu
