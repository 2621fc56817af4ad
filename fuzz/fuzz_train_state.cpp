// libFuzzer harness: the training state (<label>_train_state.safetensors) that --continue_train
// restores into a model: optimizer moments, schedules, position, image pools, generators.
// The seeds are states saved by a tiny model with the options below, their checkpoint id set to
// "fuzz" (fuzz/make_seeds.sh writes them).
#include <cstdint>
#include <sstream>
#include <string>

#include "models/common/checkpoint.h"
#include "models/cyclegan/cycle_gan_model.h"

using namespace cg::models;
using cg::cyclegan::CycleGANModel;

// The model the seeds were saved from (the flags in fuzz/make_seeds.sh).
Options fuzz_options() {
  Options o = default_options("cycle_gan", true);
  o.ngf = 2;
  o.ndf = 2;
  o.netG = "resnet_1blocks";
  o.netD = "pixel";
  o.pool_size = 2;
  return o;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static CycleGANModel model(fuzz_options(), true);
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto state = cg::safetensors::load(in, size, "fuzz input");
    restore_train_state(model, state, "fuzz input", "fuzz");
  } catch (const cg::Error&) {
  }
  return 0;
}
