// cyclegan_test, cyclegan_score and autograd_demo: output names and sizes, the results page, known
// scores and their boundaries, exit codes.
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "data/edges.h"
#include "data/image.h"
#include "data/score.h"
#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/tester.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "models/networks/networks.h"
#include "nn/safetensors.h"

using namespace cg;
using namespace cg::models;
using namespace cg::cyclegan;
using cg::test::read_file;
namespace fs = std::filesystem;

namespace {
std::string scratch_dir(const std::string& name) {
  const fs::path p = fs::path(CG_BINARY_DIR) / "test_tmp" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// A fresh folder with empty res/ (results) and gt/ (ground truth) for a scoring test.
std::string score_dirs(const std::string& name) {
  const std::string dir = scratch_dir(name);
  fs::create_directories(dir + "/res");
  fs::create_directories(dir + "/gt");
  return dir;
}

data::Image solid(int w, int h, int ch, uint8_t v) {
  return data::Image{w, h, ch, std::vector<uint8_t>(static_cast<size_t>(w) * h * ch, v)};
}

// cyclegan_test's options for an experiment of small generators under DIR.
Options test_options(const std::string& dir) {
  Options o = default_options("test", false);
  o.no_dropout = true;  // as a cycle_gan run's generators are built (the official: pass --no_dropout)
  o.checkpoints_dir = dir + "/ckpt";
  o.results_dir = dir + "/results";
  o.name = "exp";
  o.ngf = 4;
  o.netG = "resnet_1blocks";
  return o;
}

// A small generator's weights saved as CHECKPOINTS/NAME/<epoch>_net_<net>.safetensors. With dropout
// built in, the weights are drawn large enough that what dropout drops shows in 8-bit output.
void save_generator(const Options& o, const std::string& net, int in_nc, int out_nc, bool dropout = false) {
  Generator g(1);
  auto G = define_G(in_nc, out_nc, o.ngf, o.netG, o.norm, dropout, "normal", dropout ? 0.3 : 0.02, g);
  fs::create_directories(experiment_dir(o));
  safetensors::save(net_file(o, o.epoch, net), G->state_dict());
}

// An image with texture: a flat one is flattened to zeros by the generator's first instance norm.
data::Image textured(int w, int h) {
  data::Image im = solid(w, h, 3, 0);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>(i * 7919 % 251);
  return im;
}

// An experiment for cyclegan_test --model test over DIR/images, with a saved G_A of test_options'
// network; the caller writes the images.
Options model_test_options(const std::string& dir) {
  Options o = test_options(dir);
  o.set("model_suffix", "_A");
  o.preprocess = "none";
  o.dataroot = dir + "/images";
  fs::create_directories(o.dataroot);
  save_generator(o, "G_A", 3, 3);
  return o;
}

// The same run as a command line of the program, results under DIR/r.
std::string model_test_command(const Options& o, const std::string& dir) {
  return std::string(CG_BINARY_DIR) + "/apps/cyclegan_test --dataroot " + o.dataroot + " --checkpoints_dir " +
         o.checkpoints_dir + " --results_dir " + dir + "/r --name exp --ngf 4 --netG resnet_1blocks" +
         " --model_suffix _A --preprocess none --no_dropout";
}

// Every src='...' of a page names a file that exists; returns how many there are.
int check_page_references(const std::string& page_path) {
  const std::string page = read_file(page_path), base = fs::path(page_path).parent_path().string();
  int refs = 0;
  for (size_t at = page.find("src='"); at != std::string::npos; at = page.find("src='", at + 1)) {
    const std::string file = page.substr(at + 5, page.find('\'', at + 5) - at - 5);
    CHECK_MESSAGE(fs::exists(base + "/" + file), file);
    ++refs;
  }
  return refs;
}
}  // namespace

TEST_CASE(
    "--model test keeps an odd-sized input's size rounded to a multiple of 4 and names files as the "
    "official") {
  const std::string dir = scratch_dir("model_test");
  Options o = model_test_options(dir);
  o.model = "test";
  data::write_png(o.dataroot + "/odd.png",
                  solid(37, 30, 3, 90));  // 37/4 = 9.25 -> 36; 30/4 = 7.5 -> 8 (ties to even) -> 32
  data::write_png(o.dataroot + "/square.png", solid(40, 24, 3, 200));
  const std::string folder = run_test(o, true);
  CHECK(folder == dir + "/results/exp/test_latest");
  const data::Image fake = data::read_image(folder + "/images/odd_fake.png", 3);
  CHECK(fake.width == 36);
  CHECK(fake.height == 32);
  CHECK(data::read_image(folder + "/images/odd_real.png", 3).width == 36);
  CHECK(data::read_image(folder + "/images/square_fake.png", 3).width == 40);
  CHECK(check_page_references(folder + "/index.html") == 4);
  CHECK(read_file(folder + "/index.html").find("Experiment = exp, Phase = test, Epoch = latest") !=
        std::string::npos);
  // --num_test limits the count; a missing generator file is named
  o.num_test = 1;
  o.results_dir = dir + "/results1";
  CHECK(fs::exists(run_test(o, true) + "/images/odd_fake.png"));
  CHECK_FALSE(fs::exists(dir + "/results1/exp/test_latest/images/square_fake.png"));
  o.set("model_suffix", "_B");
  CHECK_THROWS_WITH_AS(run_test(o, true), doctest::Contains("latest_net_G_B.safetensors"), Error);
  // --load_iter N: the weights of iter_N, the results in <phase>_<epoch>_iterN (the official web_dir)
  o.set("model_suffix", "_A");
  o.load_iter = 3;
  CHECK_THROWS_WITH_AS(run_test(o, true), doctest::Contains("iter_3_net_G_A.safetensors"), Error);
  fs::copy_file(net_file(o, "latest", "G_A"), net_file(o, "iter_3", "G_A"));
  CHECK(run_test(o, true) == dir + "/results1/exp/test_latest_iter3");
  CHECK(fs::exists(dir + "/results1/exp/test_latest_iter3/images/odd_fake.png"));
}

TEST_CASE("cyclegan_test: a too-small image is skipped by name - the rest translated - exit 1") {
  const std::string dir = scratch_dir("small_image");
  Options o = model_test_options(dir);
  data::write_png(o.dataroot + "/a_big.png", solid(32, 32, 3, 90));
  data::write_png(o.dataroot + "/b_tiny.png", solid(4, 4, 3, 90));
  data::write_png(o.dataroot + "/c_big.png", solid(24, 28, 3, 10));
  std::vector<std::string> failed;
  const std::string folder = run_test(o, true, &failed);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].find("b_tiny.png") != std::string::npos);
  CHECK(fs::exists(folder + "/images/a_big_fake.png"));
  CHECK(fs::exists(folder + "/images/c_big_fake.png"));
  CHECK_FALSE(fs::exists(folder + "/images/b_tiny_fake.png"));
  const auto [rc, out] = test::run_command(model_test_command(o, dir) + " 2>&1");
  CHECK(rc == 1);
  CHECK(out.find("cannot translate '" + o.dataroot + "/b_tiny.png'") != std::string::npos);
  CHECK(fs::exists(dir + "/r/exp/test_latest/images/c_big_fake.png"));
}

TEST_CASE("cyclegan_test prints the official progress line every fifth image - its page escapes names") {
  const std::string dir = scratch_dir("test_progress");
  Options o = model_test_options(dir);
  for (const char* name : {"a0", "a1", "a2", "a3", "a4", "it's"})  // index 5: the apostrophe
    data::write_png(o.dataroot + "/" + name + ".png", solid(16, 16, 3, 90));
  const auto [rc, out] = test::run_command(model_test_command(o, dir) + " 2>&1");
  CHECK(rc == 0);
  CHECK(out.find("processing (0000)-th image... ['" + o.dataroot + "/a0.png']") != std::string::npos);
  CHECK(out.find("processing (0005)-th image... ['" + o.dataroot + "/it's.png']") != std::string::npos);
  CHECK(out.find("(0001)") == std::string::npos);
  const std::string folder = dir + "/r/exp/test_latest";
  CHECK(fs::exists(folder + "/images/it's_fake.png"));
  // the page quotes its attributes with ', so a name's ' is written &#39;
  const std::string page = read_file(folder + "/index.html");
  CHECK(page.find("src='images/it&#39;s_fake.png'") != std::string::npos);
  CHECK(page.find("it's") == std::string::npos);
}

TEST_CASE("cyclegan_test --max_pixels: a larger image is skipped by name unread - 'none' lifts the limit") {
  const std::string dir = scratch_dir("max_pixels");
  Options o = model_test_options(dir);
  data::write_png(o.dataroot + "/a_fits.png", solid(16, 16, 3, 90));  // 256 pixels
  data::write_png(o.dataroot + "/b_over.png", solid(20, 16, 3, 90));  // 320 pixels
  const std::string cmd = model_test_command(o, dir);
  // (pairs, not structured bindings: clang 14 cannot capture those in *_MESSAGE)
  const auto over = test::run_command(cmd + " --max_pixels 256 2>&1");
  CHECK(over.first == 1);
  CHECK_MESSAGE(
      over.second.find("b_over.png': its header claims 20x16 = 320 pixels, more than the limit of 256") !=
          std::string::npos,
      over.second);
  CHECK(fs::exists(dir + "/r/exp/test_latest/images/a_fits_fake.png"));
  CHECK_FALSE(fs::exists(dir + "/r/exp/test_latest/images/b_over_fake.png"));
  const auto none = test::run_command(cmd + " --max_pixels none 2>&1");
  CHECK_MESSAGE(none.first == 0, none.second);
  CHECK(fs::exists(dir + "/r/exp/test_latest/images/b_over_fake.png"));
  const auto [rc3, out3] = test::run_command(cmd + " --max_pixels 0 2>&1");
  CHECK(rc3 == 1);
  CHECK(out3.find("--max_pixels must be >= 1") != std::string::npos);
}

TEST_CASE("cyclegan_test: clear refusals - a missing --model_suffix - NaN weights - a bad --threshold") {
  const std::string dir = scratch_dir("test_refusals");
  Options o = test_options(dir);
  o.dataroot = dir + "/images";
  fs::create_directories(o.dataroot);
  data::write_png(o.dataroot + "/x.png", solid(16, 16, 3, 90));
  save_generator(o, "G_A", 3, 3);
  save_generator(o, "G_B", 3, 3);
  CHECK_THROWS_WITH_AS(run_test(o, true), doctest::Contains("add --model_suffix _A (A -> B) or _B"), Error);
  o.set("model_suffix", "_A");
  CHECK_NOTHROW(run_test(o, true));
  auto c = safetensors::load(net_file(o, "latest", "G_A"));
  static_cast<float*>(c.tensors.at("model.1.weight").raw())[3] = NAN;
  safetensors::save(net_file(o, "latest", "G_A"), c.tensors);
  CHECK_THROWS_WITH_AS(run_test(o, true), doctest::Contains("'model.1.weight' holds NaN or infinite values"),
                       Error);
  const std::string app = std::string(CG_BINARY_DIR) + "/apps/cyclegan_score";
  for (const char* bad : {"-1", "256"}) {
    const auto [rc, out] = test::run_command(app + " --results " + dir + " --ground_truth " + dir +
                                             " --threshold " + bad + " 2>&1");
    CHECK(rc != 0);
    CHECK(out.find("--threshold") != std::string::npos);
  }
}

TEST_CASE("--aspect_ratio stretches saved images as the official - --eval switches dropout off") {
  const std::string dir = scratch_dir("aspect");
  Options o = model_test_options(dir);
  data::write_png(o.dataroot + "/x.png", solid(40, 24, 3, 90));  // w 40, h 24
  o.aspect_ratio = 2.0;                                          // PIL size (h, w * 2) = width 24, height 80
  data::Image im = data::read_image(run_test(o, true) + "/images/x_fake.png", 3);
  CHECK((im.width == 24 && im.height == 80));
  o.aspect_ratio = 0.5;  // (h / 0.5, w) = width 48, height 40
  o.results_dir = dir + "/r2";
  im = data::read_image(run_test(o, true) + "/images/x_fake.png", 3);
  CHECK((im.width == 48 && im.height == 40));
  // with dropout built in, train mode (the official test.py's default) differs between two runs
  // of the same image; --eval gives the same output twice
  o.aspect_ratio = 1.0;
  o.no_dropout = false;
  save_generator(o, "G_A", 3, 3, true);
  const data::Image noise = textured(40, 24);  // the same image twice
  data::write_png(o.dataroot + "/x.png", noise);
  data::write_png(o.dataroot + "/y.png", noise);
  auto run = [&](bool eval, const std::string& r) {
    o.eval = eval;
    o.results_dir = dir + "/" + r;
    const std::string f = run_test(o, true);
    return std::make_pair(data::read_image(f + "/images/x_fake.png", 3).pixels,
                          data::read_image(f + "/images/y_fake.png", 3).pixels);
  };
  const auto train_mode = run(false, "train_mode");
  CHECK(train_mode.first != train_mode.second);
  const auto eval_mode = run(true, "eval_mode");
  CHECK(eval_mode.first == eval_mode.second);
}

TEST_CASE("--model cycle_gan writes the six official visuals per test image") {
  const std::string dir = scratch_dir("cycle_test");
  Options o = test_options(dir);
  o.model = "cycle_gan";
  o.dataset_mode = "unaligned";  // what the command line chooses for --model cycle_gan
  o.dataroot = dir + "/data";
  o.load_size = o.crop_size = 32;
  for (const char* d : {"testA", "testB"}) fs::create_directories(o.dataroot + "/" + d);
  for (int i = 0; i < 3; ++i)
    data::write_png(o.dataroot + "/testA/" + std::to_string(i) + "_A.png", solid(40, 36, 3, 50));
  for (int i = 0; i < 2; ++i)  // B images of 100 and 150
    data::write_png(o.dataroot + "/testB/" + std::to_string(i) + "_B.png",
                    solid(32, 32, 3, static_cast<uint8_t>(100 + 50 * i)));
  save_generator(o, "G_A", 3, 3);
  save_generator(o, "G_B", 3, 3);
  const std::string folder = run_test(o, true);
  for (int i = 0; i < 3; ++i) {
    for (const char* label : {"real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"}) {
      const std::string f = folder + "/images/" + std::to_string(i) + "_A_" + label + ".png";
      CHECK_MESSAGE(fs::exists(f), f);
    }
    // B in order, as the official test's serial_batches: sample i pairs with B i mod 2 (the saved
    // value may be one less: the tensor -> png conversion truncates)
    const int b = data::read_image(folder + "/images/" + std::to_string(i) + "_A_real_B.png", 3).pixels[0];
    CAPTURE(i);
    CHECK(std::abs(b - (100 + 50 * (i % 2))) <= 1);
  }
  CHECK(data::read_image(folder + "/images/0_A_fake_B.png", 3).width == 32);
  CHECK(check_page_references(folder + "/index.html") == 18);
}

TEST_CASE(
    "--model cycle_gan --direction BtoA names results after the B images - --eval holds for both "
    "generators") {
  const std::string dir = scratch_dir("cycle_test_btoa");
  Options o = test_options(dir);
  o.model = "cycle_gan";
  o.dataset_mode = "unaligned";
  o.dataroot = dir + "/data";
  o.load_size = o.crop_size = 32;
  o.direction = "BtoA";
  o.no_dropout = false;
  const data::Image noise = textured(32, 32);  // in all four files
  for (const char* d : {"testA", "testB"}) fs::create_directories(o.dataroot + "/" + d);
  for (int i = 0; i < 2; ++i) {
    data::write_png(o.dataroot + "/testA/" + std::to_string(i) + "_A.png", noise);
    data::write_png(o.dataroot + "/testB/" + std::to_string(i) + "_B.png", noise);
  }
  save_generator(o, "G_A", 3, 3, true);
  save_generator(o, "G_B", 3, 3, true);
  auto run = [&](bool eval, const std::string& r) {
    o.eval = eval;
    o.results_dir = dir + "/" + r;
    return run_test(o, true) + "/images/";
  };
  auto pixels = [](const std::string& f) { return data::read_image(f, 3).pixels; };
  const std::string ev = run(true, "eval");
  for (int i = 0; i < 2; ++i)
    for (const char* label : {"real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"}) {
      const std::string n = std::to_string(i);
      CHECK_MESSAGE(fs::exists(ev + n + "_B_" + label + ".png"), n << "_B_" << label);
      CHECK_MESSAGE(!fs::exists(ev + n + "_A_" + label + ".png"), n << "_A_" << label);
    }
  // --eval puts both generators in eval mode: the same input twice gives the same outputs
  for (const char* label : {"fake_B", "rec_A", "fake_A", "rec_B"}) {
    CAPTURE(label);
    CHECK(pixels(ev + "0_B_" + label + ".png") == pixels(ev + "1_B_" + label + ".png"));
  }
  // without it (the official default) dropout is on in both, and the two differ
  const std::string tr = run(false, "train");
  for (const char* label : {"fake_B", "fake_A"}) {
    CAPTURE(label);
    CHECK(pixels(tr + "0_B_" + label + ".png") != pixels(tr + "1_B_" + label + ".png"));
  }
}

TEST_CASE("scoring two known folders gives the known RMSE and accuracy") {
  const std::string dir = score_dirs("score");
  // pair 1: 2x1 RGB, differences (3, 0, 0) and (0, 6, 0): squares 9 and 36 over 6 values,
  //         pixel 1 within 5, pixel 2 not.
  data::write_png(dir + "/res/1_A_fake_B.png", data::Image{2, 1, 3, {10, 10, 10, 20, 26, 20}});
  data::write_png(dir + "/gt/1_B.png", data::Image{2, 1, 3, {13, 10, 10, 20, 20, 20}});
  // pair 2: identical 1x1
  data::write_png(dir + "/res/2_A_fake_B.png", data::Image{1, 1, 3, {7, 8, 9}});
  data::write_png(dir + "/gt/2_B.png", data::Image{1, 1, 3, {7, 8, 9}});
  // a result of another label is not scored
  data::write_png(dir + "/res/2_A_rec_A.png", data::Image{1, 1, 3, {0, 0, 0}});
  const data::Score s = data::score_folders(dir + "/res", dir + "/gt", "fake_B");
  REQUIRE(s.pairs.size() == 2);
  CHECK(s.pairs[0].rmse == doctest::Approx(std::sqrt(45.0 / 6)));
  CHECK(s.pairs[0].accuracy == doctest::Approx(0.5));
  CHECK(s.pairs[1].rmse == 0.0);
  CHECK(s.pairs[1].accuracy == 1.0);
  CHECK(s.rmse == doctest::Approx(std::sqrt(45.0 / 9)));  // all 9 values of both pairs
  CHECK(s.accuracy == doctest::Approx(2.0 / 3));          // 2 of 3 pixels
  data::write_score_csv(s, dir + "/scores.csv");
  const std::string csv = read_file(dir + "/scores.csv");
  CHECK(csv.rfind("result,ground_truth,rmse,accuracy,psnr,ssim\n", 0) == 0);
  CHECK(csv.find("1_A_fake_B.png," + dir + "/gt/1_B.png,2.738613,0.500000") != std::string::npos);
  // unpaired and mis-sized files are errors naming them
  data::write_png(dir + "/res/3_A_fake_B.png", data::Image{1, 1, 3, {0, 0, 0}});
  CHECK_THROWS_WITH_AS(data::score_folders(dir + "/res", dir + "/gt", "fake_B"),
                       doctest::Contains("3_A_fake_B.png"), Error);
  data::write_png(dir + "/gt/3_B.png", data::Image{2, 2, 3, std::vector<uint8_t>(12, 0)});
  CHECK_THROWS_WITH_AS(data::score_folders(dir + "/res", dir + "/gt", "fake_B"),
                       doctest::Contains("is 1x1 but"), Error);
  // the same width is not enough: the heights must agree too
  data::write_png(dir + "/gt/3_B.png", data::Image{1, 2, 3, std::vector<uint8_t>(6, 0)});
  CHECK_THROWS_WITH_AS(data::score_folders(dir + "/res", dir + "/gt", "fake_B"),
                       doctest::Contains(("is 1x1 but '" + dir + "/gt/3_B.png' is 1x2").c_str()), Error);
}

TEST_CASE("scoring: a difference equal to the threshold counts as right - one more does not") {
  const std::string dir = score_dirs("score_threshold");
  // four pixels: largest channel differences 5, 6, 0 and 5 (the last one negative)
  data::write_png(dir + "/res/4_A_fake_B.png",
                  data::Image{4, 1, 3, {105, 100, 100, 100, 94, 100, 9, 9, 9, 0, 0, 0}});
  data::write_png(dir + "/gt/4_B.png",
                  data::Image{4, 1, 3, {100, 100, 100, 100, 100, 100, 9, 9, 9, 0, 0, 5}});
  const data::Score s5 = data::score_folders(dir + "/res", dir + "/gt", "fake_B");
  CHECK(s5.accuracy == 0.75);  // 5, 0 and 5 are within 5; 6 is not
  CHECK(s5.pairs[0].rmse == doctest::Approx(std::sqrt((25.0 + 36.0 + 25.0) / 12)).epsilon(1e-12));
  CHECK(data::score_folders(dir + "/res", dir + "/gt", "fake_B", 6).accuracy == 1.0);
  CHECK(data::score_folders(dir + "/res", dir + "/gt", "fake_B", 4).accuracy == 0.25);
}

TEST_CASE("scoring pairs files by their whole number - leading zeros aside - not by position") {
  const std::string dir = score_dirs("score_pairing");
  // results 1, 10 and 007; truths 7, 10, 1 (written in another order): each value marks its number
  for (int n : {1, 10, 7}) {
    const uint8_t v = static_cast<uint8_t>(n * 10);
    data::write_png(dir + "/gt/" + std::to_string(n) + "_B.png", solid(2, 2, 3, v));
  }
  data::write_png(dir + "/res/1_A_fake_B.png", solid(2, 2, 3, 10));
  data::write_png(dir + "/res/10_A_fake_B.png", solid(2, 2, 3, 100));
  data::write_png(dir + "/res/007_A_fake_B.png", solid(2, 2, 3, 70));
  const data::Score s = data::score_folders(dir + "/res", dir + "/gt", "fake_B");
  REQUIRE(s.pairs.size() == 3);
  CHECK(s.rmse == 0.0);  // every result met its own number's truth
  CHECK(s.accuracy == 1.0);
  // two results with one number are refused, naming both
  data::write_png(dir + "/res/01_A_fake_B.png", solid(2, 2, 3, 10));
  CHECK_THROWS_WITH_AS(data::score_folders(dir + "/res", dir + "/gt", "fake_B"),
                       doctest::Contains("same number 1"), Error);
}

TEST_CASE("cyclegan_score: prints the scores - writes the CSV - fails clearly on bad input") {
  const std::string dir = score_dirs("score_app");
  data::write_png(dir + "/res/1_A_fake_B.png", data::Image{2, 1, 3, {10, 10, 10, 20, 26, 20}});
  data::write_png(dir + "/gt/1_B.png", data::Image{2, 1, 3, {13, 10, 10, 20, 20, 20}});
  const std::string app = std::string(CG_BINARY_DIR) + "/apps/cyclegan_score";
  const auto [rc, out] = test::run_command(app + " --results " + dir + "/res --ground_truth " + dir +
                                           "/gt --csv " + dir + "/s.csv 2>&1");
  CHECK(rc == 0);
  CHECK(out.find("pairs: 1") != std::string::npos);
  CHECK(out.find("RMSE (0-255): 2.7386") != std::string::npos);  // sqrt(45 / 6)
  CHECK(out.find("(max channel difference <= 5): 0.5000") != std::string::npos);
  CHECK(read_file(dir + "/s.csv").find(",2.738613,0.500000") != std::string::npos);
  const auto [rc_t, out_t] =
      test::run_command(app + " --results " + dir + "/res --ground_truth " + dir + "/gt --threshold 6 2>&1");
  CHECK(rc_t == 0);
  CHECK(out_t.find("(max channel difference <= 6): 1.0000") != std::string::npos);
  // --threshold 0, the range's low end, asks for exact pixels: neither pixel here is exact
  const auto [rc_0, out_0] =
      test::run_command(app + " --results " + dir + "/res --ground_truth " + dir + "/gt --threshold 0 2>&1");
  CHECK(rc_0 == 0);
  CHECK(out_0.find("(max channel difference <= 0): 0.0000") != std::string::npos);
  // --label '' scores every image, whatever its name ends in
  fs::create_directories(dir + "/res_any");
  fs::copy_file(dir + "/res/1_A_fake_B.png", dir + "/res_any/1_anything.png");
  const auto [rc_l, out_l] =
      test::run_command(app + " --results " + dir + "/res_any --ground_truth " + dir + "/gt --label '' 2>&1");
  CHECK(rc_l == 0);
  CHECK(out_l.find("RMSE (0-255): 2.7386") != std::string::npos);
  const auto [rc_missing, err_missing] = test::run_command(app + " --results " + dir + "/res 2>&1");
  CHECK(rc_missing != 0);
  CHECK(err_missing.find("--ground_truth") != std::string::npos);
  data::write_png(dir + "/res/2_A_fake_B.png", solid(1, 1, 3, 0));
  const auto [rc_bad, err_bad] =
      test::run_command(app + " --results " + dir + "/res --ground_truth " + dir + "/gt 2>&1");
  CHECK(rc_bad == 1);
  CHECK(err_bad.find("2_A_fake_B.png") != std::string::npos);
}

TEST_CASE("autograd_demo fits the curve it says it fits") {
  const auto [rc, out] = test::run_command(std::string(CG_BINARY_DIR) + "/apps/autograd_demo 2>&1");
  REQUIRE(rc == 0);
  CHECK(out.find("The tape of one step") != std::string::npos);
  CHECK(out.find("tanh(") != std::string::npos);
  std::vector<double> losses;  // printed every 25 steps, 0 to 200
  for (int step = 0; step <= 200; step += 25) {
    char head[32];
    std::snprintf(head, sizeof head, "step %3d  loss ", step);
    const size_t line = out.find(head);
    REQUIRE_MESSAGE(line != std::string::npos, head);
    double loss = 0;
    REQUIRE(std::sscanf(out.c_str() + line + std::strlen(head), "%lf", &loss) == 1);
    losses.push_back(loss);
  }
  CHECK(losses.back() < losses.front() / 10);  // the loss falls
  // ... at every printed step (plain gradient descent with a small step on a smooth loss never climbs:
  // a gradient left to accumulate across steps makes it oscillate), to the noise floor 0.05^2
  for (size_t i = 1; i < losses.size(); ++i) CHECK_MESSAGE(losses[i] <= losses[i - 1], "step " << 25 * i);
  CHECK(losses.back() == doctest::Approx(0.0025).epsilon(0.1));
  double w = 0, b = 0;
  const size_t at = out.find("learned w = ");
  REQUIRE(at != std::string::npos);
  REQUIRE(std::sscanf(out.c_str() + at, "learned w = %lf, b = %lf", &w, &b) == 2);
  CHECK(std::abs(w - 1.7) < 0.05);
  CHECK(std::abs(b + 0.4) < 0.02);
}

namespace {
// A gzip-compressed IDX file of unsigned bytes: magic 0 0 8 ndims, big-endian dims, the values.
void write_idx(const std::string& path, const std::vector<uint32_t>& dims,
               const std::vector<uint8_t>& values) {
  std::string bytes = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<char>(d >> s));
  bytes.append(values.begin(), values.end());
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
}
}  // namespace

TEST_CASE(
    "fashion_mnist_domains writes the two classes as gray PNGs - up to each limit - and refuses bad files") {
  const std::string dir = scratch_dir("fmnist");
  const std::string src = dir + "/src";
  fs::create_directories(src);
  // 6 images of 3x2 (image i holds the values 10 i .. 10 i + 5), labels 7 9 7 1 9 7
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 6; ++k) pixels.push_back(static_cast<uint8_t>(10 * i + k));
  const std::vector<uint8_t> labels = {7, 9, 7, 1, 9, 7};
  std::vector<uint8_t> test_pixels = pixels;  // the t10k split: the same values + 100
  for (uint8_t& v : test_pixels) v = static_cast<uint8_t>(v + 100);
  for (const auto& split : {std::pair{"train", &pixels}, std::pair{"t10k", &test_pixels}}) {
    write_idx(src + "/" + split.first + "-images-idx3-ubyte.gz", {6, 2, 3}, *split.second);
    write_idx(src + "/" + split.first + "-labels-idx1-ubyte.gz", {6}, labels);
  }
  const std::string app = std::string(CG_BINARY_DIR) + "/apps/fashion_mnist_domains --source " + src;
  const auto written = test::run_command(app + " --out " + dir + "/ds --train 2 --test 5 2>&1");
  REQUIRE_MESSAGE(written.first == 0, written.second);
  CHECK(written.second.find("trainA 2, trainB 2, testA 3, testB 2 images") != std::string::npos);
  auto count = [&](const std::string& d) {
    return std::distance(fs::directory_iterator(dir + "/ds/" + d), fs::directory_iterator{});
  };
  CHECK(count("trainA") == 2);  // --train 2 of the three sneakers
  CHECK(count("testA") == 3);
  CHECK(count("testB") == 2);
  // trainB/00001.png is the second ankle boot: image 4, gray, 3 wide and 2 high, its bytes unchanged
  const data::Image img = data::read_image(dir + "/ds/trainB/00001.png", 1);
  CHECK(img.width == 3);
  CHECK(img.height == 2);
  CHECK(img.pixels == std::vector<uint8_t>(pixels.begin() + 24, pixels.begin() + 30));
  // testA comes from t10k: its first sneaker is t10k's image 0
  CHECK(data::read_image(dir + "/ds/testA/00000.png", 1).pixels ==
        std::vector<uint8_t>(test_pixels.begin(), test_pixels.begin() + 6));

  // Errors name the file and exit 1, before any allocation a forged header asks for.
  write_idx(src + "/train-labels-idx1-ubyte.gz", {5}, {7, 9, 7, 1, 9});
  auto [rc2, out2] = test::run_command(app + " --out " + dir + "/ds2 2>&1");
  CHECK(rc2 == 1);
  CHECK(out2.find("images and labels of 'train' do not match") != std::string::npos);
  write_idx(src + "/train-images-idx3-ubyte.gz", {65535, 65535, 65535}, {});
  std::tie(rc2, out2) = test::run_command(app + " --out " + dir + "/ds2 2>&1");
  CHECK(rc2 == 1);
  CHECK(out2.find("train-images-idx3-ubyte.gz' claims dimensions 65535x65535...") != std::string::npos);
  write_idx(src + "/train-images-idx3-ubyte.gz", {6, 2, 3}, {1, 2, 3});  // the values stop early
  std::tie(rc2, out2) = test::run_command(app + " --out " + dir + "/ds2 2>&1");
  CHECK(rc2 == 1);
  CHECK(out2.find("train-images-idx3-ubyte.gz' is truncated") != std::string::npos);
  std::tie(rc2, out2) =
      test::run_command(std::string(CG_BINARY_DIR) + "/apps/fashion_mnist_domains --source " + dir +
                        "/nowhere --out " + dir + "/ds2 2>&1");
  CHECK(rc2 == 1);
  CHECK(out2.find("nowhere/train-images-idx3-ubyte.gz") != std::string::npos);
}

TEST_CASE(
    "autograd_demo --dot writes the residual block's graph docs/autograd.md shows - and Graphviz renders "
    "it") {
  const std::string dir = scratch_dir("dot");
  const std::string app = std::string(CG_BINARY_DIR) + "/apps/autograd_demo";
  const auto r = test::run_command(app + " --dot " + dir + "/g.dot 2>&1");
  REQUIRE_MESSAGE(r.first == 0, r.second);
  const std::string dot = test::read_file(dir + "/g.dot");
  // 11 records, two weight leaves, saved shapes as the rules keep them
  CHECK(dot.find("#1 conv2d\\nout [1, 2, 6, 6]\\nsaved [1, 2, 8, 8] [2, 2, 3, 3]") != std::string::npos);
  CHECK(dot.find("#11 mul_scalar") != std::string::npos);
  CHECK(dot.find("leaf1 [shape=ellipse") != std::string::npos);
  CHECK(dot.find("n6 -> n7;") != std::string::npos);
  // the committed picture is this graph (regenerate both with the commands in docs/autograd.md)
  CHECK(dot == test::read_file(std::string(CG_SOURCE_DIR) + "/docs/residual_block.dot"));
  // Graphviz (installed by the test command) accepts it
  const auto svg = test::run_command("dot -Tsvg " + dir + "/g.dot -o " + dir + "/g.svg 2>&1");
  CHECK_MESSAGE(svg.first == 0, "dot -Tsvg failed (is graphviz installed?): " << svg.second);
  CHECK(test::read_file(dir + "/g.svg").find("<svg") != std::string::npos);
  CHECK(test::run_command(app + " --dot " + dir + "/no/such/dir/g.dot 2>&1").first == 1);
}

TEST_CASE(
    "cyclegan_train and cyclegan_test: a bad flag exits non-zero below 128 naming it - nothing written") {
  const std::string dir = scratch_dir("bad_flags");
  const std::string bin = std::string(CG_BINARY_DIR) + "/apps/";
  for (const std::string app : {"cyclegan_train", "cyclegan_test"}) {
    CAPTURE(app);
    // (--results_dir is a test option only, as in the official)
    const std::string base = bin + app + " --dataroot " + dir + " --checkpoints_dir " + dir + "/ckpt" +
                             (app == "cyclegan_test" ? " --results_dir " + dir + "/results" : "");
    // {arguments, what the error must name}: a value that does not parse, an unknown flag, a bad value
    for (const auto& bad :
         std::vector<std::pair<std::string, std::string>>{{"--load_size abc", "--load_size"},
                                                          {"--no_such_flag", "--no_such_flag"},
                                                          {"--crop_size 0", "crop_size"}}) {
      CAPTURE(bad.first);
      const auto run = test::run_command(base + " " + bad.first + " 2>&1");
      CHECK(run.first > 0);
      CHECK(run.first < 128);
      CHECK(run.second.find(bad.second) != std::string::npos);
    }
    CHECK_FALSE(fs::exists(dir + "/ckpt"));
    CHECK_FALSE(fs::exists(dir + "/results"));
    const auto [rc_help, out_help] = test::run_command(bin + app + " --help 2>&1");
    CHECK(rc_help == 0);
    CHECK(out_help.find("--dataroot") != std::string::npos);
  }
}

TEST_CASE("Canny edges: one pixel wide black lines on white along a square's border - none on a flat image") {
  // a 12x12 bright square on a dark 32x32 field
  data::Image img{32, 32, 1, std::vector<uint8_t>(32 * 32, 20)};
  for (int y = 10; y < 22; ++y)
    for (int x = 10; x < 22; ++x) img.row(y)[x] = 220;
  const data::Image e = data::canny_edges(img);
  REQUIRE(e.width == 32);
  REQUIRE(e.channels == 1);
  int on = 0;
  for (uint8_t v : e.pixels) {
    CHECK((v == 0 || v == 255));
    on += v == 0;
  }
  // the border between rows/columns 9|10 and 21|22: a closed line, so each of the square's sides
  // has one edge pixel per row (or column) it crosses, nowhere else
  for (int y = 12; y < 20; ++y) {
    CAPTURE(y);
    int left = 0, right = 0, inside = 0;
    for (int x = 0; x < 16; ++x) left += e.row(y)[x] == 0;
    for (int x = 16; x < 32; ++x) right += e.row(y)[x] == 0;
    for (int x = 12; x < 20; ++x) inside += e.row(y)[x] == 0;
    CHECK(left == 1);  // thinned: one pixel wide
    CHECK(right == 1);
    CHECK(inside == 0);
    for (int x = 0; x < 32; ++x)
      if (e.row(y)[x] == 0) CHECK((x == 9 || x == 10 || x == 21 || x == 22));
  }
  CHECK(on >= 4 * 10);
  CHECK(on <= 4 * 14);
  // hysteresis: a line strong at the top (0 | 255) and weak below (100 | 140, between the
  // thresholds) is kept whole, being connected; an isolated weak edge of the same contrast is not
  data::Image line{48, 32, 1, std::vector<uint8_t>(48 * 32)};
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 48; ++x)
      line.row(y)[x] = x < 48 - 8 && x >= 36 ? (y < 16 ? 100 : 140)  // the lone weak step, at y = 16
                       : x < 16              ? (y < 16 ? 0 : 100)
                       : x < 36              ? (y < 16 ? 255 : 140)
                                             : 140;
  const data::Image le = data::canny_edges(line);
  for (int y : {4, 24}) {
    CAPTURE(y);
    CHECK((le.row(y)[15] == 0 || le.row(y)[16] == 0));  // the line, strong (y 4) and weak (y 24)
  }
  for (int x = 38; x < 38 + 2; ++x) {
    CAPTURE(x);
    CHECK(le.row(15)[x] == 255);  // the lone weak step's edge: not connected to a strong one
    CHECK(le.row(16)[x] == 255);
  }
  // nothing where nothing changes; the thresholds are checked
  const data::Image flat{16, 16, 1, std::vector<uint8_t>(256, 90)};
  CHECK(data::canny_edges(flat).pixels == std::vector<uint8_t>(256, 255));
  CHECK_THROWS_AS(data::canny_edges(img, {1.0, 0.5, 0.2}), Error);
  CHECK_THROWS_AS(data::canny_edges(data::Image{2, 2, 3, std::vector<uint8_t>(12)}), Error);
}

TEST_CASE("fashion_mnist_edges writes the shoe classes as AB images - edges left - the scaled image right") {
  const std::string dir = scratch_dir("fmnist_edges");
  const std::string src = dir + "/src";
  fs::create_directories(src);
  // 5 images of 4x4: a bright 2x2 block in the middle; labels 5 7 1 9 7
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 5; ++i)
    for (int k = 0; k < 16; ++k)
      pixels.push_back((k / 4 == 1 || k / 4 == 2) && (k % 4 == 1 || k % 4 == 2) ? 200 : 10);
  for (const char* split : {"train", "t10k"}) {
    write_idx(src + "/" + std::string(split) + "-images-idx3-ubyte.gz", {5, 4, 4}, pixels);
    write_idx(src + "/" + std::string(split) + "-labels-idx1-ubyte.gz", {5}, {5, 7, 1, 9, 7});
  }
  const std::string app = std::string(CG_BINARY_DIR) + "/apps/fashion_mnist_edges --source " + src;
  const auto r = test::run_command(app + " --out " + dir + "/ds --train 1 --test 2 --size 16 2>&1");
  REQUIRE_MESSAGE(r.first == 0, r.second);
  CHECK(r.second.find("train 3, test 4 AB images (32x16") != std::string::npos);  // one / two per class
  const data::Image ab = data::read_image(dir + "/ds/train/00000.png", 1);
  REQUIRE(ab.width == 32);
  REQUIRE(ab.height == 16);
  // the right half is the image scaled up (PIL's bicubic), the left its Canny edges
  const data::Image scaled =
      data::resize_bicubic(data::Image{4, 4, 1, {pixels.begin(), pixels.begin() + 16}}, 16, 16);
  const data::Image edges = data::canny_edges(scaled);
  for (int y = 0; y < 16; ++y) {
    CHECK(std::vector<uint8_t>(ab.row(y) + 16, ab.row(y) + 32) ==
          std::vector<uint8_t>(scaled.row(y), scaled.row(y) + 16));
    CHECK(std::vector<uint8_t>(ab.row(y), ab.row(y) + 16) ==
          std::vector<uint8_t>(edges.row(y), edges.row(y) + 16));
  }
  CHECK(std::count(edges.pixels.begin(), edges.pixels.end(), 0) > 4);
  CHECK(test::run_command(app + " --out " + dir + "/ds2 --classes 5,x 2>&1").second.find("--classes: 'x'") !=
        std::string::npos);
  CHECK(test::run_command(app + " --out " + dir + "/ds2 --classes 12 2>&1").first == 1);
}

TEST_CASE("cyclegan_score --truth_label scores fake_B against the real_B beside it") {
  const std::string dir = score_dirs("score_truth_label");
  data::write_png(dir + "/res/3_real_A.png", solid(2, 2, 3, 0));
  data::write_png(dir + "/res/3_fake_B.png", solid(2, 2, 3, 100));
  data::write_png(dir + "/res/3_real_B.png", solid(2, 2, 3, 104));
  const data::Score s = data::score_folders(dir + "/res", dir + "/res", "fake_B", 5, "real_B");
  REQUIRE(s.pairs.size() == 1);
  CHECK(s.rmse == 4.0);
  CHECK(s.pairs[0].truth == dir + "/res/3_real_B.png");
  // without it the folder holds three images numbered 3
  CHECK_THROWS_WITH_AS(data::score_folders(dir + "/res", dir + "/res", "fake_B"),
                       doctest::Contains("same number 3"), Error);
}
