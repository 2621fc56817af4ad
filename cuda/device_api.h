// The CUDA backend's runtime interface beside its kernels: the device, memory, NCCL, graphs, the
// convolution flags and the profiler. Plain C++ (no CUDA header needed). Only backend/ (the device
// boundary: backend/device.h, backend/comm.h) and cuda/ itself include it; tests and benchmarks may.
// In a build without CUDA these are declared but never defined; backend/ names them only under
// `if constexpr (kHaveCuda)`.
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
// Makes GPU `index` this process's device (a rank of a data-parallel run takes its local rank's);
// call before any other CUDA work. Throws naming the index and how many GPUs there are.
void set_device(int index);
void* alloc(size_t bytes);   // from the caching allocator; throws cg::Error when out of memory
void free(void* p);          // returns the block to the cache
uint64_t malloc_count();     // cudaMalloc calls made so far (a warm step should add none)
size_t reserved_bytes();     // device memory held by the allocator, live or cached
size_t peak_bytes_in_use();  // the most device memory handed out at once (PyTorch: max_memory_allocated)
void reset_peak_bytes_in_use();
void copy(void* dst, const void* src, size_t bytes);                 // device -> device
void copy_to_device(void* dst, const void* host_src, size_t bytes);  // host -> device
void copy_to_host(void* host_dst, const void* src, size_t bytes);    // device -> host (syncs)
// Private memory pools (for graph capture; see backend/block_allocator.h): while pool id is set,
// every allocation comes from it. 0 is the general pool.
int new_memory_pool();
void set_memory_pool(int id);
void release_memory_pool(int id);

// ---- cuBLAS (cuda/bmm.cu): opened at first use, not linked (it costs every process ~200 MiB) ----
// Opens it if not yet open (without touching a GPU) and returns the file it opened; throws naming
// the library and the folders looked in when it cannot.
std::string cublas_library();

// ---- NCCL (cuda/nccl.cpp): GPU collectives among the ranks of a data-parallel run ----
bool nccl_available();  // this build has NCCL
// The 128-byte ncclUniqueId rank 0 makes, which every rank needs (sent over MPI) to join.
std::string nccl_unique_id();
void nccl_init(const std::string& unique_id, int rank, int size);  // ncclCommInitRank on our device
void nccl_finalize();
// On the framework's stream, in place, float32: the sum over ranks (ncclSum), or that divided by the
// rank count (ncclAvg) when `average`; and a broadcast from rank `root`.
void nccl_all_reduce(float* data, size_t n, bool average);
void nccl_broadcast(void* data, size_t bytes, int root);

// ---- CUDA graphs (cuda/graph.cu) ----
// Capture of the framework's stream: every kernel and copy queued between begin and end is
// recorded, not run; launch runs the recording. Allocations made while capturing come from a
// private pool of the graph's own, kept until graph_destroy.
struct GraphHandle;
GraphHandle* graph_capture_begin();
void graph_capture_end(GraphHandle* g);    // instantiates; throws if the capture broke
void graph_capture_abort(GraphHandle* g);  // after an error while capturing: ends and frees it
void graph_launch(GraphHandle* g);
void graph_destroy(GraphHandle* g);
bool capturing();                 // whether the framework's stream is being captured now
void profiler_range(bool start);  // cudaProfilerStart/Stop, to profile one region with ncu
void busy_wait_gpu(double ms);    // keeps every SM busy for about ms (clocks up before a timing)

// TF32 tensor cores in cuDNN convolutions (default: allowed, as PyTorch's cudnn.allow_tf32).
void set_allow_tf32(bool allow);
bool allow_tf32();
// Only deterministic convolution engines (default: off, as PyTorch's cudnn.deterministic): the
// same inputs then give the same bits on every run, eager or replayed from a graph.
void set_deterministic(bool on);
bool deterministic();

}  // namespace cg::cuda
