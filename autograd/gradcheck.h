// Finite-difference check of backward rules, in float64 as PyTorch's gradcheck.
//
// f maps the inputs to one tensor y. With a fixed random v the scalar L = sum(y * v) is formed; its
// gradient by backward() is compared, element by element, with the central difference
// (L(x + eps) - L(x - eps)) / (2 eps). A random v checks the whole vector-Jacobian product (a
// wrong rule would have to be orthogonal to v to hide, which a random v makes vanishingly unlikely).
//
// Kinks (relu and abs at 0, ...): the central difference straddles a kink if an input lies within
// eps of it and then measures the average slope, not either one-sided derivative. Tests therefore
// place inputs at least 10 * eps away from kinks; the convention at exactly 0 (derivative 0, as
// PyTorch) is tested separately.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cg {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  uint64_t seed = 1234;  // for v
};

struct GradcheckResult {
  bool ok = true;
  int64_t checked = 0;  // input elements compared
  double worst = 0;     // worst |analytic - numeric| / (atol + rtol |numeric|); ok iff <= 1
  std::string report;   // where the worst element is, with both values
};

// Inputs must be float64 CPU tensors. Those with requires_grad set are checked; others are held
// constant. The caller's tensors are not modified.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opt = {});

}  // namespace cg
