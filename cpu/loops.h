// Helpers shared by the CPU kernels: dtype switch, parallel thresholds, and the strided walk that
// binary ops, broadcasting copies and reductions all use. Internal to cpu/.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "backend/types.h"

namespace cg::cpu {

// Below this many elements a parallel region costs more than it saves.
inline constexpr int64_t kParallelGrain = 1 << 15;

// Calls f(T{}) with T = float or double according to dt.
template <class F>
void with_dtype(DType dt, F&& f) {
  if (dt == DType::F32)
    f(float{});
  else
    f(double{});
}

// Row-major strides of a contiguous shape.
inline void contiguous_strides(int nd, const int64_t* shape, int64_t* strides) {
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; --d) {
    strides[d] = s;
    s *= shape[d];
  }
}

inline int64_t numel_of(const kern::Indexer& ix) {
  int64_t n = 1;
  for (int d = 0; d < ix.nd; ++d) n *= ix.shape[d];
  return n;
}

// Visits the flat output range [begin, end) of ix.shape in runs along the last dim:
// run(out_flat, offset_a, offset_b, len, step_a, step_b). One run never crosses a row.
template <class Run>
void walk_runs(const kern::Indexer& ix, int64_t begin, int64_t end, Run&& run) {
  if (begin >= end) return;
  const int nd = ix.nd;
  if (nd == 0) {
    run(begin, int64_t{0}, int64_t{0}, end - begin, int64_t{0}, int64_t{0});
    return;
  }
  int64_t idx[kern::kMaxDims];
  int64_t oa = 0, ob = 0, rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % ix.shape[d];
    rem /= ix.shape[d];
    oa += idx[d] * ix.stride_a[d];
    ob += idx[d] * ix.stride_b[d];
  }
  const int64_t last = ix.shape[nd - 1];
  int64_t i = begin;
  while (i < end) {
    const int64_t len = std::min(last - idx[nd - 1], end - i);
    run(i, oa, ob, len, ix.stride_a[nd - 1], ix.stride_b[nd - 1]);
    i += len;
    oa += len * ix.stride_a[nd - 1];
    ob += len * ix.stride_b[nd - 1];
    idx[nd - 1] += len;
    // carry into the outer dims
    for (int d = nd - 1; d > 0 && idx[d] == ix.shape[d]; --d) {
      oa -= idx[d] * ix.stride_a[d];
      ob -= idx[d] * ix.stride_b[d];
      idx[d] = 0;
      ++idx[d - 1];
      oa += ix.stride_a[d - 1];
      ob += ix.stride_b[d - 1];
    }
  }
}

// Splits [0, n) into equal static chunks over the OpenMP team and calls f(begin, end) per chunk.
template <class F>
void parallel_chunks(int64_t n, F&& f) {
  if (n < kParallelGrain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t b = std::min(n, t * chunk), e = std::min(n, b + chunk);
    f(b, e);
  }
}

}  // namespace cg::cpu
