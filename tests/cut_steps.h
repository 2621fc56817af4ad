// The small CUT and FastCUT of tests/fixtures/cut_steps.safetensors (made by the official code,
// tests/fixtures/make_cut.py), shared by the CPU suite (test_cut.cpp) and the GPU suite
// (cuda/test_cut_cuda.cpp): their options, the model built from the fixture's initial G, F and D,
// and the flips the fixture's FastCUT steps take.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "helpers.h"
#include "models/cut/cut_model.h"

namespace cg::test {

// "cut": --CUT_mode CUT, batch 2; "fastcut": --CUT_mode FastCUT, batch 1. Both resnet_6blocks with
// ngf 6, n_layers_D 2 with ndf 4, netF_nc 32 and --num_patches 484 (every position of every layer).
inline models::Options small_cut_options(const std::string& tag, const std::string& device = "cpu") {
  const std::string mode = tag == "cut" ? "CUT" : "FastCUT";
  models::Options o = models::default_options("cut", true, [&](const std::string& flag) {
    return flag == "CUT_mode" ? std::optional<std::string>(mode) : std::nullopt;
  });
  o.set("CUT_mode", mode);
  o.ngf = 6;
  o.ndf = 4;
  o.netG = "resnet_6blocks";
  o.netD = "n_layers";
  o.n_layers_D = 2;
  o.set("netF_nc", 32);
  o.set("num_patches", 484);
  o.batch_size = tag == "cut" ? 2 : 1;
  o.crop_size = o.load_size = 16;
  o.device = device;
  return o;
}

// The model of `tag` on `device` with the fixture's initial weights (converted to `dt`) and batch.
inline std::unique_ptr<cut::CUTModel> cut_model_from_fixture(const safetensors::Contents& fx,
                                                             const std::string& tag, DType dt,
                                                             const std::string& device = "cpu") {
  auto m = std::make_unique<cut::CUTModel>(small_cut_options(tag, device), true);
  for (auto& [name, net] : m->networks()) {
    net->to(dt);  // the optimizers hold the same parameter handles: they follow
    net->load_state_dict(with_prefix(fx.tensors, tag + ".init." + name + "."));
  }
  m->set_input(fx.tensors.at(tag + ".real_A").to(dt), fx.tensors.at(tag + ".real_B").to(dt));
  return m;
}

// A seed whose generator's first draw makes the flip `flip` (the model draws it first in a step).
inline uint64_t seed_for_flip(bool flip) {
  for (uint64_t s = 1;; ++s)
    if ((Generator(s).uniform() < 0.5) == flip) return s;
}

// One step of `m` with its flip forced to the fixture's flip of step `step` (0-based) of "fastcut".
inline void fastcut_step(cut::CUTModel& m, const safetensors::Contents& fx, int step) {
  const bool flip = fx.tensors.at("fastcut.flips").to_vector<double>()[static_cast<size_t>(step)] != 0;
  m.patch_generator.seed(seed_for_flip(flip));
  m.optimize_parameters();
  CHECK(m.flipped_for_equivariance == flip);
}

// Whether `key` of network `net` is a convolution bias right before an instance norm, whose
// analytic gradient is 0 (both codes follow rounding noise there; it never changes an output).
inline bool cut_bias_before_norm(const std::string& net, const std::string& key) {
  if (!key.ends_with(".bias") || net == "F") return false;
  if (net == "G") return key != "model.27.bias";           // the last convolution (resnet_6blocks: 29 layers)
  return key != "model.0.bias" && key != "model.10.bias";  // D (n_layers 2): the first and last
}

inline double norm2(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// Three float32 steps of `model` (built from the fixture's `tag`, on any device) against the official float64
// run (the exact algorithm): losses within 1e-4 relative, and each weight tensor's update (after step 3 minus
// before step 1) within 5% of the exact update, in the L2 norm. Biases right before an instance norm have an
// analytic gradient of 0: both runs follow rounding noise there, so they are left out (they never change an
// output). Also reported: the official float32 run's distance from the same exact updates.
inline void check_float32_steps(cut::CUTModel& model, const safetensors::Contents& fx,
                                const std::string& tag) {
  cut::CUTModel* m = &model;
  const auto exact = fx.tensors.at(tag + ".f64.losses").to_vector<double>();
  const auto theirs = fx.tensors.at(tag + ".f32.losses").to_vector<double>();
  const size_t L = m->loss_names().size();
  double worst_loss = 0, worst_theirs = 0;
  for (int step = 0; step < 3; ++step) {
    if (tag == "fastcut")
      fastcut_step(*m, fx, step);
    else
      m->optimize_parameters();
    const auto losses = m->current_losses();
    for (size_t k = 0; k < L; ++k) {
      CAPTURE(step);
      const std::string loss = losses[k].first;
      CAPTURE(loss);
      const size_t i = static_cast<size_t>(step) * L + k;
      CHECK(losses[k].second == doctest::Approx(exact[i]).epsilon(1e-4));
      worst_loss = std::max(worst_loss, std::abs(losses[k].second - exact[i]) / std::abs(exact[i]));
      worst_theirs = std::max(worst_theirs, std::abs(theirs[i] - exact[i]) / std::abs(exact[i]));
    }
  }
  double worst_update = 0, worst_update_theirs = 0;
  int checked = 0;
  for (auto& [name, net] : m->networks())
    for (const auto& [key, t] : net->state_dict()) {
      if (key.ends_with("filt")) continue;  // fixed
      const std::string where = name + "." + key;
      CAPTURE(where);
      const auto w0 = fx.tensors.at(tag + ".init." + where).to_vector<double>(), ours = t.to_vector<double>(),
                 ex = fx.tensors.at(tag + ".f64.step3." + where).to_vector<double>(),
                 f32 = fx.tensors.at(tag + ".f32.step3." + where).to_vector<double>();
      std::vector<double> d_exact(w0.size()), d_ours(w0.size()), d_theirs(w0.size());
      for (size_t i = 0; i < w0.size(); ++i) {
        d_exact[i] = ex[i] - w0[i];
        d_ours[i] = ours[i] - ex[i];
        d_theirs[i] = f32[i] - ex[i];
      }
      if (cut_bias_before_norm(name, key)) continue;
      const double rel = norm2(d_ours) / norm2(d_exact), rel_theirs = norm2(d_theirs) / norm2(d_exact);
      CHECK(rel <= 0.05);
      worst_update = std::max(worst_update, rel);
      worst_update_theirs = std::max(worst_update_theirs, rel_theirs);
      ++checked;
    }
  CHECK(checked > 20);
  MESSAGE(tag << " float32, 3 steps against the official float64: largest relative loss difference "
              << worst_loss << " (official float32: " << worst_theirs
              << "); largest relative update difference " << worst_update
              << " (official float32: " << worst_update_theirs << ") over " << checked << " tensors");
}

}  // namespace cg::test
