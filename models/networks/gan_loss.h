// The official GANLoss: lsgan = MSE against a target of 1 (real) or 0 (fake) shaped like the
// prediction; vanilla = BCE-with-logits against the same targets; wgangp = -mean (real) / mean (fake).
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace cg::models {

class GANLoss {
 public:
  explicit GANLoss(std::string mode);
  Tensor operator()(const Tensor& prediction, bool target_is_real) const;
  const std::string& mode() const { return mode_; }

 private:
  std::string mode_;
};

}  // namespace cg::models
