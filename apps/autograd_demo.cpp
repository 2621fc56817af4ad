// A first look at the framework: fit y = tanh(w * x + b) to noisy data by gradient descent,
// printing the tape of one step and the loss as it falls. Every gradient comes from backward().
#include <cstdio>
#include <iostream>

#include "ops/ops.h"

using namespace cg;

int main() {
  manual_seed(0);
  // Data: 256 points from the true curve tanh(1.7 x - 0.4), plus a little noise.
  const Tensor x = Tensor::rand({256}) * 4.0 - 2.0;                    // (256)
  const Tensor y = tanh(x * 1.7 - 0.4) + Tensor::randn({256}) * 0.05;  // (256)

  Tensor w = Tensor::zeros({1}).set_requires_grad();  // (1), broadcast over the 256 points
  Tensor b = Tensor::zeros({1}).set_requires_grad();  // (1)
  const double lr = 0.5;

  std::printf("Fitting y = tanh(w*x + b) to 256 noisy points of tanh(1.7x - 0.4)\n\n");
  for (int step = 0; step <= 200; ++step) {
    Tensor pred = tanh(x * w + b);
    Tensor loss = mse_loss(pred, y);
    if (step == 0) {
      std::printf("The tape of one step, newest record first (backward walks it in this order):\n%s\n",
                  tape_string(loss).c_str());
    }
    loss.backward();
    if (step % 25 == 0)
      std::printf("step %3d  loss %.6f  w %+.4f  b %+.4f  dloss/dw %+.5f\n", step, loss.item(), w.item(),
                  b.item(), w.grad().item());
    {
      NoGradGuard no_grad;  // the update itself is not part of any graph
      axpy_(w, -lr, w.grad());
      axpy_(b, -lr, b.grad());
    }
    w.zero_grad();
    b.zero_grad();
  }
  std::printf("\nlearned w = %.3f, b = %.3f (true: 1.700, -0.400)\n", w.item(), b.item());
  return 0;
}
