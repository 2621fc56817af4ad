// Device queries, the stream, the caching allocator, copies and fills.
#include <mutex>
#include <string>

#include "backend/block_allocator.h"

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

void set_device(int index) {
  const int n = device_count();
  if (index < 0 || index >= n)
    throw Error("GPU " + std::to_string(index) + " does not exist: this machine has " + std::to_string(n) +
                " (CUDA_VISIBLE_DEVICES selects which are seen)");
  CG_CUDA_CHECK(cudaSetDevice(index));
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
// The policy is backend/block_allocator.h (size classes, best fit, splitting, private pools for
// graph capture), tested on the CPU; here it gets its segments from cudaMalloc. All work runs on one
// stream, so a block freed by the host can be handed out again at once: kernels that used it are
// ordered before any kernel that reuses it.
namespace {
class CudaSegments : public alloc::SegmentSource {
 public:
  void* malloc(size_t bytes) override {
    // cudaMalloc is not a stream operation, so graph capture would refuse it; a segment made while
    // capturing belongs to the graph's private pool and outlives every replay, which is safe.
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    CG_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    CG_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    if (e != cudaSuccess) fail("cudaMalloc", e, __FILE__, __LINE__);
    return p;
  }
  void free(void* p) override { cudaFree(p); }
};
struct Cache {
  std::mutex mu;
  CudaSegments dev;
  alloc::BlockAllocator blocks{dev};
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
  std::lock_guard<std::mutex> lock(c.mu);
  void* p = c.blocks.allocate(bytes);
  if (!p)
    throw Error("CUDA out of memory allocating " + std::to_string(bytes) + " bytes (" +
                std::to_string(c.blocks.stats().reserved >> 20) + " MiB held by the framework, " +
                std::to_string(c.blocks.stats().in_use >> 20) + " MiB of it in use)");
  return p;
}

void free(void* p) {
  if (!p) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.blocks.deallocate(p);
}

uint64_t malloc_count() { return cache().blocks.stats().device_mallocs; }
size_t reserved_bytes() { return cache().blocks.stats().reserved; }
size_t peak_bytes_in_use() { return cache().blocks.stats().peak_in_use; }
void reset_peak_bytes_in_use() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.blocks.reset_peak();
}

int new_memory_pool() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.blocks.new_pool();
}
void set_memory_pool(int id) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.blocks.set_active_pool(id);
}
void release_memory_pool(int id) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.blocks.release_pool(id);
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
void upload(void* dst, const void* host_src, size_t bytes) {
  // From pageable memory the runtime stages the bytes before returning, so the host buffer may be
  // reused at once; the copy itself is ordered with the stream's work (no synchronisation).
  if (bytes) CG_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream()));
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
