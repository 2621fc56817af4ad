// Elementwise maps: the rows of backend/elementwise_table.h. The row is chosen outside the loops
// (kern::visit_*), so each loop body is one expression the compiler can vectorise.
#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {
namespace {

template <class T, class F>
void map1(const T* x, T* y, int64_t n, F f) {
  parallel_chunks(n, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

template <class T, class F>
void map1_with(const T* g, const T* k, T* dx, int64_t n, F f) {
  parallel_chunks(n, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) dx[i] = f(g[i], k[i]);
  });
}

// One binary map applied over a run: z[o+k] = f(a[oa+k*sa], b[ob+k*sb]).
template <class T, class F>
void map2(const T* a, const T* b, T* z, const kern::Indexer& ix, F f) {
  const int64_t n = numel_of(ix);
  // Fast path: both inputs contiguous with the output (the common same-shape case).
  bool flat = true;
  int64_t cs[kern::kMaxDims];
  contiguous_strides(ix.nd, ix.shape, cs);
  for (int d = 0; d < ix.nd; ++d)
    if (ix.shape[d] != 1 && (ix.stride_a[d] != cs[d] || ix.stride_b[d] != cs[d])) flat = false;
  if (flat) {
    parallel_chunks(n, [&](int64_t s, int64_t e) {
#pragma omp simd
      for (int64_t i = s; i < e; ++i) z[i] = f(a[i], b[i]);
    });
    return;
  }
  parallel_chunks(n, [&](int64_t s, int64_t e) {
    walk_runs(ix, s, e, [&](int64_t o, int64_t oa, int64_t ob, int64_t len, int64_t sa, int64_t sb) {
      if (sa == 1 && sb == 0) {  // per-channel / per-row broadcast of b
        const T bv = b[ob];
#pragma omp simd
        for (int64_t k = 0; k < len; ++k) z[o + k] = f(a[oa + k], bv);
      } else {
        for (int64_t k = 0; k < len; ++k) z[o + k] = f(a[oa + k * sa], b[ob + k * sb]);
      }
    });
  });
}

}  // namespace

void unary(kern::Unary op, double alpha, DType dt, const void* x, void* y, int64_t n) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    const T a = static_cast<T>(alpha);
    kern::visit_unary(op, [&](auto row) {
      using Op = decltype(row);
      map1(static_cast<const T*>(x), static_cast<T*>(y), n, [=](T v) { return Op::f(v, a); });
    });
  });
}

void unary_backward(kern::Unary op, double alpha, DType dt, const void* dy, const void* kept, void* dx,
                    int64_t n) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    const T a = static_cast<T>(alpha);
    kern::visit_unary(op, [&](auto row) {
      using Op = decltype(row);
      map1_with(static_cast<const T*>(dy), static_cast<const T*>(kept), static_cast<T*>(dx), n,
                [=](T g, T k) { return Op::df(g, k, a); });
    });
  });
}

void binary(kern::Binary op, DType dt, const void* a, const void* b, void* z, const kern::Indexer& ix) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    kern::visit_binary(op, [&](auto row) {
      using Op = decltype(row);
      map2(static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(z), ix,
           [](T u, T v) { return Op::f(u, v); });
    });
  });
}

void axpy(DType dt, double alpha, const void* x, void* y, int64_t n) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    const T* px = static_cast<const T*>(x);
    T* py = static_cast<T*>(y);
    const T a = static_cast<T>(alpha);
    parallel_chunks(n, [&](int64_t b, int64_t e) {
#pragma omp simd
      for (int64_t i = b; i < e; ++i) py[i] += a * px[i];
    });
  });
}

}  // namespace cg::cpu
