#include "ops/softmax.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "ops/linear.h"
#include "ops/reduce.h"

namespace cg {

// ---- log_softmax: dx = dy - exp(y) sum(dy) per row ----
Tensor log_softmax(const Tensor& x) {
  if (x.ndim() < 1 || x.size(-1) == 0)
    throw Error("log_softmax: needs a last dim with at least one value, got " + x.describe());
  const int64_t cols = x.size(-1), rows = x.numel() / cols;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());  // (rows, cols)
  if (rows > 0) CG_KERNEL(x.device(), log_softmax_forward, x.dtype(), x.raw(), y.raw(), rows, cols);
  // the rule keeps the output: its values are what the gradient needs (exp(y) = softmax)
  record("log_softmax", {x}, y, [ys = Saved(y, "log_softmax"), rows, cols](const Tensor& dy, const Need&) {
    Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());  // (rows, cols)
    if (rows > 0)
      CG_KERNEL(dy.device(), log_softmax_backward, dy.dtype(), dy.raw(), ys.get().raw(), dx.raw(), rows,
                cols);
    return Grads{dx};
  });
  return y;
}

// ---- cross_entropy_rows: dx = dloss (softmax(x) - onehot(target)) per row ----
Tensor cross_entropy_rows(const Tensor& x, const Tensor& target) {
  if (x.ndim() != 2 || target.ndim() != 1 || target.size(0) != x.size(0) || x.size(1) == 0)
    throw Error("cross_entropy: expected logits (N, C) with C >= 1 and targets (N), got " + x.describe() +
                " and " + target.describe());
  if (target.dtype() != x.dtype() || target.device() != x.device())
    throw Error("cross_entropy: targets " + target.describe() +
                " must have the dtype and device of the logits " + x.describe());
  const int64_t rows = x.size(0), cols = x.size(1);
  detail::check_index("cross_entropy", target, cols, "classes");
  Tensor loss = Tensor::empty({rows}, x.dtype(), x.device());  // (N)
  Tensor lse = Tensor::empty({rows}, x.dtype(), x.device());   // (N) log(sum(exp(x))) per row
  if (rows > 0)
    CG_KERNEL(x.device(), cross_entropy_forward, x.dtype(), x.raw(), target.raw(), loss.raw(), lse.raw(),
              rows, cols);
  record("cross_entropy", {x}, loss,
         [xs = Saved(x, "cross_entropy"), ts = Saved(target, "cross_entropy"), lse, rows, cols](
             const Tensor& dl, const Need&) {
           const Tensor& xv = xs.get();
           Tensor dx = Tensor::empty(xv.shape(), dl.dtype(), dl.device());  // (N, C)
           if (rows > 0)
             CG_KERNEL(dl.device(), cross_entropy_backward, dl.dtype(), dl.raw(), xv.raw(), lse.raw(),
                       ts.get().raw(), dx.raw(), rows, cols);
           return Grads{dx};
         });
  return loss;
}

Tensor cross_entropy(const Tensor& x, const Tensor& target) { return mean(cross_entropy_rows(x, target)); }

}  // namespace cg
