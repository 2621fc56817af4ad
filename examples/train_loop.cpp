// docs/autograd.md, "A training loop": a small network of nn modules fitted with Adam to the demo's
// 256 noisy points of tanh(1.7 x - 0.4), the loop PyTorch users know: forward, loss, zero_grad,
// backward, step.
#include <cstdio>
#include <memory>

#include "nn/adam.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "ops/ops.h"

using namespace cg;

int main() {
  manual_seed(0);
  const Tensor x = Tensor::rand({256, 1}) * 4.0 - 2.0;                    // (N, 1)
  const Tensor y = tanh(x * 1.7 - 0.4) + Tensor::randn({256, 1}) * 0.05;  // (N, 1)

  nn::Sequential net;  // PyTorch: nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
  net.add(std::make_shared<nn::Linear>(1, 16));
  net.add(std::make_shared<nn::Tanh>());
  net.add(std::make_shared<nn::Linear>(16, 1));
  Generator gen(0);
  nn::init_keras(net, gen);  // glorot-uniform weights, zero biases
  nn::Adam opt(net.parameters(), {.lr = 0.01, .beta1 = 0.9});

  for (int step = 0; step <= 500; ++step) {
    Tensor loss = mse_loss(net(x), y);  // ()
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 100 == 0) std::printf("step %3d  loss %.6f\n", step, loss.item());
  }
  std::printf("%lld parameters; the noise alone costs 0.05^2 = 0.0025\n",
              static_cast<long long>(net.num_parameters()));
  return 0;
}
