// CUT and FastCUT training steps on the GPU (written without a GPU at hand: compiled, never run
// yet): against the official code's float64 run, as the CPU suite checks them, and against our
// own CPU steps.
#include <cmath>

#include "../cut_steps.h"
#include "ops/ops.h"

using namespace cg;

TEST_CASE("three CUT and FastCUT steps on cuda (TF32 off) agree with the official exact algorithm") {
  set_cuda_allow_tf32(false);
  const auto fx = test::fixture("cut_steps.safetensors");
  for (const std::string tag : {"cut", "fastcut"}) {
    CAPTURE(tag);
    auto model = test::cut_model_from_fixture(fx, tag, DType::F32, "cuda");
    REQUIRE(model->netG->parameters()[0].is_cuda());
    // the CPU suite's check and bounds: without TF32 the GPU is one more float32 implementation
    test::check_float32_steps(*model, fx, tag);
  }
  set_cuda_allow_tf32(true);
}

TEST_CASE("three CUT steps on cuda match the cpu's - losses - flips and patch positions alike") {
  const auto fx = test::fixture("cut_steps.safetensors");
  for (const std::string tag : {"cut", "fastcut"}) {
    CAPTURE(tag);
    auto gpu = test::cut_model_from_fixture(fx, tag, DType::F32, "cuda");
    auto cpu = test::cut_model_from_fixture(fx, tag, DType::F32, "cpu");
    // the same seeds: the flips and positions are drawn on the host, so both draw the same
    gpu->patch_generator.seed(5);
    cpu->patch_generator.seed(5);
    double worst = 0;
    for (int step = 0; step < 3; ++step) {
      gpu->optimize_parameters();
      cpu->optimize_parameters();
      CHECK(gpu->flipped_for_equivariance == cpu->flipped_for_equivariance);
      const auto lg = gpu->current_losses(), lc = cpu->current_losses();
      for (size_t k = 0; k < lg.size(); ++k) {
        CAPTURE(lg[k].first);
        // TF32 convolutions (10 mantissa bits) through ~30 layers: well under 1% (D_fake, ~1e-9
        // here, by 1e-6 absolute: an untrained D judges fakes near 0, where relative error means little)
        CHECK(lg[k].second == doctest::Approx(lc[k].second).epsilon(1e-2).scale(1e-4));
        worst = std::max(worst, std::abs(lg[k].second - lc[k].second) / std::abs(lc[k].second));
      }
    }
    MESSAGE(tag << ": largest relative loss difference, TF32 cuda vs cpu, 3 steps: " << worst);
  }
}
