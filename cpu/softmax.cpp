// Log-softmax and cross-entropy over rows: one row per OpenMP task, sums of exponentials in double
// after subtracting the row's maximum (so no exp overflows).
#include <algorithm>
#include <cmath>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {
namespace {

// max and log(sum(exp(x - max))) of one row.
template <class T>
void row_stats(const T* x, int64_t cols, double* max, double* log_sum) {
  const T m = *std::max_element(x, x + cols);
  double s = 0;
  for (int64_t j = 0; j < cols; ++j) s += std::exp(static_cast<double>(x[j]) - m);
  *max = m;
  *log_sum = std::log(s);
}

template <class T>
void log_softmax_fwd(const T* x, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    double m, ls;
    row_stats(xr, cols, &m, &ls);
    for (int64_t j = 0; j < cols; ++j) yr[j] = static_cast<T>(static_cast<double>(xr[j]) - m - ls);
  }
}

template <class T>
void log_softmax_bwd(const T* dy, const T* y, T* dx, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T *g = dy + r * cols, *yr = y + r * cols;
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += g[j];
    for (int64_t j = 0; j < cols; ++j)
      dx[r * cols + j] = static_cast<T>(g[j] - std::exp(static_cast<double>(yr[j])) * s);
  }
}

template <class T>
void ce_fwd(const T* x, const T* target, T* loss, T* lse, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    double m, ls;
    row_stats(xr, cols, &m, &ls);
    const int64_t t = static_cast<int64_t>(target[r]);
    loss[r] = static_cast<T>(-(static_cast<double>(xr[t]) - m - ls));
    lse[r] = static_cast<T>(m + ls);
  }
}

template <class T>
void ce_bwd(const T* dloss, const T* x, const T* lse, const T* target, T* dx, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* dr = dx + r * cols;
    const double g = dloss[r], l = lse[r];
    const int64_t t = static_cast<int64_t>(target[r]);
    for (int64_t j = 0; j < cols; ++j)
      dr[j] = static_cast<T>(g * (std::exp(static_cast<double>(xr[j]) - l) - (j == t ? 1.0 : 0.0)));
  }
}

}  // namespace

void log_softmax_forward(DType dt, const void* x, void* y, int64_t rows, int64_t cols) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    log_softmax_fwd(static_cast<const T*>(x), static_cast<T*>(y), rows, cols);
  });
}

void log_softmax_backward(DType dt, const void* dy, const void* y, void* dx, int64_t rows, int64_t cols) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    log_softmax_bwd(static_cast<const T*>(dy), static_cast<const T*>(y), static_cast<T*>(dx), rows, cols);
  });
}

void cross_entropy_forward(DType dt, const void* x, const void* target, void* loss, void* lse, int64_t rows,
                           int64_t cols) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    ce_fwd(static_cast<const T*>(x), static_cast<const T*>(target), static_cast<T*>(loss),
           static_cast<T*>(lse), rows, cols);
  });
}

void cross_entropy_backward(DType dt, const void* dloss, const void* x, const void* lse, const void* target,
                            void* dx, int64_t rows, int64_t cols) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    ce_bwd(static_cast<const T*>(dloss), static_cast<const T*>(x), static_cast<const T*>(lse),
           static_cast<const T*>(target), static_cast<T*>(dx), rows, cols);
  });
}

}  // namespace cg::cpu
