// A first look at the framework: fit y = tanh(w * x + b) to noisy data by gradient descent,
// printing the tape of one step and the loss as it falls. Every gradient comes from backward().
// With --dot FILE it writes instead the recorded graph of one residual block's loss as Graphviz
// DOT (docs/autograd.md shows it rendered).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "autograd/tape.h"
#include "ops/ops.h"

using namespace cg;

namespace {

// CycleGAN's residual block on a small input, and an L1 loss: the graph docs/autograd.md walks through.
int write_residual_block_dot(const std::string& path) {
  manual_seed(0);
  const Tensor x = Tensor::randn({1, 2, 6, 6});                               // (N, C, H, W) input
  const Tensor w1 = (Tensor::randn({2, 2, 3, 3}) * 0.3).set_requires_grad();  // (C_out, C_in, 3, 3)
  const Tensor w2 = (Tensor::randn({2, 2, 3, 3}) * 0.3).set_requires_grad();
  const Tensor h = relu(instance_norm2d(conv2d(reflection_pad2d(x, 1), w1, Tensor(), 1, 0)));  // (1, 2, 6, 6)
  const Tensor y = x + instance_norm2d(conv2d(reflection_pad2d(h, 1), w2, Tensor(), 1, 0));    // (1, 2, 6, 6)
  const Tensor loss = l1_loss(y, Tensor::zeros({1, 2, 6, 6}));                                 // ()
  std::ofstream out(path);
  out << tape_dot(loss);
  out.close();
  if (!out) {
    std::fprintf(stderr, "error: cannot write '%s'\n", path.c_str());
    return 1;
  }
  std::printf("wrote %s: render it with  dot -Tsvg %s -o graph.svg\n", path.c_str(), path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dot;
  CLI::App app("Fits y = tanh(w x + b) by gradient descent, printing the tape of one step.", "autograd_demo");
  app.add_option("--dot", dot,
                 "write the recorded graph of one residual block's loss to this file (Graphviz DOT)");
  CLI11_PARSE(app, argc, argv);
  if (!dot.empty()) return write_residual_block_dot(dot);
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
