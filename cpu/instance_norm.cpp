// Instance normalisation without affine parameters or running statistics (CycleGAN's
// InstanceNorm2d): each (n, c) plane is normalised by its own mean and biased variance.
// Statistics accumulate in double, so float32 planes of 65536 values lose nothing to rounding.
// The (leaky) ReLU that follows every instance norm in CycleGAN can be fused in: one pass fewer
// each way, and the activation's output need not be kept for backward.
#include <cmath>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {
namespace {

template <class T>
void in_forward(const T* x, T* y, T* rstd, int64_t NC, int64_t HW, double eps, bool act, T slope, T* out) {
#pragma omp parallel for schedule(static) if (NC * HW > kParallelGrain)
  for (int64_t p = 0; p < NC; ++p) {
    const T* xp = x + p * HW;
    T* yp = y + p * HW;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < HW; ++i) s += xp[i];
    const double mean = s / static_cast<double>(HW);
    double v = 0;  // two passes: no cancellation when the mean is large
#pragma omp simd reduction(+ : v)
    for (int64_t i = 0; i < HW; ++i) v += (xp[i] - mean) * (xp[i] - mean);
    const double r = 1.0 / std::sqrt(v / static_cast<double>(HW) + eps);
    const T m = static_cast<T>(mean), rt = static_cast<T>(r);
    if (act) {
      T* op = out + p * HW;
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i) {
        const T v = (xp[i] - m) * rt;
        yp[i] = v;
        op[i] = kern::op::LeakyRelu::f(v, slope);  // relu for slope 0
      }
    } else {
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i) yp[i] = (xp[i] - m) * rt;
    }
    rstd[p] = rt;
  }
}

template <class T>
void in_backward(const T* dy, const T* y, const T* rstd, T* dx, int64_t NC, int64_t HW, bool act, T slope) {
#pragma omp parallel for schedule(static) if (NC * HW > kParallelGrain)
  for (int64_t p = 0; p < NC; ++p) {
    const T* g = dy + p * HW;
    const T* yp = y + p * HW;
    T* d = dx + p * HW;
    // g' = the gradient at y: dy, or dy through the fused activation (its slope where y <= 0).
    // The two cases are separate loops so that each vectorises.
    double sg = 0, sgy = 0;
    if (act) {
#pragma omp simd reduction(+ : sg, sgy)
      for (int64_t i = 0; i < HW; ++i) {
        const T gi = kern::op::LeakyRelu::df(g[i], yp[i], slope);
        sg += gi;
        sgy += static_cast<double>(gi) * yp[i];
      }
    } else {
#pragma omp simd reduction(+ : sg, sgy)
      for (int64_t i = 0; i < HW; ++i) {
        sg += g[i];
        sgy += static_cast<double>(g[i]) * yp[i];
      }
    }
    const T mg = static_cast<T>(sg / static_cast<double>(HW)),
            mgy = static_cast<T>(sgy / static_cast<double>(HW));
    const T r = rstd[p];
    if (act) {
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i)
        d[i] = r * (kern::op::LeakyRelu::df(g[i], yp[i], slope) - mg - yp[i] * mgy);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i) d[i] = r * (g[i] - mg - yp[i] * mgy);
    }
  }
}

}  // namespace

void instance_norm_forward(DType dt, const void* x, void* y, void* rstd, int64_t NC, int64_t HW, double eps,
                           bool act, double slope, void* out) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    in_forward(static_cast<const T*>(x), static_cast<T*>(y), static_cast<T*>(rstd), NC, HW, eps, act,
               static_cast<T>(slope), static_cast<T*>(out));
  });
}

void instance_norm_backward(DType dt, const void* dy, const void* y, const void* rstd, void* dx, int64_t NC,
                            int64_t HW, bool act, double slope) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    in_backward(static_cast<const T*>(dy), static_cast<const T*>(y), static_cast<const T*>(rstd),
                static_cast<T*>(dx), NC, HW, act, static_cast<T>(slope));
  });
}

}  // namespace cg::cpu
