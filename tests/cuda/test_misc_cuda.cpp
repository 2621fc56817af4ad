// The remaining GPU paths against the CPU: the fused instance norm + activation, Adam's fused
// update, batch slicing and joining, broadcasting copies, dropout's masks and TF32 switching; moving
// tensors with their gradients, batch norm and the channel join.
#include "../helpers.h"
#include "nn/adam.h"
#include "ops/ops.h"

using namespace cg;

TEST_CASE("cuda fused instance norm + activation and its backward match the cpu") {
  Generator g(41);
  // planes of 1023 values (one block each) and of 40000 (three chunks of 16384, the last partial)
  for (const Shape& shape : {Shape{2, 5, 33, 31}, Shape{1, 3, 200, 200}})
    for (double slope : {0.0, 0.2}) {
      CAPTURE(slope);
      CAPTURE(shape_str(shape));
      Tensor x = (Tensor::randn(shape, DType::F32, Device::CPU, &g) * 2.0 + 1.0).detach();
      Tensor xc = x.clone().set_requires_grad(), xg = x.to(Device::CUDA).set_requires_grad();
      Tensor yc = instance_norm_act2d(xc, slope), yg = instance_norm_act2d(xg, slope);
      // per-plane statistics in double on both sides; the rest is one float32 expression
      CHECK_CLOSE(yg.to(Device::CPU), yc, 1e-5, 1e-5);
      Tensor seed = Tensor::randn(yc.shape(), DType::F32, Device::CPU, &g);
      yc.backward(seed);
      yg.backward(seed.to(Device::CUDA));
      CHECK_CLOSE(xg.grad().to(Device::CPU), xc.grad(), 1e-5, 1e-4);
    }
}

TEST_CASE("cuda Adam takes the same steps as the cpu Adam") {
  Generator g(42);
  const Tensor p0 = Tensor::randn({1000}, DType::F32, Device::CPU, &g);
  Tensor pc = p0.clone().detach().set_requires_grad(), pg = p0.to(Device::CUDA).detach().set_requires_grad();
  nn::Adam oc({pc}, {2e-4, 0.5, 0.999, 1e-8}), og({pg}, {2e-4, 0.5, 0.999, 1e-8});
  for (int step = 0; step < 5; ++step) {
    const Tensor grad = Tensor::randn({1000}, DType::F32, Device::CPU, &g);
    pc.set_grad(grad.clone());
    pg.set_grad(grad.to(Device::CUDA));
    oc.step();
    og.step();
  }
  // the same float operations in the same order; the GPU rounds each to nearest as the CPU does
  CHECK_CLOSE(pg.to(Device::CPU), pc, 1e-7, 1e-6);
  CHECK(og.state()[0].step == 5);
}

TEST_CASE("cuda slicing - joining - broadcasting and dropout behave as on the cpu") {
  Generator g(43);
  Tensor a = Tensor::randn({3, 2, 4, 4}, DType::F32, Device::CPU, &g),
         b = Tensor::randn({2, 2, 4, 4}, DType::F32, Device::CPU, &g);
  Tensor joined = cat0({a.to(Device::CUDA), b.to(Device::CUDA)});
  CHECK(joined.shape() == Shape{5, 2, 4, 4});
  CHECK_CLOSE(joined.to(Device::CPU), cat0({a, b}), 0.0, 0.0);
  CHECK_CLOSE(slice0(joined, 2, 2).to(Device::CPU), slice0(cat0({a, b}), 2, 2), 0.0, 0.0);
  Tensor bias = Tensor::randn({2}, DType::F32, Device::CPU, &g);
  CHECK_CLOSE(expand(bias.reshape({1, 2, 1, 1}).to(Device::CUDA), {3, 2, 4, 4}).to(Device::CPU),
              expand(bias.reshape({1, 2, 1, 1}), {3, 2, 4, 4}), 0.0, 0.0);
  // dropout draws its mask on the host from the device's generator: the same seed, the same mask
  Generator g1(7), g2(7);
  Tensor ones = Tensor::ones({1000});
  CHECK_CLOSE(dropout(ones.to(Device::CUDA), 0.5, true, &g1).to(Device::CPU), dropout(ones, 0.5, true, &g2),
              0.0, 0.0);
}

TEST_CASE("to(device) carries gradients both ways - and batch norm and cat1 match the cpu") {
  // (float64 cannot live on the GPU, so this is the float32 check: moving is exact, and so must be
  // the gradient it passes back)
  Generator g(43);
  const Tensor x0 = Tensor::randn({2, 3, 4, 5}, DType::F32, Device::CPU, &g);
  const Tensor w = Tensor::randn({2, 3, 4, 5}, DType::F32, Device::CPU, &g);
  Tensor x = x0.clone().set_requires_grad();
  sum(x.to(Device::CUDA) * w.to(Device::CUDA)).backward();  // d/dx = w, computed on the GPU
  REQUIRE(x.grad().defined());
  CHECK_FALSE(x.grad().is_cuda());
  CHECK(x.grad().to_vector<float>() == w.to_vector<float>());
  Tensor xg = x0.to(Device::CUDA).set_requires_grad();
  sum(xg.to(Device::CPU) * w).backward();  // and back: the gradient arrives on the GPU
  REQUIRE(xg.grad().is_cuda());
  CHECK(xg.grad().to_vector<float>() == w.to_vector<float>());

  // batch norm (composed of ops that have CUDA kernels) in train and eval mode, and cat1
  const Tensor wt = Tensor::rand({3}, DType::F32, Device::CPU, &g) + 0.5, bs = Tensor::randn({3});
  Tensor rm_c = Tensor::zeros({3}), rv_c = Tensor::ones({3});
  Tensor rm_g = rm_c.to(Device::CUDA), rv_g = rv_c.to(Device::CUDA);
  Tensor xc = x0.clone().set_requires_grad(), xd = x0.to(Device::CUDA).set_requires_grad();
  Tensor yc = batch_norm2d(xc, wt, bs, rm_c, rv_c, true);
  Tensor yd = batch_norm2d(xd, wt.to(Device::CUDA), bs.to(Device::CUDA), rm_g, rv_g, true);
  CHECK_CLOSE(yd.to(Device::CPU), yc, 1e-5, 1e-5);
  yc.backward(w);
  yd.backward(w.to(Device::CUDA));
  CHECK_CLOSE(xd.grad().to(Device::CPU), xc.grad(), 1e-5, 1e-5);
  CHECK_CLOSE(rm_g.to(Device::CPU), rm_c, 1e-6, 1e-6);
  CHECK_CLOSE(rv_g.to(Device::CPU), rv_c, 1e-6, 1e-6);
  CHECK_CLOSE(batch_norm2d(x0.to(Device::CUDA), wt.to(Device::CUDA), bs.to(Device::CUDA), rm_g, rv_g, false)
                  .to(Device::CPU),
              batch_norm2d(x0, wt, bs, rm_c, rv_c, false), 1e-5, 1e-5);
  const Tensor a = Tensor::randn({2, 1, 3, 3}), b = Tensor::randn({2, 4, 3, 3});
  CHECK(cat1({a.to(Device::CUDA), b.to(Device::CUDA)}).to_vector<float>() == cat1({a, b}).to_vector<float>());
}
