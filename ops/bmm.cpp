#include "ops/bmm.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"

namespace cg {

// c (B, M, N) = op(a) op(b), written; K == 0 gives zeros without a kernel call.
static Tensor batched(const Tensor& a, const Tensor& b, int64_t B, int64_t M, int64_t N, int64_t K, bool ta,
                      bool tb) {
  if (K == 0) return Tensor::zeros({B, M, N}, a.dtype(), a.device());
  Tensor c = Tensor::empty({B, M, N}, a.dtype(), a.device());
  if (c.numel() > 0)
    CG_KERNEL(a.device(), batched_gemm, a.dtype(), a.raw(), b.raw(), c.raw(), B, M, N, K, ta, tb);
  return c;
}

// ---- bmm: da = dc b^T, db = a^T dc ----
Tensor bmm(const Tensor& a, const Tensor& b) {
  check_same_device("bmm", {&a, &b});
  check_same_dtype("bmm", {&a, &b});
  if (a.ndim() != 3 || b.ndim() != 3 || a.size(0) != b.size(0) || a.size(2) != b.size(1))
    throw Error("bmm: expected (B, M, K) and (B, K, N), got " + a.describe() + " and " + b.describe());
  const int64_t B = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
  Tensor c = batched(a, b, B, M, N, K, false, false);  // (B, M, N)
  record("bmm", {a, b}, c,
         [as = Saved(a, "bmm"), bs = Saved(b, "bmm"), B, M, N, K](const Tensor& dc, const Need& need) {
           Tensor da, db;
           if (need[0]) da = batched(dc, bs.get(), B, M, K, N, false, true);  // (B, M, K) = dc b^T
           if (need[1]) db = batched(as.get(), dc, B, K, N, M, true, false);  // (B, K, N) = a^T dc
           return Grads{da, db};
         });
  return c;
}

}  // namespace cg
