#include "models/networks/gan_loss.h"

#include "ops/ops.h"

namespace cg::models {

GANLoss::GANLoss(std::string mode) : mode_(std::move(mode)) {
  if (mode_ != "lsgan" && mode_ != "vanilla" && mode_ != "wgangp")
    throw Error("--gan_mode '" + mode_ + "': gan mode '" + mode_ +
                "' not implemented (expected lsgan, vanilla or wgangp)");
}

Tensor GANLoss::operator()(const Tensor& prediction, bool target_is_real) const {
  if (mode_ == "wgangp") return target_is_real ? -mean(prediction) : mean(prediction);
  const Tensor target =
      Tensor::full(prediction.shape(), target_is_real ? 1.0 : 0.0, prediction.dtype(), prediction.device());
  return mode_ == "lsgan" ? mse_loss(prediction, target) : bce_with_logits(prediction, target);
}

}  // namespace cg::models
