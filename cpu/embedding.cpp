// Embedding lookup: a gather of weight rows forward, a scatter-add of gradient rows backward.
#include <algorithm>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {
namespace {

template <class T>
void gather_rows(const T* weight, const T* index, T* out, int64_t N, int64_t D) {
  for (int64_t n = 0; n < N; ++n) {
    const T* row = weight + static_cast<int64_t>(index[n]) * D;
    std::copy(row, row + D, out + n * D);
  }
}

template <class T>
void scatter_add_rows(const T* dy, const T* index, T* dweight, int64_t N, int64_t K, int64_t D) {
  // (index_rows reads a few rows of a large feature map: zeroing the rest is most of the work)
  parallel_chunks(K * D, [&](int64_t b, int64_t e) { std::fill(dweight + b, dweight + e, T(0)); });
  // in the order of n for every row: the same sums as the GPU's one thread per (k, d)
  for (int64_t n = 0; n < N; ++n) {
    T* row = dweight + static_cast<int64_t>(index[n]) * D;
    const T* g = dy + n * D;
    for (int64_t d = 0; d < D; ++d) row[d] += g[d];
  }
}

}  // namespace

void embedding_forward(DType dt, const void* weight, const void* index, void* out, int64_t N, int64_t D) {
  if (dt == DType::F32)
    gather_rows(static_cast<const float*>(weight), static_cast<const float*>(index), static_cast<float*>(out),
                N, D);
  else
    gather_rows(static_cast<const double*>(weight), static_cast<const double*>(index),
                static_cast<double*>(out), N, D);
}

void embedding_backward(DType dt, const void* dy, const void* index, void* dweight, int64_t N, int64_t K,
                        int64_t D) {
  if (dt == DType::F32)
    scatter_add_rows(static_cast<const float*>(dy), static_cast<const float*>(index),
                     static_cast<float*>(dweight), N, K, D);
  else
    scatter_add_rows(static_cast<const double*>(dy), static_cast<const double*>(index),
                     static_cast<double*>(dweight), N, K, D);
}

}  // namespace cg::cpu
