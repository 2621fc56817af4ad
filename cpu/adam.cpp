// Fused Adam: one pass over each parameter instead of PyTorch's six elementwise kernels, with the
// same float operations in the same order (the compiler may still fuse a multiply-add, so results
// agree with PyTorch's to an ulp or so, not necessarily bit for bit).
#include <cmath>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {

void adam_update(DType dt, const kern::AdamTensor* ts, int count, const double* scalars, double beta1,
                 double beta2, double eps) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2), one_b1 = static_cast<T>(1 - beta1),
            one_b2 = static_cast<T>(1 - beta2), e = static_cast<T>(eps);
    for (int k = 0; k < count; ++k) {
      T* pp = static_cast<T*>(ts[k].p);
      const T* gg = static_cast<const T*>(ts[k].g);
      T* mm = static_cast<T*>(ts[k].m);
      T* vv = static_cast<T*>(ts[k].v);
      const T neg_step = static_cast<T>(-scalars[2 * k]), bc2 = static_cast<T>(scalars[2 * k + 1]);
      parallel_chunks(ts[k].n, [&](int64_t b, int64_t end) {
#pragma omp simd
        for (int64_t i = b; i < end; ++i) {
          const T gi = gg[i];
          const T mi = mm[i] * b1 + one_b1 * gi;
          const T vi = vv[i] * b2 + one_b2 * gi * gi;
          const T denom = std::sqrt(vi) / bc2 + e;
          mm[i] = mi;
          vv[i] = vi;
          pp[i] = pp[i] + neg_step * mi / denom;
        }
      });
    }
  });
}

}  // namespace cg::cpu
