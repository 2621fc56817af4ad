// The CUDA backend's kernel interface: the names of cpu/kernels.h, for device pointers, float32
// only (float64 stays on the CPU). Plain C++: no CUDA header is needed to include this, so ops/
// compiles the same with or without the CUDA toolkit. In a build without CUDA these functions are
// declared but never defined; backend/dispatch.h only names them under `if constexpr (kHaveCuda)`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/types.h"

namespace cg::cuda {

// ---- device and memory (cuda/memory.cu) ----
int device_count();                // 0 when there is no driver or no device; never throws
std::string device_description();  // "NVIDIA H100 80GB HBM3, sm_90, 79 GiB" or why there is none
void synchronize();                // waits for the framework's stream
void* alloc(size_t bytes);         // from the caching allocator; throws cg::Error when out of memory
void free(void* p);                // returns the block to the cache
uint64_t malloc_count();           // cudaMalloc calls made so far (a warm step should add none)
size_t reserved_bytes();           // device memory held by the allocator, live or cached
size_t peak_bytes_in_use();  // the most device memory handed out at once (PyTorch: max_memory_allocated)
void reset_peak_bytes_in_use();
void copy(void* dst, const void* src, size_t bytes);                 // device -> device
void copy_to_device(void* dst, const void* host_src, size_t bytes);  // host -> device
void copy_to_host(void* host_dst, const void* src, size_t bytes);    // device -> host (syncs)
void fill(DType dt, void* x, int64_t n, double value);
void cast(DType from, const void* x, DType to, void* y, int64_t n);
void copy_strided(DType dt, const void* a, void* y, const kern::Indexer& ix);

// ---- elementwise (cuda/elementwise.cu) ----
void unary(kern::Unary op, double alpha, DType dt, const void* x, void* y, int64_t n);
void binary(kern::Binary op, double alpha, DType dt, const void* a, const void* b, void* z,
            const kern::Indexer& ix);
void axpy(DType dt, double alpha, const void* x, void* y, int64_t n);

// ---- reductions (cuda/reduce.cu) ----
void reduce_sum(DType dt, const void* x, void* y, const kern::Indexer& ix);

// ---- convolution (cuda/conv2d.*) ----
void set_allow_tf32(bool allow);  // TF32 tensor cores in cuDNN convolutions (default: allowed)
bool allow_tf32();
// Each writes (never accumulates into) its output. b and db may be null (no bias).
// y (N,K,P,Q) = conv(x (N,C,H,W), w (K,C,R,S)) + b (K)
void conv2d_forward(DType dt, const void* x, const void* w, const void* b, void* y, const kern::ConvGeom& g);
// dx (N,C,H,W) from dy (N,K,P,Q) and w
void conv2d_backward_data(DType dt, const void* dy, const void* w, void* dx, const kern::ConvGeom& g);
// dw (K,C,R,S) and db (K) from x and dy
void conv2d_backward_weight(DType dt, const void* x, const void* dy, void* dw, void* db,
                            const kern::ConvGeom& g);

// ---- reflection padding (cuda/pad.*) ----
// y (NC, H+top+bottom, W+left+right) mirrors x (NC, H, W) at its edges, as ReflectionPad2d.
void reflection_pad2d_forward(DType dt, const void* x, void* y, int64_t NC, int64_t H, int64_t W, int64_t top,
                              int64_t bottom, int64_t left, int64_t right);
// dx (NC, H, W): each dy element added to the x element it was copied from.
void reflection_pad2d_backward(DType dt, const void* dy, void* dx, int64_t NC, int64_t H, int64_t W,
                               int64_t top, int64_t bottom, int64_t left, int64_t right);

// ---- instance normalisation (cuda/instance_norm.*) ----
// Per plane of HW values: y = (x - mean) * rstd, rstd = 1 / sqrt(biased var + eps). rstd: (NC).
// With act, out = y > 0 ? y : slope * y (ReLU for slope 0, LeakyReLU otherwise), in the same pass;
// out may be null without act.
void instance_norm_forward(DType dt, const void* x, void* y, void* rstd, int64_t NC, int64_t HW, double eps,
                           bool act, double slope, void* out);
// dx = rstd * (g - mean(g) - y * mean(g * y)) per plane, where g = dy, or with act
// g = dy * (y > 0 ? 1 : slope): the activation's backward fused in.
void instance_norm_backward(DType dt, const void* dy, const void* y, const void* rstd, void* dx, int64_t NC,
                            int64_t HW, bool act, double slope);

// ---- optimizer (cuda/adam.*) ----
// One Adam step on n values, in PyTorch's order of float operations (torch.optim.Adam, single-tensor
// path): m = m*b1 + (1-b1) g; v = v*b2 + (1-b2) g g; p -= step_size * m / (sqrt(v)/bc2_sqrt + eps),
// with step_size = lr / (1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) computed by the caller in double.
void adam_update(DType dt, void* p, const void* g, void* m, void* v, int64_t n, double beta1, double beta2,
                 double eps, double step_size, double bc2_sqrt);

}  // namespace cg::cuda
