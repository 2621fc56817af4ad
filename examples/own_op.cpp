// docs/autograd.md, "Writing an op of your own": y = x^3 as an op with its own backward rule, run
// once by hand, then checked against finite differences by gradcheck.
#include <iostream>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/tape.h"
#include "ops/ops.h"

using namespace cg;

// y = x^3, and its rule: dx = dy * 3x^2.
Tensor cube(const Tensor& x) {
  Tensor y;
  {
    NoGradGuard no_grad;  // the forward's own multiplications leave no records: cube's stands for them
    y = x * x * x;
  }
  record("cube", {x}, y, [xs = Saved(x, "cube")](const Tensor& dy, const Need& need) {
    if (!need[0]) return Grads{Tensor()};
    const Tensor& v = xs.get();  // throws if x was written in place since
    return Grads{dy * v * v * 3.0};
  });
  return y;
}

int main() {
  // By hand: d(x^3)/dx at 2 is 3 * 2^2 = 12.
  Tensor x = Tensor::from_vector(std::vector<double>{2.0}, {1}).set_requires_grad();
  Tensor y = cube(x);
  std::cout << "cube(2) = " << y.item() << ", its tape:\n" << tape_string(y);
  y.backward();
  std::cout << "x.grad() = " << x.grad().item() << ", the tape after backward:\n" << tape_string(y);

  // Against finite differences, in float64: every element of v^T J for a random v.
  Generator g(1);
  Tensor a = Tensor::randn({5}, DType::F64, Device::CPU, &g).set_requires_grad();
  GradcheckResult r = gradcheck([](const std::vector<Tensor>& v) { return cube(v[0]); }, {a});
  std::cout << r << "\n";
  return r.ok ? 0 : 1;
}
