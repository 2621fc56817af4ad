// The conditional GAN's new GPU paths against the CPU (written without a GPU at hand: compiled,
// never run yet): the embedding's gather and scatter-add kernels, linear on cuDNN's 1x1
// convolution, batch_norm1d, and three training iterations from PyTorch's weights with TF32 off.
#include <cmath>

#include "../helpers.h"
#include "models/cgan/cgan_model.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;

TEST_CASE("cuda embedding, linear and batch_norm1d match the cpu, gradients included") {
  Generator g(61);
  const Tensor w = Tensor::randn({7, 5}, DType::F32, Device::CPU, &g);
  const Tensor idx = Tensor::from_vector(std::vector<float>{3, 0, 3, 6, 1, 3}, {6});
  Tensor wc = w.clone().set_requires_grad(), wg = w.to(Device::CUDA).set_requires_grad();
  Tensor yc = embedding(wc, idx), yg = embedding(wg, idx.to(Device::CUDA));
  CHECK(test::identical(yg.to(Device::CPU), yc));  // a gather: the same bits
  const Tensor seed = Tensor::randn(yc.shape(), DType::F32, Device::CPU, &g);
  yc.backward(seed);
  yg.backward(seed.to(Device::CUDA));
  CHECK(test::identical(wg.grad().to(Device::CPU), wc.grad()));  // sums in the order of n on both
  CHECK_THROWS_WITH_AS(embedding(wg, Tensor::from_vector(std::vector<float>{7}, {1}).to(Device::CUDA)),
                       doctest::Contains("out of range for 7 embeddings"), Error);

  set_cuda_allow_tf32(false);
  const Tensor x = Tensor::randn({9, 5}, DType::F32, Device::CPU, &g),
               b = Tensor::randn({4}, DType::F32, Device::CPU, &g);
  const Tensor lw = Tensor::randn({4, 5}, DType::F32, Device::CPU, &g);
  Tensor xc = x.clone().set_requires_grad(), xg = x.to(Device::CUDA).set_requires_grad();
  Tensor lc = linear(xc, lw, b), lg = linear(xg, lw.to(Device::CUDA), b.to(Device::CUDA));
  CHECK_CLOSE(lg.to(Device::CPU), lc, 1e-5, 1e-5);
  const Tensor s2 = Tensor::randn(lc.shape(), DType::F32, Device::CPU, &g);
  lc.backward(s2);
  lg.backward(s2.to(Device::CUDA));
  CHECK_CLOSE(xg.grad().to(Device::CPU), xc.grad(), 1e-5, 1e-5);

  Tensor rmc = Tensor::zeros({5}), rvc = Tensor::ones({5});
  Tensor rmg = rmc.to(Device::CUDA), rvg = rvc.to(Device::CUDA);
  const Tensor one = Tensor::ones({5}), zero = Tensor::zeros({5});
  CHECK_CLOSE(batch_norm1d(x.to(Device::CUDA), one.to(Device::CUDA), zero.to(Device::CUDA), rmg, rvg, true)
                  .to(Device::CPU),
              batch_norm1d(x, one, zero, rmc, rvc, true), 1e-5, 1e-5);
  CHECK_CLOSE(rmg.to(Device::CPU), rmc, 1e-6, 1e-6);
  set_cuda_allow_tf32(true);
}

TEST_CASE("three CGAN iterations on cuda (TF32 off) give PyTorch's losses") {
  set_cuda_allow_tf32(false);
  const auto fx = test::fixture("cgan_steps.safetensors");
  const auto& t = fx.tensors;
  Options o = default_options("cgan", true);
  o.set("num_classes", 10);
  o.set("z_dim", 8);
  o.device = "cuda";
  cgan::CGANModel m(o, true);
  for (const auto& [name, net] : m.networks())
    net->load_state_dict(test::with_prefix(t, "init." + name + "."));
  const auto exact = t.at("f64.losses").to_vector<double>();
  for (int i = 0; i < 3; ++i) {
    const std::string s = std::to_string(i);
    m.set_input(t.at("real." + s), t.at("labels." + s));
    m.step(t.at("z_fake." + s).to(Device::CUDA), t.at("z_gen." + s).to(Device::CUDA),
           t.at("labels_gen." + s).to(Device::CUDA));
    const auto losses = m.current_losses();
    for (size_t k = 0; k < 4; ++k) {
      CAPTURE(i);
      CAPTURE(losses[k].first);
      const double e = exact[static_cast<size_t>(i) * 4 + k];
      CHECK(std::abs(losses[k].second - e) / std::abs(e) < 5e-4);  // the CPU's float32: 5e-5
    }
  }
  set_cuda_allow_tf32(true);
}
