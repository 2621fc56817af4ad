// The one boundary between the framework and its devices, beside the kernels (backend/dispatch.h):
// which GPUs there are, memory, the framework's stream, graph capture, the convolution flags and the
// profiler. Everything above backend/ (tensor/, autograd/, ops/, nn/, data/, models/, distributed/,
// apps/) reaches the GPU through this header and backend/comm.h, never through cuda/. In a build
// without CUDA every GPU function says so (an error) or answers "none" (gpu_count() is 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/types.h"

namespace cg::backend {

// ---- devices ----
int gpu_count();                  // 0 without CUDA, a driver or a device; never throws
std::string gpu_description();    // "NVIDIA H100 80GB HBM3, sm_90, 79 GiB" or why there is none
void set_gpu(int index);          // this process's GPU; throws naming the index and the count
void synchronize(Device device);  // waits for the framework's work queued on `device`

// ---- memory: the caching allocators (cpu/memory.cpp, cuda/memory.cu) ----
void* alloc(Device device, size_t bytes);  // throws cg::Error when out of memory
void free(Device device, void* p);
struct GpuMemory {
  uint64_t mallocs = 0;    // cudaMalloc calls so far (a warm step adds none)
  size_t reserved = 0;     // held by the allocator, live or cached
  size_t peak_in_use = 0;  // the most handed out at once (PyTorch: max_memory_allocated)
};
GpuMemory gpu_memory();
void reset_gpu_peak();
// Hands the host allocator's cached large blocks back to the system when they hold more than
// `keep` bytes (a long run whose block sizes keep changing, such as the tiled evaluator's stages,
// would otherwise keep every size it used). The GPU allocator returns its cached segments itself
// when cudaMalloc fails: nothing to do there.
void release_cached(Device device, size_t keep = 0);

// ---- graphs: capture of the framework's stream (CUDA graphs) ----
struct Graph;                        // opaque
Graph* graph_capture_begin();        // work queued from now on is recorded, not run
void graph_capture_end(Graph* g);    // instantiates; throws if the capture broke
void graph_capture_abort(Graph* g);  // after an error while capturing: ends and frees it
void graph_launch(Graph* g);
void graph_destroy(Graph* g);  // nullptr: nothing
bool capturing();              // whether the framework's stream is being captured now

// ---- convolution numerics on the GPU (as PyTorch's cudnn flags) ----
void set_allow_tf32(bool allow);  // TF32 tensor cores (default: allowed)
bool allow_tf32();
void set_deterministic(bool on);  // deterministic engines only (default: off)
bool deterministic();

// ---- profiling ----
void profiler_range(bool start);  // cudaProfilerStart/Stop around one region (ncu, nsys)
void busy_wait_gpu(double ms);    // keeps every SM busy for about ms (clocks up before a timing)

}  // namespace cg::backend
