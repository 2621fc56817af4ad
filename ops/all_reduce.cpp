#include "ops/all_reduce.h"

#include "autograd/tape.h"
#include "backend/comm.h"

namespace cg {

int world_size() { return comm::size(); }
int world_rank() { return comm::rank(); }

void all_reduce_sum_(Tensor& t) {
  if (comm::size() == 1) return;
  if (t.dtype() != DType::F32 && t.dtype() != DType::F64) throw Error("all_reduce_sum_: float tensors only");
  comm::all_reduce_sum(t.raw(), static_cast<size_t>(t.numel()), t.dtype(), t.device());
  t.bump_version();
}

void broadcast_(Tensor& t, int root) {
  if (comm::size() == 1) return;
  comm::broadcast(t.raw(), t.nbytes(), t.device(), root);
  t.bump_version();
}

Tensor all_reduce_sum(const Tensor& x) {
  Tensor y = x.detach().clone();  // x's shape
  all_reduce_sum_(y);
  record("all_reduce_sum", {x}, y, [](const Tensor& dy, const Need&) {
    Tensor dx = dy.clone();  // the gradient at y summed over ranks: every rank's loss saw x
    all_reduce_sum_(dx);
    return Grads{dx};
  });
  return y;
}

}  // namespace cg
