// cyclegan_train and cyclegan_test with --device cuda, end to end, and the allocator's promise that
// a warm training step makes no cudaMalloc.
#include <cmath>
#include <filesystem>

#include "../helpers.h"
#include "backend/device.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/tester.h"
#include "models/common/trainer.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;
using namespace cg::cyclegan;

TEST_CASE("a short cuda training run writes its checkpoints and they translate images") {
  const std::string dir = test::scratch("cuda_train");
  Options o = default_options("cycle_gan", true);
  o.dataroot = test::make_dataset(dir + "/data", 4, 3, 36, 36, 21);
  o.checkpoints_dir = dir + "/ckpt";
  o.results_dir = dir + "/results";
  o.name = "tiny_cuda";
  o.ngf = o.ndf = 8;
  o.netG = "resnet_2blocks";
  o.load_size = 36;
  o.crop_size = 32;
  o.n_epochs = o.n_epochs_decay = 1;
  o.print_freq = 2;
  o.display_freq = 4;
  o.device = "cuda";
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    CHECK(std::filesystem::exists(net_file(o, "latest", net)));
  // the checkpoint loads on the CPU too, and every weight in it is finite
  Options cpu = o;
  cpu.device = "cpu";
  CycleGANModel m(cpu, true);
  CHECK(load_checkpoint(m, "latest").has_value());
  for (const auto& [name, net] : m.networks())
    for (const auto& [key, p] : net->named_parameters()) {
      CAPTURE(name + "." + key);
      for (float v : p.to_vector<float>()) REQUIRE(std::isfinite(v));
    }
  Options t = default_options("cycle_gan", false);
  t.dataroot = o.dataroot;
  t.checkpoints_dir = o.checkpoints_dir;
  t.results_dir = o.results_dir;
  t.name = o.name;
  t.ngf = 8;
  t.netG = "resnet_2blocks";
  t.model = "cycle_gan";
  t.load_size = t.crop_size = 32;
  t.device = "cuda";
  CHECK(std::filesystem::exists(run_test(t, true) + "/images/0_A_fake_B.png"));
}

TEST_CASE("a warm cuda training step makes no cudaMalloc, eager or from graphs") {
  for (bool graphs : {false, true}) {
    CAPTURE(graphs);
    Options o = default_options("cycle_gan", true);
    o.ngf = o.ndf = 16;
    o.netG = "resnet_2blocks";
    o.pool_size = 1;  // the pool keeps a different image alive from step to step
    o.device = "cuda";
    CycleGANModel model(o, true);
    model.set_cuda_graphs(graphs);
    Generator g(3);
    model.set_input(Tensor::rand({1, 3, 64, 64}, DType::F32, Device::CPU, &g),
                    Tensor::rand({1, 3, 64, 64}, DType::F32, Device::CPU, &g));
    for (int i = 0; i < 3; ++i) model.optimize_parameters();  // cuDNN plans, Adam states, the pools
    const uint64_t before = backend::gpu_memory().mallocs;
    for (int i = 0; i < 6; ++i) model.optimize_parameters();
    backend::synchronize(Device::CUDA);
    CHECK(backend::gpu_memory().mallocs == before);
    CHECK(model.graph_replays() == (graphs ? 7 : 0));
  }
}

TEST_CASE("--gpu_ids picks the GPU of a single-process program - and a GPU that is not there is an error") {
  // parsed as a user gives it (the listing's own default is "-1")
  auto on = [](const std::string& ids) {
    const char* argv[] = {"cyclegan_test", "--gpu_ids", ids.c_str()};
    Parsed p = parse_test_args(3, const_cast<char**>(argv));
    REQUIRE_FALSE(p.exit_code);
    return p.opt;
  };
  CHECK_NOTHROW(select_gpu(on("0")));
  const std::string past = std::to_string(backend::gpu_count());  // one past the last
  const std::string expected = "--gpu_ids names GPU " + past + ", but this machine has";
  CHECK_THROWS_WITH_AS(select_gpu(on(past)), doctest::Contains(expected.c_str()), Error);
  select_gpu(on("0"));  // back on GPU 0 for the tests that follow
  CHECK((Tensor::ones({3}, DType::F32, Device::CUDA) * 2.0).to(Device::CPU).to_vector<float>() ==
        std::vector<float>{2, 2, 2});
}
