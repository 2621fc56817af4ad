// pix2pix through the training harness every model shares: its flags and defaults, a short run's
// files, an exact resume after SIGTERM, whole checkpoint sets through kill -9, the tester's train
// and eval modes, and the aligned data it reads.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "data/dataset.h"
#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/tester.h"
#include "models/common/trainer.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "models/networks/networks.h"
#include "models/pix2pix/pix2pix_model.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;
using cg::pix2pix::Pix2PixModel;
using cg::test::read_file;
using cg::test::scratch;
namespace fs = std::filesystem;

namespace {

Parsed parse(std::vector<std::string> args, bool train = true) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return train ? parse_train_args(static_cast<int>(argv.size()), argv.data())
               : parse_test_args(static_cast<int>(argv.size()), argv.data());
}

void expect_identical_checkpoints(const Options& a, const Options& b, const std::string& label) {
  for (const char* net : {"G", "D"}) {
    const std::string diff = test::first_difference(net_file(a, label, net), net_file(b, label, net));
    CHECK_MESSAGE(diff.empty(), net << ": " << diff);
  }
  const std::string diff = test::first_difference(state_file(a, label), state_file(b, label));
  CHECK_MESSAGE(diff.empty(), "training state: " << diff);
}

}  // namespace

TEST_CASE("--model pix2pix takes the official pix2pix defaults - in training and in testing") {
  const Parsed p = parse({"--model", "pix2pix"});
  REQUIRE_FALSE(p.exit_code);
  const Options& o = p.opt;
  CHECK(o.model == "pix2pix");
  CHECK(o.norm == "batch");
  CHECK(o.netG == "unet_256");
  CHECK(o.dataset_mode == "aligned");
  CHECK(o.pool_size == 0);
  CHECK(o.gan_mode == "vanilla");
  CHECK(o.get<double>("lambda_L1") == 100.0);
  CHECK_FALSE(o.no_dropout);  // the base default: pix2pix's U-Net has dropout
  CHECK(o.netD == "basic");
  CHECK(o.lr == 0.0002);
  CHECK(o.beta1 == 0.5);
  // the flags come with their model: --lambda_L1 is pix2pix's, --lambda_A CycleGAN's
  CHECK(parse({"--model", "pix2pix", "--lambda_L1", "10"}).opt.get<double>("lambda_L1") == 10.0);
  CHECK(parse({"--model=pix2pix", "--lambda_L1", "10"}).opt.get<double>("lambda_L1") == 10.0);
  CHECK(parse({"--model", "pix2pix", "--lambda_A", "5"}).exit_code == 2);
  CHECK(parse({"--lambda_L1", "10"}).exit_code == 2);  // --model cycle_gan, the default
  CHECK(parse({"--model", "cycle_gan", "--model", "pix2pix"}).opt.norm == "batch");  // the last wins
  CHECK(parse({"--model", "pix2pix", "--model", "cycle_gan"}).opt.norm == "instance");
  // cyclegan_test: G alone, no training flags; --model_suffix belongs to --model test
  const Options t = parse({"--model", "pix2pix"}, false).opt;
  CHECK(t.norm == "batch");
  CHECK(t.netG == "unet_256");
  CHECK(t.dataset_mode == "aligned");
  CHECK(t.phase == "test");
  CHECK_FALSE(t.no_dropout);
  CHECK(parse({"--model", "pix2pix", "--lambda_L1", "3"}, false).exit_code == 2);
  CHECK(parse({"--model", "pix2pix", "--model_suffix", "_A"}, false).exit_code == 2);
  // the options listing marks what differs from pix2pix's defaults, not CycleGAN's
  Options changed = o;
  changed.set("lambda_L1", 50);
  const std::string text = options_text(changed, true);
  CHECK(text.find("                     norm: batch                         \n") != std::string::npos);
  CHECK(text.find("                lambda_L1: 50.0                          \t[default: 100.0]\n") !=
        std::string::npos);
  CHECK(text.find("lambda_A") == std::string::npos);
  CHECK(options_text(default_options("cycle_gan", true), true).find("lambda_L1") == std::string::npos);
}

TEST_CASE("the test model's official defaults: dropout on (as --no_dropout is off) - BtoA reads output_nc") {
  CHECK_FALSE(parse({}, false).opt.no_dropout);
  CHECK(parse({"--model", "cycle_gan"}, false).opt.no_dropout);  // cycle_gan's set_defaults
  CHECK(parse({"--no_dropout"}, false).opt.no_dropout);
  // --model test under BtoA reads the images with output_nc channels (the official SingleDataset)
  const std::string root = scratch("single_btoa");
  data::write_png(root + "/x.png", data::Image{8, 8, 3, std::vector<uint8_t>(8 * 8 * 3, 90)});
  data::DatasetOptions d;
  d.dataroot = root;
  d.input_nc = 1;
  d.output_nc = 3;
  d.preprocess = {"none", 8, 8, false, 3};
  Generator g(1);
  CHECK(data::SingleDataset(d).get(0, g).A.size(0) == 1);
  d.a_to_b = false;
  CHECK(data::SingleDataset(d).get(0, g).A.size(0) == 3);
}

TEST_CASE("a bad name in any option is refused naming its flag") {
  struct Case {
    const char* flag;
    std::function<void(Options&)> bad;
  };
  const std::vector<Case> cases = {
      {"--netG", [](Options& o) { o.netG = "resnet_banana"; }},
      {"--netD", [](Options& o) { o.netD = "patch"; }},
      {"--norm", [](Options& o) { o.norm = "group"; }},
      {"--init_type", [](Options& o) { o.init_type = "uniform"; }},
      {"--gan_mode", [](Options& o) { o.gan_mode = "hinge"; }},
      {"--lr_policy", [](Options& o) { o.lr_policy = "exp"; }},
      {"--model", [](Options& o) { o.model = "pix2pixHD"; }},
      {"--dataset_mode", [](Options& o) { o.dataset_mode = "aligned"; }},
      {"--direction", [](Options& o) { o.direction = "AtoA"; }},
      {"--preprocess", [](Options& o) { o.preprocess = "zoom"; }},
      {"--device", [](Options& o) { o.device = "tpu"; }},
      {"--n_layers_D", [](Options& o) { o.n_layers_D = 0; }},
      {"--lr_decay_iters",
       [](Options& o) {
         o.lr_policy = "step";
         o.lr_decay_iters = 0;
       }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.flag);
    Options o = default_options("cycle_gan", true);
    c.bad(o);
    CHECK_THROWS_WITH_AS(validate_options(o, true), doctest::Contains(c.flag), Error);
  }
  Options o = default_options("pix2pix", true);
  o.set("lambda_L1", -1);
  CHECK_THROWS_WITH_AS(validate_options(o, true), doctest::Contains("--lambda_L1 must be >= 0"), Error);
  o = default_options("pix2pix", true);
  o.dataset_mode = "unaligned";
  CHECK_THROWS_WITH_AS(validate_options(o, true),
                       doctest::Contains("--dataset_mode: --model pix2pix reads paired AB images (aligned)"),
                       Error);
  // the networks' own errors name the flag too
  Generator g(0);
  CHECK_THROWS_WITH_AS(define_G(3, 3, 4, "resnet_banana", "instance", false, "normal", 0.02, g),
                       doctest::Contains("--netG 'resnet_banana'"), Error);
  CHECK_THROWS_WITH_AS(define_D(3, 4, "patch", 3, "instance", "normal", 0.02, g),
                       doctest::Contains("--netD 'patch'"), Error);
  CHECK_THROWS_WITH_AS(define_G(3, 3, 4, "resnet_1blocks", "group", false, "normal", 0.02, g),
                       doctest::Contains("--norm 'group'"), Error);
  // the command line prints it
  const auto [rc, out] = test::run_command(std::string(CG_BINARY_DIR) +
                                           "/apps/cyclegan_train --dataroot x --netG resnet_banana 2>&1");
  CHECK(rc == 1);
  CHECK(out.find("--netG 'resnet_banana' is not recognized") != std::string::npos);
}

TEST_CASE("a short pix2pix run writes G and D - the training state - pix2pix's loss logs and page") {
  const std::string dir = scratch("pix2pix_run");
  Options o =
      test::tiny_pix2pix(test::make_aligned_dataset(dir + "/data", 3, 2, 136, 136, 41), dir + "/ckpt");
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const std::string exp = experiment_dir(o);
  for (const char* f :
       {"latest_net_G.safetensors", "latest_net_D.safetensors", "latest_train_state.safetensors",
        "train_opt.txt", "loss_log.txt", "loss_log.csv", "web/index.html"})
    CHECK_MESSAGE(fs::exists(exp + "/" + f), f);
  CHECK_FALSE(fs::exists(exp + "/latest_net_G_A.safetensors"));
  // G's keys are the official U-Net's, D's the 6-channel PatchGAN's
  const auto G = safetensors::load(net_file(o, "latest", "G")),
             D = safetensors::load(net_file(o, "latest", "D"));
  CHECK(G.tensors.count("model.model.0.weight"));
  CHECK(G.tensors.count("model.model.1.model.3.model.2.running_var"));
  CHECK(D.tensors.at("model.0.weight").shape() == Shape{4, 6, 4, 4});
  const std::string csv = read_file(exp + "/loss_log.csv");
  CHECK(csv.rfind("epoch,iters,G_GAN,G_L1,D_real,D_fake\n", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 6);  // two epochs of 3 samples, printed every step
  const std::string txt = read_file(exp + "/loss_log.txt");
  CHECK(txt.find("G_GAN: ") != std::string::npos);
  CHECK(txt.find("D_fake: ") != std::string::npos);
  const auto st =
      nlohmann::json::parse(safetensors::load(state_file(o, "latest")).metadata.at("train_state"));
  CHECK(st.at("model") == "pix2pix");
  CHECK(st.at("version") == 3);
  CHECK(st.at("total_iters") == 6);
  CHECK(st.contains("scheduler_G"));
  CHECK(st.contains("scheduler_D"));
  CHECK_FALSE(st.contains("fake_A_pool"));
  const auto state = safetensors::load(state_file(o, "latest"));
  CHECK(state.tensors.count("optimizer_G.0.exp_avg"));
  CHECK(state.tensors.count("optimizer_D.0.exp_avg"));
  const std::string page = read_file(exp + "/web/index.html");
  CHECK(page.find("p2p - pix2pix training") != std::string::npos);
  CHECK(page.find("L1 loss") != std::string::npos);
  for (const char* v : {"real_A", "fake_B", "real_B"}) CHECK_MESSAGE(page.find(v) != std::string::npos, v);
  CHECK(page.find("rec_A") == std::string::npos);
  // the kept rows show the three visuals in the official order
  const size_t a = page.find("_real_A.png"), f = page.find("_fake_B.png"), b = page.find("_real_B.png");
  CHECK((a < f && f < b));
  const std::string opts = read_file(exp + "/train_opt.txt");
  CHECK(opts.find("                lambda_L1: 100.0") != std::string::npos);
  CHECK(opts.find("                    model: pix2pix") != std::string::npos);
}

TEST_CASE(
    "a pix2pix run stopped by SIGTERM mid-epoch and resumed ends bit for bit where an uninterrupted one "
    "ends") {
  const std::string dir = scratch("pix2pix_resume");
  const std::string data = test::make_aligned_dataset(dir + "/data", 5, 1, 136, 136, 42);
  Options straight = test::tiny_pix2pix(data, dir + "/straight");
  straight.display_freq = 1000;
  Options split = straight;
  split.checkpoints_dir = dir + "/split";
  REQUIRE(run_training(straight, {nullptr, true}) == 0);
  // SIGTERM after step 2 of epoch 1 (5 samples an epoch); dropout draws, batch norms' running
  // statistics and both Adams must all come back
  const int rc = run_training(split, {[](int64_t n) {
                                        if (n == 2) std::raise(SIGTERM);
                                        return false;
                                      },
                                      true});
  CHECK(rc == 128 + SIGTERM);
  const auto mid =
      nlohmann::json::parse(safetensors::load(state_file(split, "latest")).metadata.at("train_state"));
  CHECK(mid.at("epoch_iter") == 3);  // the step in progress when the signal came was finished
  split.continue_train = true;
  REQUIRE(run_training(split, {nullptr, true}) == 0);
  expect_identical_checkpoints(straight, split, "latest");
}

TEST_CASE("kill -9 while a pix2pix run saves every step leaves a loadable set - --continue_train resumes") {
  const std::string dir = scratch("pix2pix_kill9");
  const std::string data = test::make_aligned_dataset(dir + "/data", 3, 1, 136, 136, 43);
  const std::vector<std::string> base =
      test::tiny_pix2pix_command(data, dir + "/ckpt", {"--save_latest_freq", "1", "--num_threads", "0"});
  std::vector<std::string> resume = base;
  resume.insert(resume.end(), {"--continue_train", "--n_epochs", "1"});  // ends at once: a load and a save
  std::mt19937 rng(8);
  const std::string first = dir + "/ckpt/p2p/latest_train_state.safetensors";
  int kills = 0;
  for (int trial = 0; trial < 4; ++trial) {
    CAPTURE(trial);
    fs::remove_all(dir + "/ckpt");
    const pid_t pid = test::spawn(base, dir + "/train.log");
    REQUIRE(pid > 0);
    for (int i = 0; i < 1500 && !fs::exists(first); ++i) usleep(20000);
    usleep(std::uniform_int_distribution<int>(0, 300000)(rng));
    if (kill(pid, SIGKILL) == 0) ++kills;
    test::wait_exit(pid);
    const int rc = test::wait_exit(test::spawn(resume, dir + "/resume.log"));
    CHECK_MESSAGE(rc == 0, read_file(dir + "/resume.log"));
    std::vector<std::string> leftovers;
    for (const auto& e : fs::directory_iterator(dir + "/ckpt/p2p")) {
      const std::string f = e.path().filename().string();
      if (f.ends_with(".new") || f.ends_with(".tmp") || f.ends_with(".commit")) leftovers.push_back(f);
    }
    CHECK_MESSAGE(leftovers.empty(), (leftovers.empty() ? std::string() : leftovers[0]));
  }
  CHECK(kills == 4);
  // SIGTERM to the program: the step is finished, 'latest' saved, exit 143
  fs::remove_all(dir + "/ckpt");
  const pid_t pid = test::spawn(base, dir + "/term.log");
  for (int i = 0; i < 1500 && !fs::exists(first); ++i) usleep(20000);
  REQUIRE(kill(pid, SIGTERM) == 0);
  CHECK(test::wait_exit(pid) == 143);
  CHECK(read_file(dir + "/term.log").find("terminated (SIGTERM): saved 'latest'") != std::string::npos);
}

TEST_CASE("one model's experiment is refused by another - naming the model it holds") {
  const std::string dir = scratch("pix2pix_other_model");
  Options o =
      test::tiny_pix2pix(test::make_aligned_dataset(dir + "/data", 2, 1, 136, 136, 44), dir + "/ckpt");
  o.n_epochs_decay = 0;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  // as a CycleGAN: its G_A is missing, and the message says what the folder holds
  Options c = default_options("cycle_gan", true);
  c.checkpoints_dir = o.checkpoints_dir;
  c.name = o.name;
  c.dataroot = o.dataroot;
  c.continue_train = true;
  cyclegan::CycleGANModel cyc(c, true);
  CHECK_THROWS_WITH_AS(load_checkpoint(cyc, "latest"),
                       doctest::Contains("holds one generator G (pix2pix): use --model pix2pix"), Error);
  // a training state of another model
  Pix2PixModel p(o, true);
  const auto state = safetensors::load(state_file(o, "latest"));
  auto st = nlohmann::json::parse(state.metadata.at("train_state"));
  st["model"] = "cycle_gan";
  CHECK_THROWS_WITH_AS(
      restore_train_state(p, {state.tensors, {{"train_state", st.dump()}}, {}}, "'s'", st.at("checkpoint")),
      doctest::Contains("is the training state of a --model cycle_gan run, not of --model pix2pix"), Error);
  // a state of before version 3 is CycleGAN's
  st.erase("model");
  CHECK_THROWS_WITH_AS(
      restore_train_state(p, {state.tensors, {{"train_state", st.dump()}}, {}}, "'s'", st.at("checkpoint")),
      doctest::Contains("--model cycle_gan run"), Error);
}

TEST_CASE("cyclegan_test --model pix2pix keeps train mode (dropout - batch statistics) unless --eval") {
  const std::string dir = scratch("pix2pix_test_modes");
  Options o =
      test::tiny_pix2pix(test::make_aligned_dataset(dir + "/data", 2, 3, 128, 128, 45), dir + "/ckpt");
  o.load_size = 128;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  Options t = default_options("pix2pix", false);
  t.dataroot = o.dataroot;
  t.checkpoints_dir = o.checkpoints_dir;
  t.name = o.name;
  t.netG = "unet_128";
  t.ngf = 4;
  t.load_size = t.crop_size = 128;
  auto run = [&](const std::string& results, bool eval, uint64_t seed) {
    t.results_dir = dir + "/" + results;
    t.eval = eval;
    t.seed = seed;
    const std::string folder = run_test(t, true);
    return data::read_image(folder + "/images/1_fake_B.png", 3).pixels;
  };
  const auto eval1 = run("eval1", true, 1), eval2 = run("eval2", true, 2);
  const auto train1 = run("train1", false, 1), train1b = run("train1b", false, 1),
             train2 = run("train2", false, 2);
  CHECK(eval1 == eval2);     // eval mode: no dropout, running statistics: the seed changes nothing
  CHECK(train1 != eval1);    // train mode: batch statistics and dropout
  CHECK(train1 == train1b);  // seeded: the same draws again
  CHECK(train1 != train2);   // dropout draws from --seed
  // eval mode is the network's own eval forward on the test image
  Pix2PixModel m(t, false);
  load_network(*m.netG, net_file(o, "latest", "G"));
  m.netG->eval();
  data::DatasetOptions d;
  d.dataroot = o.dataroot;
  d.phase = "test";
  d.preprocess = {"resize_and_crop", 128, 128, false, 3};
  Generator g(0);
  const data::Sample s = data::AlignedDataset(d).get(1, g);
  m.set_input(s.A.reshape({1, 3, 128, 128}), s.B.reshape({1, 3, 128, 128}));
  m.test();
  CHECK(data::from_tensor(m.fake_B).pixels == eval1);
  // every test image gets its three visuals
  for (int i = 0; i < 3; ++i)
    for (const char* v : {"real_A", "fake_B", "real_B"})
      CHECK(fs::exists(dir + "/eval1/p2p/test_latest/images/" + std::to_string(i) + "_" + v + ".png"));
}
