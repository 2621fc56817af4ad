// Host memory: aligned allocation, copies, fills and dtype casts.
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {

// ---- the caching allocator for large blocks ----
// A training step allocates and frees the same large activations every iteration. Fresh large
// blocks come from mmap, and the kernel zeroes every new page on first touch: that was 15% of a
// CPU training step. So large blocks are kept when freed and handed out again (best fit, never more
// than twice the size asked for). Small blocks go straight to malloc, which caches them itself.
namespace {
constexpr size_t kLargeBlock = size_t(1) << 16;  // 64 KiB: below glibc's smallest mmap threshold
constexpr size_t kHugePage = size_t(1) << 21;    // 2 MiB

struct HostCache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // size -> block
  std::unordered_map<void*, size_t> live;    // large blocks handed out -> size
  size_t cached_bytes = 0;
  uint64_t system_allocs = 0;  // large blocks ever taken from the system
};
HostCache& host_cache() {
  static HostCache* c = new HostCache;  // never destroyed: tensors may be freed during static teardown
  return *c;
}
void* raw_alloc(size_t rounded, size_t bytes) {
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error("cpu::alloc: out of host memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}
}  // namespace

void* alloc(size_t bytes) {
  // 64-byte alignment = one AVX-512 register / one cache line, so kernels may use aligned loads.
  const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  if (rounded < kLargeBlock) return raw_alloc(rounded, bytes);
  const size_t size = (rounded + 4095) / 4096 * 4096;
  HostCache& c = host_cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.lower_bound(size);
    if (it != c.free_blocks.end() && it->first <= 2 * size) {
      void* p = it->second;
      c.live[p] = it->first;
      c.cached_bytes -= it->first;
      c.free_blocks.erase(it);
      return p;
    }
  }
  // Blocks of 8 MiB and more (the big activations) are 2 MiB aligned, rounded up to 2 MiB (at most
  // 25% more) and asked to be backed by huge pages: 512x fewer page faults and TLB entries
  // (Linux transparent huge pages; only a hint).
  const bool huge = size >= kHugePage;
  const size_t bytes_asked = huge ? (size + kHugePage - 1) / kHugePage * kHugePage : size;
  void* p = std::aligned_alloc(huge ? kHugePage : 64, bytes_asked);
  if (p && huge) madvise(p, bytes_asked, MADV_HUGEPAGE);
  if (!p) {  // give the cache back to the system and try once more
    release_cached();
    p = raw_alloc(size, bytes);
  }
  std::lock_guard<std::mutex> lock(c.mu);
  c.live[p] = huge ? bytes_asked : size;
  ++c.system_allocs;
  return p;
}

uint64_t large_system_allocs() {
  HostCache& c = host_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.system_allocs;
}

void free(void* p) {
  if (!p) return;
  HostCache& c = host_cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.live.find(p);
    if (it != c.live.end()) {
      c.free_blocks.emplace(it->second, p);
      c.cached_bytes += it->second;
      c.live.erase(it);
      return;
    }
  }
  std::free(p);
}

void release_cached() {
  HostCache& c = host_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, p] : c.free_blocks) std::free(p);
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

size_t cached_bytes() {
  HostCache& c = host_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached_bytes;
}

void copy(void* dst, const void* src, size_t bytes) {
  // Large copies are split over the threads: one core's copy does not saturate the memory system.
  const int64_t lines = static_cast<int64_t>(bytes / 64);  // whole cache lines; the last chunk takes the rest
  parallel_chunks(lines, [&](int64_t b, int64_t e) {
    const size_t from = static_cast<size_t>(b) * 64, to = e == lines ? bytes : static_cast<size_t>(e) * 64;
    std::memcpy(static_cast<char*>(dst) + from, static_cast<const char*>(src) + from, to - from);
  });
}

void upload(void* dst, const void* host_src, size_t bytes) { copy(dst, host_src, bytes); }

void fill(DType dt, void* x, int64_t n, double value) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    T* p = static_cast<T*>(x);
    const T v = static_cast<T>(value);
    parallel_chunks(n, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
  });
}

void cast(DType from, const void* x, DType to, void* y, int64_t n) {
  if (from == to) {
    copy(y, x, static_cast<size_t>(n) * dtype_size(from));
    return;
  }
  if (from == DType::F32) {
    const float* a = static_cast<const float*>(x);
    double* b = static_cast<double*>(y);
    for (int64_t i = 0; i < n; ++i) b[i] = a[i];
  } else {
    const double* a = static_cast<const double*>(x);
    float* b = static_cast<float*>(y);
    for (int64_t i = 0; i < n; ++i) b[i] = static_cast<float>(a[i]);
  }
}

void copy_strided(DType dt, const void* a, void* y, const kern::Indexer& ix) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    const T* pa = static_cast<const T*>(a);
    T* py = static_cast<T*>(y);
    parallel_chunks(numel_of(ix), [&](int64_t b, int64_t e) {
      walk_runs(ix, b, e, [&](int64_t o, int64_t oa, int64_t, int64_t len, int64_t sa, int64_t) {
        for (int64_t k = 0; k < len; ++k) py[o + k] = pa[oa + k * sa];
      });
    });
  });
}

}  // namespace cg::cpu
