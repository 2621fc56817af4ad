// Validation during training (--val_freq, models/common/validation.h): val_log.csv, the page's
// charts, checkpoint 'best', weights equal to a run without validation (CycleGAN's pools and
// shuffles; pix2pix's dropout and batch norm), scores equal to the tester's saved results, the
// best score through a resume, the data it reads and the errors when there is none.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/fwd.h"
#include "data/score.h"
#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/tester.h"
#include "models/common/trainer.h"
#include "models/common/validation.h"

using namespace cg;
using namespace cg::models;
using cg::test::make_aligned_dataset;
using cg::test::make_dataset;
using cg::test::read_file;
using cg::test::scratch;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The tiny CycleGAN of test_train.cpp: 2 epochs of unpaired samples, an image pool that fills
// and draws, shuffled crops and flips.
Options tiny_cyclegan(const std::string& data, const std::string& ckpt) {
  Options o = test::tiny_experiment(data, ckpt);
  o.pool_size = 3;
  o.n_epochs = 1;
  o.n_epochs_decay = 1;
  o.print_freq = 2;
  o.display_freq = 4;
  o.save_latest_freq = 1000;
  o.num_threads = 2;
  o.seed = 7;
  o.lr_policy =
      "step";  // a constant rate (the linear one is 0 in the last epoch): every epoch moves the weights
  return o;
}

// test::tiny_pix2pix at a constant rate (as tiny_cyclegan), so every epoch moves the weights.
Options tiny_pix2pix(const std::string& data, const std::string& ckpt) {
  Options o = test::tiny_pix2pix(data, ckpt);
  o.lr_policy = "step";
  return o;
}

json state_json(const Options& o, const std::string& label) {
  return json::parse(safetensors::load(state_file(o, label)).metadata.at("train_state"));
}

// Checkpoint `label` of a and b: every tensor bit for bit, and the JSON part but for the save's
// id and the best validation score (only one of them validated).
void expect_same_training(const Options& a, const Options& b, const std::string& label,
                          const std::vector<std::string>& nets) {
  for (const std::string& net : nets) {
    const std::string diff = test::first_difference(net_file(a, label, net), net_file(b, label, net));
    CHECK_MESSAGE(diff.empty(), net << ": " << diff);
  }
  const std::string diff = test::first_difference(state_file(a, label), state_file(b, label));
  CHECK_MESSAGE(diff.empty(), "training state: " << diff);
  json x = state_json(a, label), y = state_json(b, label);
  for (json* j : {&x, &y}) {
    j->erase("checkpoint");
    j->erase("best_val");
  }
  CHECK(x == y);  // position, schedules, generators, pools' draws
}

// val_log.csv's rows as column -> value
std::vector<std::map<std::string, double>> val_rows(const Options& o) {
  std::stringstream in(read_file(experiment_dir(o) + "/val_log.csv"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  {
    std::stringstream h(line);
    for (std::string c; std::getline(h, c, ',');) names.push_back(c);
  }
  std::vector<std::map<std::string, double>> rows;
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::map<std::string, double> row;
    size_t k = 0;
    for (std::string c; std::getline(cells, c, ','); ++k) row[names.at(k)] = std::strtod(c.c_str(), nullptr);
    CHECK(k == names.size());
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("--val_freq 1: val_log.csv - the page's charts - 'best' - and the weights of a run without it") {
  const std::string dir = scratch("val_cyclegan");
  const std::string data = make_dataset(dir + "/data", 6, 6, 36, 36, 91);
  const Options plain = tiny_cyclegan(data, dir + "/plain");
  Options val = tiny_cyclegan(data, dir + "/val");
  val.val_freq = 1;
  REQUIRE(run_training(plain, {nullptr, true}) == 0);
  REQUIRE(run_training(val, {nullptr, true}) == 0);
  // validation drew nothing from the pools', the loader's or the default generators
  expect_same_training(plain, val, "latest", {"G_A", "G_B", "D_A", "D_B"});
  CHECK_FALSE(fs::exists(experiment_dir(plain) + "/val_log.csv"));
  CHECK_FALSE(fs::exists(net_file(plain, "best", "G_A")));

  // testA/i_A.png and testB/i_B.png pair up by number: paired scores, and best by psnr
  const std::string csv = read_file(experiment_dir(val) + "/val_log.csv");
  CHECK(csv.rfind("epoch,iters,total_iters,images,pairs,rmse,accuracy,psnr,ssim,fwd\n", 0) == 0);
  const auto rows = val_rows(val);
  REQUIRE(rows.size() == 2);
  for (size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    const auto& r = rows[i];
    CHECK(r.at("epoch") == static_cast<double>(i + 1));
    CHECK(r.at("iters") == 6);
    CHECK(r.at("total_iters") == 6.0 * static_cast<double>(i + 1));
    CHECK(r.at("images") == 6);
    CHECK(r.at("pairs") == 6);
    CHECK((r.at("rmse") > 0 && r.at("rmse") < 255));
    CHECK((r.at("accuracy") >= 0 && r.at("accuracy") <= 1));
    CHECK((r.at("psnr") > 0 && std::isfinite(r.at("psnr"))));
    CHECK((r.at("ssim") > -1 && r.at("ssim") < 1));
    CHECK((r.at("fwd") > 0 && std::isfinite(r.at("fwd"))));
  }
  // 'best' is the epoch of the higher PSNR (the first on a tie: only a better score replaces it), a whole
  // checkpoint with its score in its state
  const int best_epoch = rows[0].at("psnr") >= rows[1].at("psnr") ? 1 : 2;
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    CHECK_MESSAGE(fs::exists(net_file(val, "best", net)), net);
  const json best = state_json(val, "best").at("best_val");
  CHECK(best.at("metric") == "psnr");
  CHECK(best.at("epoch") == best_epoch);
  CHECK(best.at("value").get<double>() == doctest::Approx(rows[best_epoch - 1].at("psnr")).epsilon(1e-8));
  CHECK(state_json(val, "best").at("epoch") == best_epoch);
  CHECK(state_json(val, "latest").at("best_val") == best);  // what a resume takes
  if (best_epoch == 2)                                      // the final weights: the same as 'latest'
    CHECK(test::first_difference(net_file(val, "best", "G_A"), net_file(val, "latest", "G_A")).empty());
  else
    CHECK_FALSE(test::first_difference(net_file(val, "best", "G_A"), net_file(val, "latest", "G_A")).empty());
  // the page charts every score taken, a dot per validation
  const std::string page = read_file(experiment_dir(val) + "/web/index.html");
  CHECK(page.find("<h2>Validation</h2>") != std::string::npos);
  for (const char* t : {"psnr (higher is better)", "ssim (higher is better)", "rmse (lower is better)",
                        "accuracy (higher is better)", "fwd (lower is better)"})
    CHECK_MESSAGE(page.find(t) != std::string::npos, t);
  CHECK(page.find("<circle") != std::string::npos);
  CHECK(read_file(experiment_dir(plain) + "/web/index.html").find("Validation") == std::string::npos);
}

TEST_CASE("validation scores what the tester saves: the same PSNR - SSIM - RMSE - accuracy and FWD") {
  // the last validation (after the last epoch) used the final weights, which 'latest' holds;
  // cyclegan_test --eval translates the test split with them, and cyclegan_score scores its
  // fake_B against its real_B
  const std::string dir = scratch("val_vs_tester");
  Options o = tiny_cyclegan(make_dataset(dir + "/data", 4, 4, 36, 36, 92), dir + "/ckpt");
  o.val_freq = 2;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const auto rows = val_rows(o);
  REQUIRE(rows.size() == 1);
  Options t = default_options("cycle_gan", false);
  t.dataroot = o.dataroot;
  t.checkpoints_dir = o.checkpoints_dir;
  t.results_dir = dir + "/results";
  t.name = o.name;
  t.ngf = o.ngf;
  t.netG = o.netG;
  t.load_size = t.crop_size = o.crop_size;
  t.eval = true;
  t.seed = o.seed;
  const std::string images = run_test(t, true) + "/images";
  data::ScoreOptions so;
  so.result_label = "fake_B";
  so.truth_label = "real_B";
  so.fwd = true;
  const data::Score s = data::score_folders(images, images, so);
  CHECK(s.pairs.size() == 4);
  CHECK(rows[0].at("psnr") == doctest::Approx(s.psnr).epsilon(1e-8));
  CHECK(rows[0].at("ssim") == doctest::Approx(s.ssim).epsilon(1e-8));
  CHECK(rows[0].at("rmse") == doctest::Approx(s.rmse).epsilon(1e-8));
  CHECK(rows[0].at("accuracy") == doctest::Approx(s.accuracy).epsilon(1e-8));
  CHECK(rows[0].at("fwd") == doctest::Approx(*s.fwd).epsilon(1e-8));
}

TEST_CASE("pix2pix with --val_freq 1 trains exactly as without: dropout and batch norm come back") {
  const std::string dir = scratch("val_pix2pix");
  // aligned data with no val split: the test split validates
  const std::string data = make_aligned_dataset(dir + "/data", 3, 3, 136, 136, 93);
  const Options plain = tiny_pix2pix(data, dir + "/plain");
  Options val = tiny_pix2pix(data, dir + "/val");
  val.val_freq = 1;
  REQUIRE(run_training(plain, {nullptr, true}) == 0);
  REQUIRE(run_training(val, {nullptr, true}) == 0);
  expect_same_training(plain, val, "latest", {"G", "D"});
  const auto rows = val_rows(val);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].at("pairs") == 3);
  CHECK(std::isfinite(rows[1].at("psnr")));
  CHECK(state_json(val, "latest").at("best_val").at("metric") == "psnr");
  // eval mode: running statistics, no dropout, so the scores do not depend on the seed's draws;
  // and the modes are put back exactly, mixed ones included
  Options o = val;
  o.name = "modes";
  const std::unique_ptr<Model> m = create_model(o, true);
  const Validator v(o, *m);
  // mixed modes: some subtrees in eval mode, some of their modules back in train mode
  int k = 0;
  for (const auto& [name, net] : m->networks())
    for (const auto& [path, mod] : net->named_modules()) {
      if (k % 3 == 1) mod->train(false);
      if (k % 7 == 4) mod->train(true);
      ++k;
    }
  std::vector<std::pair<nn::Module*, bool>> before;
  int evals = 0;
  for (const auto& [name, net] : m->networks())
    for (const auto& [path, mod] : net->named_modules()) {
      before.emplace_back(mod, mod->is_training());
      evals += !mod->is_training();
    }
  REQUIRE((evals > 0 && evals < static_cast<int>(before.size())));
  const std::string cpu = default_generator(Device::CPU).state();
  const ValidationScores a = v.run(*m, [](const std::string& w) { FAIL(w); });
  const ValidationScores b = v.run(*m, [](const std::string& w) { FAIL(w); });
  CHECK(default_generator(Device::CPU).state() == cpu);
  for (const auto& [mod, on] : before) CHECK(mod->is_training() == on);
  CHECK(a.psnr == b.psnr);
  CHECK(a.fwd == b.fwd);
  // whatever mode the networks are in, validation translates in eval mode: the same scores
  for (const auto& [name, net] : m->networks()) net->train(true);
  CHECK(v.run(*m, [](const std::string&) {}).psnr == a.psnr);
  for (const auto& [name, net] : m->networks()) CHECK(net->is_training());
}

TEST_CASE("resume keeps the best validation score - a state without one loads - a new metric starts anew") {
  const std::string dir = scratch("val_resume");
  const std::string data = make_dataset(dir + "/data", 6, 6, 36, 36, 94);
  Options straight = tiny_cyclegan(data, dir + "/straight");
  straight.val_freq = 1;
  straight.n_epochs = 2;  // 3 epochs
  Options split = straight;
  split.checkpoints_dir = dir + "/split";
  REQUIRE(run_training(straight, {nullptr, true}) == 0);
  // stopped after the last step of epoch 1, before its end (and its validation): the resume runs it
  REQUIRE(run_training(split, {[](int64_t n) { return n == 6; }, true}) == 0);
  CHECK_FALSE(fs::exists(experiment_dir(split) + "/val_log.csv"));
  split.continue_train = true;
  REQUIRE(run_training(split, {nullptr, true}) == 0);
  expect_same_training(straight, split, "latest", {"G_A", "G_B", "D_A", "D_B"});
  CHECK(read_file(experiment_dir(split) + "/val_log.csv") ==
        read_file(experiment_dir(straight) + "/val_log.csv"));
  CHECK(state_json(split, "latest").at("best_val") == state_json(straight, "latest").at("best_val"));
  CHECK(state_json(split, "best").at("best_val") == state_json(straight, "best").at("best_val"));
  CHECK(test::first_difference(net_file(split, "best", "G_A"), net_file(straight, "best", "G_A")).empty());

  // a state without a best score (a run without validation) loads, and the resumed run validates
  Options old = tiny_cyclegan(data, dir + "/old");
  REQUIRE(run_training(old, {[](int64_t n) { return n == 6; }, true}) == 0);
  CHECK_FALSE(state_json(old, "latest").contains("best_val"));
  old.continue_train = true;
  old.val_freq = 1;
  REQUIRE(run_training(old, {nullptr, true}) == 0);
  CHECK(val_rows(old).size() == 2);
  CHECK(state_json(old, "latest").at("best_val").at("metric") == "psnr");

  // another metric is not comparable: the resumed run keeps its own best by fwd (epochs 2 and 3)
  Options other = straight;
  other.checkpoints_dir = dir + "/other";
  REQUIRE(run_training(other, {[](int64_t n) { return n == 12; }, true}) == 0);  // epoch 1 validated
  REQUIRE(state_json(other, "latest").at("best_val").at("metric") == "psnr");
  other.continue_train = true;
  other.val_metric = "fwd";
  REQUIRE(run_training(other, {nullptr, true}) == 0);
  const auto rows = val_rows(other);
  REQUIRE(rows.size() == 3);
  const int fwd_best = rows[2].at("fwd") < rows[1].at("fwd") ? 3 : 2;
  const json b = state_json(other, "latest").at("best_val");
  CHECK(b.at("metric") == "fwd");
  CHECK(b.at("epoch") == fwd_best);
  CHECK(b.at("value").get<double>() ==
        doctest::Approx(rows[static_cast<size_t>(fwd_best - 1)].at("fwd")).epsilon(1e-8));
}

TEST_CASE(
    "unpaired validation data is scored by FWD - the val split comes before test - --val_max bounds it") {
  const std::string dir = scratch("val_unpaired");
  // 4 A and 5 B images: the numbers do not pair one to one
  const std::string data = make_dataset(dir + "/data", 4, 5, 36, 36, 95);
  Options o = tiny_cyclegan(data, dir + "/ckpt");
  o.n_epochs_decay = 0;
  o.val_freq = 1;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  auto rows = val_rows(o);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at("images") == 4);
  CHECK(rows[0].at("pairs") == 0);
  CHECK(std::isnan(rows[0].at("psnr")));
  CHECK(std::isfinite(rows[0].at("fwd")));
  CHECK(state_json(o, "best").at("best_val").at("metric") == "fwd");
  // a paired metric on unpaired data is refused before anything is written
  o.name = "psnr";
  o.val_metric = "psnr";
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}),
                       doctest::Contains("--val_metric psnr needs validation images that pair up"), Error);
  CHECK_FALSE(fs::exists(experiment_dir(o)));
  // --val_max 3: 3 images a domain, which pair up (0, 1, 2)
  o.name = "max3";
  o.val_max = 3;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  rows = val_rows(o);
  CHECK(rows[0].at("images") == 3);
  CHECK(rows[0].at("pairs") == 3);
  // a val split wins over test; --val_dataroot names another folder
  const std::string other = dir + "/other";
  fs::create_directories(other);
  fs::copy(data + "/testA", other + "/valA", fs::copy_options::recursive);
  fs::copy(data + "/testB", other + "/valB", fs::copy_options::recursive);
  fs::remove(other + "/valA/3_A.png");
  fs::remove(other + "/valB/3_B.png");
  fs::remove(other + "/valB/4_B.png");
  o.name = "elsewhere";
  o.val_max = std::numeric_limits<int64_t>::max();
  o.val_metric = "auto";
  o.val_dataroot = other;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  rows = val_rows(o);
  CHECK(rows[0].at("images") == 3);
  CHECK(rows[0].at("pairs") == 3);
  CHECK(state_json(o, "best").at("best_val").at("data").get<std::string>().find(other + "/valA") !=
        std::string::npos);
}

TEST_CASE("validation flags and data: clear errors naming the flag and the folders - before any file") {
  const std::string dir = scratch("val_errors");
  const std::string data = make_dataset(dir + "/data", 2, 2, 36, 36, 96);
  Options o = tiny_cyclegan(data, dir + "/ckpt");
  auto refused = [&](const Options& bad, const std::string& words) {
    CAPTURE(words);
    CHECK_THROWS_WITH_AS(run_training(bad, {nullptr, true}), doctest::Contains(words.c_str()), Error);
    CHECK_FALSE(fs::exists(experiment_dir(bad)));
  };
  Options b = o;
  b.val_freq = -1;
  refused(b, "--val_freq must be >= 0");
  b = o;
  b.val_freq = 1;
  b.val_metric = "fid";
  refused(b, "--val_metric must be auto, rmse, accuracy, psnr, ssim or fwd, got 'fid'");
  b.val_metric = "auto";
  b.val_max = 0;
  refused(b, "--val_max must be >= 1");
  b = o;
  b.val_dataroot = data;  // without --val_freq it would do nothing
  refused(b, "--val_dataroot, --val_metric and --val_max need --val_freq N > 0");
  // no val or test split
  b = o;
  b.val_freq = 1;
  b.val_dataroot = dir + "/empty";
  fs::create_directories(b.val_dataroot);
  refused(b, "--val_freq 1: no validation data: --val_dataroot '" + b.val_dataroot + "' has neither '" +
                 b.val_dataroot + "/valA' and '" + b.val_dataroot + "/valB' nor '" + b.val_dataroot +
                 "/testA' and '" + b.val_dataroot + "/testB'");
  fs::create_directories(b.val_dataroot + "/valA");
  refused(b, "'" + b.val_dataroot + "/valA' is there but '" + b.val_dataroot + "/valB' is not");
  // aligned data names its folders
  Options p = tiny_pix2pix(make_aligned_dataset(dir + "/ab", 2, 0, 136, 136, 97), dir + "/ckpt");
  fs::remove_all(dir + "/ab/test");
  p.val_freq = 1;
  refused(p, "--dataroot '" + dir + "/ab' has neither '" + dir + "/ab/val' nor '" + dir + "/ab/test'");
  // FWD needs 2 images a set
  b = o;
  b.val_freq = 1;
  b.val_metric = "fwd";
  b.val_max = 1;
  refused(b, "--val_metric fwd needs at least 2 validation images per domain");
  // the flags are cyclegan_train's, listed in --help
  std::vector<std::string> args = {"prog", "--val_freq",     "2", "--val_metric", "ssim", "--val_max",
                                   "all",  "--val_dataroot", "v"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  const Parsed q = parse_train_args(static_cast<int>(argv.size()), argv.data());
  REQUIRE_FALSE(q.exit_code);
  CHECK((q.opt.val_freq == 2 && q.opt.val_metric == "ssim" && q.opt.val_dataroot == "v" &&
         q.opt.val_max == std::numeric_limits<int64_t>::max()));
  const Options d = default_options("cycle_gan", true);
  CHECK((d.val_freq == 0 && d.val_metric == "auto" && d.val_dataroot.empty()));
  CHECK(options_text(d, true).find("                  val_max: all") != std::string::npos);
}
