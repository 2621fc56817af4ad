// CUT and FastCUT through the harness every model shares: a short run's files and logs, the
// official training loop's ways (the schedule steps at each epoch's end, whole batches only), an
// exact resume after SIGTERM for both modes, and cyclegan_test --model cut, which needs G alone.
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/tester.h"
#include "models/common/trainer.h"
#include "models/cut/cut_model.h"

using namespace cg;
using namespace cg::models;
using cg::test::read_file;
using cg::test::scratch;
namespace fs = std::filesystem;

namespace {

// A tiny CUT (resnet_5blocks with ngf 8, so that --nce_layers 0,4,8,12,16 are all there; the PatchGAN
// with ndf 4; 16 sampled positions per layer; F's MLPs 16 wide) on 32x32 crops of 36x36 images;
// `mode` CUT or FastCUT. (Narrower, the features at a ReLU's output have rows that are all zeros,
// whose L2 normalisation has a NaN gradient: in the official code as here.)
Options tiny_cut(const std::string& data, const std::string& ckpt, const std::string& mode) {
  Options o = default_options("cut", true, [&](const std::string& flag) {
    return flag == "CUT_mode" ? std::optional<std::string>(mode) : std::nullopt;
  });
  o.set("CUT_mode", mode);
  o.dataroot = data;
  o.checkpoints_dir = ckpt;
  o.name = "cut";
  o.netG = "resnet_5blocks";
  o.ngf = 8;
  o.ndf = 4;
  o.set("netF_nc", 16);
  o.set("num_patches", 16);
  o.load_size = 36;
  o.crop_size = 32;
  o.n_epochs = 1;
  o.n_epochs_decay = 2;
  o.print_freq = 1;
  o.display_freq = 1000;
  o.save_latest_freq = 1000;
  o.save_epoch_freq = 1;
  o.num_threads = 1;
  o.seed = 17;
  return o;
}

nlohmann::json saved_state(const Options& o, const std::string& label) {
  return nlohmann::json::parse(safetensors::load(state_file(o, label)).metadata.at("train_state"));
}

void expect_identical_checkpoints(const Options& a, const Options& b, const std::string& label) {
  for (const char* net : {"G", "F", "D"}) {
    const std::string diff = test::first_difference(net_file(a, label, net), net_file(b, label, net));
    CHECK_MESSAGE(diff.empty(), net << ": " << diff);
  }
  const std::string diff = test::first_difference(state_file(a, label), state_file(b, label));
  CHECK_MESSAGE(diff.empty(), "training state: " << diff);
  CHECK(saved_state(a, label).at("generators") == saved_state(b, label).at("generators"));
}

}  // namespace

TEST_CASE("a CUT run writes G - F and D - logs its losses - steps the schedule as each epoch ends") {
  const std::string dir = scratch("cut_train");
  const std::string data = test::make_dataset(dir + "/data", 3, 2, 36, 36, 31);
  Options o = tiny_cut(data, dir + "/ckpt", "CUT");
  o.batch_size = 2;  // 3 images: one whole batch an epoch, the third image dropped
  // stopped during epoch 1: the rate is still the first epoch's (the official steps it as the epoch
  // ends; stepped at the start it would be 2/3 of it already)
  REQUIRE(run_training(o, {[](int64_t n) { return n == 2; }, true}) == 0);
  const auto mid = saved_state(o, "latest");
  CHECK(mid.at("model") == "cut");
  CHECK(mid.at("epoch") == 1);
  CHECK(mid.at("scheduler_G").at("last_epoch") == 0);
  CHECK(mid.at("scheduler_F").at("last_epoch") == 0);
  CHECK(mid.at("scheduler_D").at("lr").get<double>() == doctest::Approx(2e-4));
  fs::remove_all(dir + "/ckpt");
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const std::string exp = dir + "/ckpt/cut";
  for (const char* f : {"latest_net_G", "latest_net_F", "latest_net_D", "latest_train_state", "1_net_F"})
    CHECK_MESSAGE(fs::exists(exp + "/" + f + ".safetensors"), f);
  // three epochs of one batch (drop_last): 2 samples each; after each the schedule stepped
  const auto end = saved_state(o, "latest");
  CHECK(end.at("total_iters") == 6);
  CHECK(end.at("scheduler_G").at("last_epoch") == 3);
  const auto after1 = saved_state(o, "1");  // saved as epoch 1 ended: the rate epoch 2 starts with
  CHECK(after1.at("scheduler_G").at("last_epoch") == 1);
  CHECK(after1.at("scheduler_G").at("lr").get<double>() == doctest::Approx(2e-4 * 2 / 3));
  const std::string log = read_file(exp + "/loss_log.txt");
  for (const char* name : {"G_GAN:", "D_real:", "D_fake:", "G:", "NCE:", "NCE_Y:"})
    CHECK(log.find(name) != std::string::npos);
  // F is saved with the official keys; its MLPs take G's features at --nce_layers 0,4,8,12,16
  const auto F = safetensors::load(exp + "/latest_net_F.safetensors").tensors;
  CHECK(F.at("mlp_0.0.weight").shape() == Shape{16, 3});
  CHECK(F.at("mlp_1.0.weight").shape() == Shape{16, 16});
  CHECK(F.at("mlp_4.2.weight").shape() == Shape{16, 16});
  CHECK(read_file(exp + "/train_opt.txt").find("CUT_mode: CUT") != std::string::npos);
  // a run with fewer images than a batch has nothing to train on: refused before it starts
  Options big = o;
  big.batch_size = 4;
  big.checkpoints_dir = dir + "/big";
  CHECK_THROWS_WITH_AS(run_training(big, {nullptr, true}), doctest::Contains("no whole batch"), Error);

  // cyclegan_test --model cut: G alone is loaded (F and D may be gone); real_A, fake_B, real_B
  for (const char* net : {"F", "D"}) fs::remove(exp + "/latest_net_" + std::string(net) + ".safetensors");
  Options t = default_options("cut", false);
  t.dataroot = data;
  t.checkpoints_dir = o.checkpoints_dir;
  t.name = o.name;
  t.netG = o.netG;
  t.ngf = o.ngf;
  t.results_dir = dir + "/results";
  const std::string folder = run_test(t, true);
  const std::string images = folder + "/images";
  CHECK(fs::exists(images + "/0_A_real_A.png"));
  CHECK(fs::exists(images + "/0_A_fake_B.png"));
  CHECK(fs::exists(images + "/0_A_real_B.png"));
  CHECK_FALSE(fs::exists(images + "/0_A_idt_B.png"));
}

TEST_CASE(
    "CUT and FastCUT runs stopped by SIGTERM mid-epoch and resumed end bit for bit where whole runs end") {
  const std::string dir = scratch("cut_resume");
  const std::string data = test::make_dataset(dir + "/data", 4, 3, 36, 36, 32);
  for (const std::string mode : {"CUT", "FastCUT"}) {
    CAPTURE(mode);
    Options straight = tiny_cut(data, dir + "/" + mode + "/straight", mode);
    straight.batch_size = mode == "CUT" ? 2 : 1;
    straight.n_epochs_decay = 1;  // epoch 2 decays: its images are resized to crop_size
    Options split = straight;
    split.checkpoints_dir = dir + "/" + mode + "/split";
    REQUIRE(run_training(straight, {nullptr, true}) == 0);
    // SIGTERM mid-epoch 1: the flips' and patch positions' generator, the three
    // Adams and schedules, and the position must all come back
    const int64_t after = straight.batch_size;
    const int rc = run_training(split, {[after](int64_t n) {
                                          if (n == after) std::raise(SIGTERM);
                                          return false;
                                        },
                                        true});
    CHECK(rc == 128 + SIGTERM);
    // the signal comes during step 1's stop check: step 2, in progress by then, was finished
    CHECK(saved_state(split, "latest").at("epoch_iter") == 2 * after);
    split.continue_train = true;
    REQUIRE(run_training(split, {nullptr, true}) == 0);
    expect_identical_checkpoints(straight, split, "latest");
    // and the run trained: G moved from its initial weights
    const auto G = safetensors::load(net_file(straight, "latest", "G")).tensors;
    cut::CUTModel fresh(straight, true);
    CHECK_FALSE(test::identical(G.at("model.1.weight"), fresh.netG->state_dict().at("model.1.weight")));
  }
}
