// The tiled evaluator and activation recomputation on the GPU: tiles computed on cuda (kept values
// on the host, normalisations through the elementwise ops) against the whole image on cuda and on
// the cpu; a recomputed ResNet generator's gradients against the plain ones.
#include <string>
#include <vector>

#include "../helpers.h"
#include "backend/device.h"
#include "models/networks/networks.h"
#include "nn/tiled.h"
#include "ops/ops.h"

using namespace cg;

TEST_CASE(
    "cuda tiled translation equals the whole image - resnet with instance norm, U-Net with batch norm") {
  for (const char* netG : {"resnet_3blocks", "unet_128"}) {
    CAPTURE(netG);
    const bool unet = std::string(netG) == "unet_128";
    Generator g(1);
    auto net = models::define_G(3, 3, 8, netG, unet ? "batch" : "instance", unet, "normal", 0.05, g);
    net->eval();  // no dropout draws (the training-mode masks are the cpu suite's)
    Generator gx(2);
    const Tensor x =
        Tensor::rand({1, 3, unet ? 128 : 76, unet ? 256 : 100}, DType::F32, Device::CPU, &gx) * 2.0 - 1.0;
    Tensor cpu_whole;
    {
      NoGradGuard no_grad;
      cpu_whole = (*net)(x);
    }
    net->to(Device::CUDA);
    nn::TiledOptions o;
    o.tile_size = 40;
    o.temp_dir = test::scratch("tiled_cuda");
    o.memory_budget = 0;  // kept values through files, and back to the GPU
    Tensor gpu_whole, gpu_tiled;
    {
      NoGradGuard no_grad;
      gpu_whole = (*net)(x.to(Device::CUDA));
    }
    gpu_tiled = nn::tiled_forward(*net, x.to(Device::CUDA), o);
    CHECK(gpu_tiled.device() == Device::CUDA);
    // TF32 convolutions on the GPU: close to the cpu, not equal; tiled and whole closer still
    CHECK_CLOSE(gpu_tiled.to(Device::CPU), gpu_whole.to(Device::CPU), 2e-3, 2e-3);
    CHECK_CLOSE(gpu_tiled.to(Device::CPU), cpu_whole, 1e-2, 1e-2);
  }
}

TEST_CASE("cuda --recompute: a recomputed ResNet generator's gradients equal the plain ones") {
  auto grads = [](bool recompute) {
    Generator g(3);
    auto net = models::define_G(3, 3, 4, "resnet_2blocks", "instance", false, "normal", 0.02, g);
    net->to(Device::CUDA);
    models::recompute_resnet(*net, recompute);
    backend::set_deterministic(true);  // the same engines for the rerun as for the first run
    Generator gx(4);
    const Tensor x = Tensor::rand({1, 3, 32, 32}, DType::F32, Device::CPU, &gx).to(Device::CUDA);
    sum(square((*net)(x))).backward();
    std::vector<Tensor> out;
    for (const Tensor& p : net->parameters()) out.push_back(p.grad().to(Device::CPU));
    backend::set_deterministic(false);
    return out;
  };
  const std::vector<Tensor> plain = grads(false), re = grads(true);
  REQUIRE(plain.size() == re.size());
  for (size_t i = 0; i < plain.size(); ++i) CHECK_CLOSE(re[i], plain[i], 0.0, 0.0);
}
