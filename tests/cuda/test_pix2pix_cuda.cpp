// pix2pix on the GPU (written without a GPU at hand: compiled, never run yet): three steps against
// PyTorch's fixture with TF32 off, and the step captured as one CUDA graph (nn/captured_step.h)
// against the eager step, bit for bit with deterministic cuDNN engines.
#include <cmath>

#include "../helpers.h"
#include "backend/device.h"
#include "models/pix2pix/pix2pix_model.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;
using cg::pix2pix::Pix2PixModel;

namespace {
Options small_pix2pix_cuda() {
  Options o = default_options("pix2pix", true);
  o.netG = "unet_128";
  o.ngf = 2;
  o.ndf = 4;
  o.no_dropout = true;  // dropout's host draws would make a replay repeat one mask
  o.device = "cuda";
  return o;
}
}  // namespace

TEST_CASE("three pix2pix steps on cuda (TF32 off) agree with PyTorch's exact algorithm") {
  set_cuda_allow_tf32(false);
  const auto fx = test::fixture("pix2pix_steps.safetensors");
  Pix2PixModel m(small_pix2pix_cuda(), true);
  for (auto& [name, net] : m.networks())
    net->load_state_dict(test::with_prefix(fx.tensors, "init." + name + "."));
  m.set_input(fx.tensors.at("real_A"), fx.tensors.at("real_B"));
  const auto exact = fx.tensors.at("f64.losses").to_vector<double>();
  for (int step = 0; step < 3; ++step) {
    m.optimize_parameters();
    const auto losses = m.current_losses();
    for (size_t k = 0; k < 4; ++k) {
      CAPTURE(step);
      CAPTURE(losses[k].first);
      // the CPU suite measures 7e-8 in float32; cuDNN's sums in other orders stay far below this
      CHECK(losses[k].second == doctest::Approx(exact[static_cast<size_t>(step) * 4 + k]).epsilon(1e-4));
    }
  }
  for (auto& [name, net] : m.networks())
    for (const auto& [key, t] : net->state_dict())
      if (key.ends_with("running_mean") || key.ends_with("running_var")) {
        CAPTURE(name + "." + key);
        CHECK_CLOSE(t.to(Device::CPU), fx.tensors.at("f64.step3." + name + "." + key), 1e-5, 1e-4);
      }
  set_cuda_allow_tf32(true);
}

TEST_CASE("a pix2pix step replayed from one CUDA graph equals the eager step bit for bit") {
  backend::set_deterministic(true);
  Options o = small_pix2pix_cuda();
  Pix2PixModel eager(o, true), graphed(o, true);
  eager.set_cuda_graphs(false);
  // the same start: graphed takes eager's initial state
  for (size_t n = 0; n < eager.networks().size(); ++n)
    graphed.networks()[n].second->load_state_dict(eager.networks()[n].second->state_dict());
  Generator g(51);
  for (int step = 0; step < 5; ++step) {
    CAPTURE(step);
    const Tensor A = Tensor::rand({1, 3, 128, 128}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
    const Tensor B = Tensor::rand({1, 3, 128, 128}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
    eager.set_input(A, B);
    graphed.set_input(A, B);
    eager.optimize_parameters();
    graphed.optimize_parameters();
    const auto le = eager.current_losses(), lg = graphed.current_losses();
    for (size_t k = 0; k < le.size(); ++k) CHECK(le[k].second == lg[k].second);
    for (size_t n = 0; n < eager.networks().size(); ++n) {
      const auto se = eager.networks()[n].second->state_dict(),
                 sg = graphed.networks()[n].second->state_dict();
      for (const auto& [key, t] : se) {
        CAPTURE(key);
        CHECK_CLOSE(t, sg.at(key), 0.0, 0.0);  // parameters and running statistics
      }
    }
    CHECK_CLOSE(eager.fake_B, graphed.fake_B, 0.0, 0.0);
  }
  CHECK(eager.graph_replays() == 0);
  CHECK(graphed.graph_replays() == 3);  // step 1 eager, step 2 captured, 3-5 replayed
  backend::set_deterministic(false);
}
