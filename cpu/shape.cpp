// The 2-D strided copy behind narrow and its backward.
#include <algorithm>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {

void copy_rows(DType dt, const void* src, int64_t src_ld, void* dst, int64_t dst_ld, int64_t rows,
               int64_t cols) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    const T* a = static_cast<const T*>(src);
    T* b = static_cast<T*>(dst);
#pragma omp parallel for schedule(static) if (rows * cols > kParallelGrain && rows > 1)
    for (int64_t r = 0; r < rows; ++r) std::copy(a + r * src_ld, a + r * src_ld + cols, b + r * dst_ld);
  });
}

}  // namespace cg::cpu
