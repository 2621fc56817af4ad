// Losses composed from elementwise ops and mean: their gradients come from those ops' rules.
#include "ops/loss.h"

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

}  // namespace cg
