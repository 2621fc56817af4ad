// Losses composed from elementwise ops and mean: their gradients come from those ops' rules.
#include "ops/loss.h"

#include "autograd/tape.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace cg {

static void check_loss_shapes(const char* op, const Tensor& pred, const Tensor& target) {
  if (pred.shape() != target.shape())
    throw Error(std::string(op) + ": prediction " + pred.describe() + " and target " + target.describe() +
                " differ in shape");
}

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  check_loss_shapes("mse_loss", pred, target);
  return mean(square(pred - target));
}

Tensor l1_loss(const Tensor& pred, const Tensor& target) {
  check_loss_shapes("l1_loss", pred, target);
  return mean(abs(pred - target));
}

Tensor bce_with_logits(const Tensor& x, const Tensor& target) {
  check_loss_shapes("bce_with_logits", x, target);
  Tensor loss;
  {
    NoGradGuard forward_only;  // recorded once below, with the exact rule
    loss = mean(relu(x) - x * target + log(exp(-abs(x)) + 1.0));
  }
  const double n = static_cast<double>(x.numel());
  record(
      "bce_with_logits", {x, target}, loss,
      [xs = Saved(x, "bce_with_logits"), ts = Saved(target, "bce_with_logits"), n](const Tensor& dy,
                                                                                   const Need& need) {
        const Tensor& xv = xs.get();
        const Tensor scale = dy * (1.0 / n);  // dy is a scalar: broadcast it
        return Grads{need[0] ? (sigmoid(xv) - ts.get()) * scale : Tensor(), need[1] ? -xv * scale : Tensor()};
      });
  return loss;
}

}  // namespace cg
