// The small CycleGAN of tests/fixtures/cyclegan_steps.safetensors, shared by the CPU suite
// (test_cyclegan.cpp) and the GPU suite (cuda/test_cyclegan_cuda.cpp): the model built from the
// fixture's initial weights, and the float32 comparison of three training steps with PyTorch's.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "helpers.h"
#include "models/cyclegan/cycle_gan_model.h"

namespace cg::test {

inline cyclegan::Options small_options() {
  cyclegan::Options o = models::default_options("cycle_gan", true);
  o.ngf = 8;
  o.ndf = 8;
  o.netG = "resnet_2blocks";
  o.pool_size = 50;
  return o;
}

// Builds the small model on `device` from the fixture's initial weights (converted to `dt`) and
// its inputs.
inline std::unique_ptr<cyclegan::CycleGANModel> small_model_from_fixture(
    const safetensors::Contents& fx, DType dt, const std::string& gan_mode = "lsgan",
    const std::string& device = "cpu", bool amp = false) {
  cyclegan::Options o = small_options();
  o.gan_mode = gan_mode;
  o.device = device;
  o.amp = amp;
  auto model = std::make_unique<cyclegan::CycleGANModel>(o, true);
  for (auto& [name, net] : model->networks()) {
    net->to(dt);
    net->load_state_dict(with_prefix(fx.tensors, "init." + name + "."));
  }
  // The optimizers were built over the same parameter handles, so they follow the conversion.
  model->set_input(fx.tensors.at("real_A").to(dt), fx.tensors.at("real_B").to(dt));
  return model;
}

inline bool is_bias_before_norm(const std::string& net, const std::string& key) {
  // Every convolution bias of the generators and discriminators except the last layers' (and
  // the discriminator's first, which a LeakyReLU follows) sits right before an instance norm.
  if (key.size() < 5 || key.compare(key.size() - 5, 5, ".bias") != 0) return false;
  if (net[0] == 'G') return key != "model.26.bias";
  return key != "model.0.bias" && key != "model.11.bias";
}

// Three float32 steps of `model` (from small_model_from_fixture) against PyTorch's.
//
// Float32 training is chaotic at the element level: where a weight's gradient is at rounding
// level (here one weight has |g| = 2e-8 against a median of 0.05), Adam's update
// lr * g / (|g| + 1e-8) takes a different +-lr step in any two implementations, and that
// perturbation spreads through the next steps. So: step-1 losses tight, later losses to 1e-3, and
// each parameter tensor by how many of its elements moved away from PyTorch's. Adam moves every
// element by about lr per step whatever its gradient's scale, so a per-element bound of a few lr
// says nothing (3 steps cannot move an element more than ~3 lr in either run); a wrong gradient
// shows as many elements off by ~lr. Measured with a correct step (CPU, AVX-512, AVX2 and portable
// kernels alike): at most 0.72% of a tensor's elements more than 0.5 lr away, 0.26% more than 1 lr,
// and a mean of 0.08 lr. The bounds below are 3-4x that.
inline void check_three_float32_steps(cyclegan::CycleGANModel& model, const safetensors::Contents& fx) {
  const auto expected = fx.tensors.at("f32.losses").to_vector<double>();  // (3, 8)
  const double lr = 2e-4;
  for (int step = 0; step < 3; ++step) {
    model.optimize_parameters();
    const auto losses = model.current_losses();
    double worst = 0;
    for (size_t k = 0; k < 8; ++k) {
      CAPTURE(step);
      CAPTURE(losses[k].first);
      const double e = expected[static_cast<size_t>(step) * 8 + k];
      CHECK(losses[k].second == doctest::Approx(e).epsilon(step == 0 ? 1e-5 : 1e-3));
      worst = std::max(worst, std::abs(losses[k].second - e) / std::abs(e));
    }
    MESSAGE("float32 step " << step + 1 << ": largest relative loss difference " << worst);
  }
  double worst_mean = 0, worst_max = 0;
  for (auto& [name, net] : model.networks())
    for (const auto& [key, p] : net->state_dict()) {
      const std::string where = name + "." + key;  // (CAPTURE cannot take structured bindings in clang 14)
      CAPTURE(where);
      const auto a = p.to_vector<double>(),
                 e = fx.tensors.at("f32.step3." + name + "." + key).to_vector<double>();
      double sum = 0, mx = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        sum += std::abs(a[i] - e[i]);
        mx = std::max(mx, std::abs(a[i] - e[i]));
      }
      const double mean = sum / static_cast<double>(a.size());
      size_t over_half = 0, over_one = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        over_half += std::abs(a[i] - e[i]) > 0.5 * lr;
        over_one += std::abs(a[i] - e[i]) > lr;
      }
      const double n = static_cast<double>(a.size());
      if (!is_bias_before_norm(name, key)) {
        // (A bias right before an instance norm has an analytic gradient of 0: both runs follow
        // rounding noise there, so no bound tells a right gradient from a wrong one; such biases
        // never affect an output.)
        CHECK(mean <= 0.15 * lr);
        CHECK(static_cast<double>(over_half) <= std::max(1.0, 0.03 * n));
        CHECK(static_cast<double>(over_one) <= std::max(1.0, 0.01 * n));
      }
      worst_mean = std::max(worst_mean, is_bias_before_norm(name, key) ? 0.0 : mean);
      worst_max = std::max(worst_max, mx);
    }
  MESSAGE("float32, after step 3: largest per-tensor mean |difference| "
          << worst_mean / lr << " lr, largest element difference " << worst_max / lr << " lr");
}

}  // namespace cg::test
