// Device queries, the stream, the caching allocator, copies and fills.
#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {

void fail(const char* what, cudaError_t err, const char* file, int line) {
  throw Error(std::string("CUDA error: ") + cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ") in " +
              what + " at " + file + ":" + std::to_string(line));
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error so later queries start clean
    return 0;
  }
  return n;
}

std::string device_description() {
  if (device_count() == 0) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    cudaGetLastError();
    return std::string("no CUDA device (") + (e == cudaSuccess ? "none found" : cudaGetErrorString(e)) + ")";
  }
  cudaDeviceProp p{};
  CG_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  return std::string(p.name) + ", sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.totalGlobalMem >> 30) + " GiB";
}

cudaStream_t stream() {
  static cudaStream_t s = [] {
    cudaStream_t st;
    CG_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    return st;
  }();
  return s;
}

void synchronize() { CG_CUDA_CHECK(cudaStreamSynchronize(stream())); }

// ---- caching allocator ----
// Blocks are rounded up (512 B for small, 2 MiB for large requests) and kept on free lists by
// size when released, so a training step after the first reuses the same blocks and makes no
// cudaMalloc/cudaFree calls. All work runs on one stream, so a block freed by the host can be
// handed out again at once: kernels that used it are ordered before any kernel that reuses it.
namespace {
struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // size -> block
  std::unordered_map<void*, size_t> live;    // block -> size
  size_t reserved = 0;
  size_t in_use = 0, peak_in_use = 0;  // bytes handed out (rounded), and the most at once
  uint64_t mallocs = 0;

  void hand_out(void* p, size_t sz) {
    live[p] = sz;
    in_use += sz;
    peak_in_use = std::max(peak_in_use, in_use);
  }

  static size_t round(size_t b) {
    if (b <= (1u << 20)) return (b + 511) / 512 * 512;
    return (b + (2u << 20) - 1) / (2u << 20) * (2u << 20);
  }
  void release_cached() {
    for (auto& [sz, p] : free_blocks) {
      cudaFree(p);
      reserved -= sz;
    }
    free_blocks.clear();
  }
};
Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: blocks may be freed during static teardown
  return *c;
}
}  // namespace

void* alloc(size_t bytes) {
  static const bool have_device = device_count() > 0;
  if (!have_device)
    throw Error("a cuda tensor was asked for, but there is " + device_description() +
                "; use --device cpu or run on a machine with an NVIDIA GPU");
  Cache& c = cache();
  const size_t sz = Cache::round(bytes);
  std::lock_guard<std::mutex> lock(c.mu);
  // Best fit, but never hand a small request a block more than twice its size.
  auto it = c.free_blocks.lower_bound(sz);
  if (it != c.free_blocks.end() && it->first <= 2 * sz) {
    void* p = it->second;
    c.hand_out(p, it->first);
    c.free_blocks.erase(it);
    return p;
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, sz);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    CG_CUDA_CHECK(cudaStreamSynchronize(stream()));
    c.release_cached();
    e = cudaMalloc(&p, sz);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw Error(std::string(e == cudaErrorMemoryAllocation ? "CUDA out of memory" : "cudaMalloc failed") +
                " allocating " + std::to_string(bytes) + " bytes (" + std::to_string(c.reserved >> 20) +
                " MiB held by the framework): " + cudaGetErrorString(e));
  }
  ++c.mallocs;
  c.reserved += sz;
  c.hand_out(p, sz);
  return p;
}

void free(void* p) {
  if (!p) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.live.find(p);
  if (it == c.live.end()) return;
  c.free_blocks.emplace(it->second, p);
  c.in_use -= it->second;
  c.live.erase(it);
}

uint64_t malloc_count() { return cache().mallocs; }
size_t reserved_bytes() { return cache().reserved; }
size_t peak_bytes_in_use() { return cache().peak_in_use; }
void reset_peak_bytes_in_use() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.peak_in_use = c.in_use;
}

// ---- copies ----
void copy(void* dst, const void* src, size_t bytes) {
  if (bytes) CG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}
void copy_to_device(void* dst, const void* host_src, size_t bytes) {
  if (!bytes) return;
  CG_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream()));
  // The host buffer may be freed as soon as we return.
  CG_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_to_host(void* host_dst, const void* src, size_t bytes) {
  if (!bytes) return;
  CG_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  CG_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

// ---- fills, casts, strided copies ----
__global__ void fill_kernel(float* x, int64_t n, float v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    x[i] = v;
}

void fill(DType dt, void* x, int64_t n, double value) {
  require_f32(dt, "fill");
  if (n == 0) return;
  fill_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<float*>(x), n, static_cast<float>(value));
  CG_CUDA_LAUNCH_CHECK();
}

void cast(DType from, const void* x, DType to, void* y, int64_t n) {
  require_f32(from, "cast");
  require_f32(to, "cast");
  copy(y, x, static_cast<size_t>(n) * 4);
}

__global__ void copy_strided_kernel(const float* a, float* y, kern::Indexer ix, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, oa = 0;
    for (int d = ix.nd - 1; d >= 0; --d) {
      oa += (rem % ix.shape[d]) * ix.stride_a[d];
      rem /= ix.shape[d];
    }
    y[i] = a[oa];
  }
}

void copy_strided(DType dt, const void* a, void* y, const kern::Indexer& ix) {
  require_f32(dt, "copy_strided");
  int64_t n = 1;
  for (int d = 0; d < ix.nd; ++d) n *= ix.shape[d];
  if (n == 0) return;
  copy_strided_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<const float*>(a),
                                                                static_cast<float*>(y), ix, n);
  CG_CUDA_LAUNCH_CHECK();
}

}  // namespace cg::cuda
