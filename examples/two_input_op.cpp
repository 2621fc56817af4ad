// docs/autograd.md, "An op with two inputs": z = x * sigmoid(g), a gate g of shape (C) on a batch x
// of shape (N, C). Two inputs make need[] matter (data wants no gradient, a frozen gate neither),
// and g, broadcast over the N rows, must get its gradient summed back to its own shape.
#include <iostream>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/tape.h"
#include "ops/ops.h"

using namespace cg;

int dx_computed = 0, dg_computed = 0;  // how often the rule did each half (to show need[] at work)

// x (N, C), g (C) -> z (N, C) = x * sigmoid(g). Rule: dx = dz s, dg = sum over rows of dz x s (1 - s).
Tensor gate(const Tensor& x, const Tensor& g) {
  Tensor s, z;
  {
    NoGradGuard no_grad;  // gate's record stands for these two ops
    s = sigmoid(g);       // (C)
    z = x * s;            // (N, C): s is read by every row
  }
  // x comes from the caller, who may write to it: Saved. s is gate's alone: a plain capture.
  const Shape gshape = g.shape();
  record("gate", {x, g}, z, [xs = Saved(x, "gate"), s, gshape](const Tensor& dz, const Need& need) {
    Tensor dx, dg;
    if (need[0]) {  // false when x is data
      dx = dz * s;  // (N, C)
      ++dx_computed;
    }
    if (need[1]) {  // false when the gate is frozen
      // every row read g: its gradient is the sum over the rows, (N, C) -> (C)
      dg = sum_to(dz * xs.get() * s * (1.0 - s), gshape);
      ++dg_computed;
    }
    return Grads{dx, dg};
  });
  return z;
}

int main() {
  Generator gen(2);
  Tensor x = Tensor::randn({3, 4}, DType::F64, Device::CPU, &gen);                   // (N, C), data
  Tensor g = Tensor::randn({4}, DType::F64, Device::CPU, &gen).set_requires_grad();  // (C), a weight
  Tensor z = gate(x, g);
  std::cout << tape_string(z);
  sum(z).backward();  // asks the rule for dg only: need = {false, true}
  std::cout << "g.grad() has shape " << shape_str(g.grad().shape()) << "; the rule computed dx "
            << dx_computed << " times and dg " << dg_computed << " times\n";

  // A seed must be of the result's shape, dtype and device: z is float64, Tensor::ones float32.
  try {
    gate(x, g).backward(Tensor::ones({3, 4}));
  } catch (const Error& e) {
    std::cout << "error: " << e.what() << "\n";
  }

  // Both inputs against finite differences.
  x.set_requires_grad();
  std::cout << gradcheck([](const std::vector<Tensor>& v) { return gate(v[0], v[1]); }, {x, g}) << "\n";
  return 0;
}
