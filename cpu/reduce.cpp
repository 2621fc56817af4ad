// Sum over any set of dims. Each output is split into fixed-size chunks of its reduction range and
// the chunk partials are added in order, so the result does not depend on the thread count.
#include <vector>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {
namespace {

constexpr int64_t kChunk = 1 << 14;  // reduction elements per work item

template <class T>
void reduce_sum_t(const T* x, T* y, const kern::Indexer& ix) {
  // Split the dims into kept (stride_b != 0) and reduced (stride_b == 0, size > 1) ones.
  int nk = 0, nr = 0;
  int64_t kshape[kern::kMaxDims], kstride[kern::kMaxDims];
  kern::Indexer red;  // the reduced sub-space, walked with stride_a = x's strides
  for (int d = 0; d < ix.nd; ++d) {
    if (ix.shape[d] == 1) continue;
    if (ix.stride_b[d] != 0) {
      kshape[nk] = ix.shape[d];
      kstride[nk++] = ix.stride_a[d];
    } else {
      red.shape[nr] = ix.shape[d];
      red.stride_a[nr++] = ix.stride_a[d];
    }
  }
  red.nd = nr;
  int64_t nout = 1, rlen = 1;
  for (int d = 0; d < nk; ++d) nout *= kshape[d];
  for (int d = 0; d < nr; ++d) rlen *= red.shape[d];
  const int64_t nchunk = (rlen + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(nout * nchunk));  // (nout, nchunk)

  const int64_t items = nout * nchunk;
#pragma omp parallel for schedule(static) if (items > 1 && nout * rlen >= kParallelGrain)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t j = it / nchunk, c = it % nchunk;
    int64_t base = 0, rem = j;
    for (int d = nk - 1; d >= 0; --d) {
      base += (rem % kshape[d]) * kstride[d];
      rem /= kshape[d];
    }
    double acc = 0;
    walk_runs(red, c * kChunk, std::min(rlen, (c + 1) * kChunk),
              [&](int64_t, int64_t oa, int64_t, int64_t len, int64_t sa, int64_t) {
                const T* p = x + base + oa;
                if (sa == 1) {
#pragma omp simd reduction(+ : acc)
                  for (int64_t k = 0; k < len; ++k) acc += p[k];
                } else {
                  for (int64_t k = 0; k < len; ++k) acc += p[k * sa];
                }
              });
    partial[static_cast<size_t>(it)] = acc;
  }
  for (int64_t j = 0; j < nout; ++j) {
    double acc = 0;
    for (int64_t c = 0; c < nchunk; ++c) acc += partial[static_cast<size_t>(j * nchunk + c)];
    y[j] = static_cast<T>(acc);
  }
}

}  // namespace

void reduce_sum(DType dt, const void* x, void* y, const kern::Indexer& ix) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    reduce_sum_t<T>(static_cast<const T*>(x), static_cast<T*>(y), ix);
  });
}

}  // namespace cg::cpu
