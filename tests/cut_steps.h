// The small CUT and FastCUT of tests/fixtures/cut_steps.safetensors (made by the official code,
// tests/fixtures/make_cut.py), shared by the CPU suite (test_cut.cpp) and the GPU suite
// (cuda/test_cut_cuda.cpp): their options, the model built from the fixture's initial G, F and D,
// and the flips the fixture's FastCUT steps take.
#pragma once

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

}  // namespace cg::test
