// Host memory: aligned allocation, copies, fills and dtype casts.
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {

void* alloc(size_t bytes) {
  // 64-byte alignment = one AVX-512 register / one cache line, so kernels may use aligned loads.
  const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error("cpu::alloc: out of host memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}

void free(void* p) { std::free(p); }

void copy(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

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
