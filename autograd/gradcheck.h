// Finite-difference check of backward rules, in float64 as PyTorch's gradcheck.
//
// f maps the inputs to one tensor y. With one fixed random v (a number per element of y) the scalar
// L = sum(y * v) is formed. One backward() gives dL/dx = v^T J, a number per input element, and each
// of those numbers is compared with its own central difference (L(x + eps e_i) - L(x - eps e_i)) /
// (2 eps): two evaluations of f per input element. So every element of v^T J is checked. That is
// stricter than PyTorch's gradcheck(fast_mode=True), which compares the single number v^T J u for a
// second random vector u (two evaluations of f per input), and weaker than its default mode, which
// builds the whole J (an error in J orthogonal to v would pass here, which a random v makes
// vanishingly unlikely). See "Gradcheck mechanics" in PyTorch's documentation (notes/gradcheck).
//
// Kinks (relu and abs at 0, ...): the central difference straddles a kink if an input lies within
// eps of it and then measures the average slope, not either one-sided derivative. Tests therefore
// place inputs at least 10 * eps away from kinks; the convention at exactly 0 (derivative 0, as
// PyTorch) is tested separately.
#pragma once

#include <functional>
#include <iosfwd>
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
  std::string report;   // passed or FAILED, how many elements, the worst one with both values
};

// Prints the report: `std::cout << gradcheck(...) << "\n";` (gradcheck itself prints nothing).
std::ostream& operator<<(std::ostream& os, const GradcheckResult& r);

// Inputs must be float64 CPU tensors. Those with requires_grad set are checked; others are held
// constant. The caller's tensors are not modified.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opt = {});

}  // namespace cg
