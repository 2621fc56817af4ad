// Elementwise maps. The op switch sits outside the loops so each loop body is one expression the
// compiler can vectorise.
#include <cmath>

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

template <class T>
void unary_t(kern::Unary op, T alpha, const T* x, T* y, int64_t n) {
  using U = kern::Unary;
  switch (op) {
    case U::Neg:
      return map1(x, y, n, [](T v) { return -v; });
    case U::Abs:
      return map1(x, y, n, [](T v) { return std::abs(v); });
    case U::Square:
      return map1(x, y, n, [](T v) { return v * v; });
    case U::Sqrt:
      return map1(x, y, n, [](T v) { return std::sqrt(v); });
    case U::Exp:
      return map1(x, y, n, [](T v) { return std::exp(v); });
    case U::Log:
      return map1(x, y, n, [](T v) { return std::log(v); });
    case U::Relu:
      return map1(x, y, n, [](T v) { return v > T(0) ? v : T(0); });
    case U::LeakyRelu:
      return map1(x, y, n, [=](T v) { return v > T(0) ? v : alpha * v; });
    case U::Tanh:
      return map1(x, y, n, [](T v) { return std::tanh(v); });
    case U::Sigmoid:
      return map1(x, y, n, [](T v) { return T(1) / (T(1) + std::exp(-v)); });
    case U::AddScalar:
      return map1(x, y, n, [=](T v) { return v + alpha; });
    case U::MulScalar:
      return map1(x, y, n, [=](T v) { return v * alpha; });
  }
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

template <class T>
void binary_t(kern::Binary op, T alpha, const T* a, const T* b, T* z, const kern::Indexer& ix) {
  using B = kern::Binary;
  switch (op) {
    case B::Add:
      return map2(a, b, z, ix, [](T u, T v) { return u + v; });
    case B::Sub:
      return map2(a, b, z, ix, [](T u, T v) { return u - v; });
    case B::Mul:
      return map2(a, b, z, ix, [](T u, T v) { return u * v; });
    case B::Div:
      return map2(a, b, z, ix, [](T u, T v) { return u / v; });
    // Kinks: the derivative at exactly 0 is taken as 0 for relu and abs, as PyTorch does.
    case B::ReluGrad:
      return map2(a, b, z, ix, [](T g, T x) { return x > T(0) ? g : T(0); });
    case B::LeakyReluGrad:
      return map2(a, b, z, ix, [=](T g, T x) { return x > T(0) ? g : alpha * g; });
    case B::AbsGrad:
      return map2(a, b, z, ix, [](T g, T x) { return x > T(0) ? g : (x < T(0) ? -g : T(0)); });
    case B::TanhGrad:
      return map2(a, b, z, ix, [](T g, T y) { return g * (T(1) - y * y); });
    case B::SigmoidGrad:
      return map2(a, b, z, ix, [](T g, T y) { return g * y * (T(1) - y); });
  }
}

}  // namespace

void unary(kern::Unary op, double alpha, DType dt, const void* x, void* y, int64_t n) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    unary_t<T>(op, static_cast<T>(alpha), static_cast<const T*>(x), static_cast<T*>(y), n);
  });
}

void binary(kern::Binary op, double alpha, DType dt, const void* a, const void* b, void* z,
            const kern::Indexer& ix) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    binary_t<T>(op, static_cast<T>(alpha), static_cast<const T*>(a), static_cast<const T*>(b),
                static_cast<T*>(z), ix);
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
