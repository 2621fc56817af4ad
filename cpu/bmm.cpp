// Batched GEMM on the packed GEMM of cpu/gemm.h: a transposed operand is only a change of strides.
// Many small products (PatchNCE's 256 dot products of a patch with its positive) are split over
// threads by batch instead of inside the GEMM.
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {

void batched_gemm(DType dt, const void* a, const void* b, void* c, int64_t batch, int64_t M, int64_t N,
                  int64_t K, bool trans_a, bool trans_b) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    const T* pa = static_cast<const T*>(a);
    const T* pb = static_cast<const T*>(b);
    T* pc = static_cast<T*>(c);
    // op(a)(i, k) = a[i K + k], or a[k M + i] stored transposed; likewise op(b)(k, j)
    const MatView<T> A0{pa, trans_a ? 1 : K, trans_a ? M : 1}, B0{pb, trans_b ? 1 : N, trans_b ? K : 1};
    // Products of at most 32^3 multiply-adds (PatchNCE's positives: 1 x 256 by 256 x 1) cost the
    // packed GEMM more in packing than in arithmetic: a plain loop serves them.
    const bool tiny = M * N * K <= 32768;
    auto one = [&](int64_t i) {
      MatView<T> A = A0, B = B0;
      A.p += i * M * K;
      B.p += i * K * N;
      T* C = pc + i * M * N;
      if (!tiny) return gemm(M, N, K, A, B, C, N, false);
      for (int64_t r = 0; r < M; ++r)
        for (int64_t j = 0; j < N; ++j) {
          T acc = 0;
          for (int64_t k = 0; k < K; ++k) acc += A.p[r * A.rs + k * A.cs] * B.p[k * B.rs + j * B.cs];
          C[r * N + j] = acc;
        }
    };
    // gemm splits one product over threads itself from about 2e6 flops (cpu/gemm.cpp); smaller
    // ones are split by batch
    const bool split_batch = batch > 1 && 2.0 * M * N * K < 2e6 && batch * M * N * K > kParallelGrain;
#pragma omp parallel for schedule(static) if (split_batch)
    for (int64_t i = 0; i < batch; ++i) one(i);
  });
}

}  // namespace cg::cpu
