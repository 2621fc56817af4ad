// Dropout is composed: a random keep-mask scaled by 1/(1-p), then mul, whose rule gives dx = dy * mask.
#include "ops/dropout.h"

#include "ops/elementwise.h"

namespace cg {

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  if (p < 0 || p > 1) throw Error("dropout: probability must be in [0, 1], got " + std::to_string(p));
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  Generator& g = gen ? *gen : default_generator(x.device());
  std::vector<double> mask(static_cast<size_t>(x.numel()));  // (x's shape), values 0 or 1/(1-p)
  const double scale = 1.0 / (1.0 - p);
  for (double& m : mask) m = g.uniform() < p ? 0.0 : scale;
  return x * Tensor::from_vector(mask, x.shape()).to(x.dtype()).to(x.device());
}

}  // namespace cg
