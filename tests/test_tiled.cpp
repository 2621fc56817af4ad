// The tiled evaluator (nn/tiled.h): a generator evaluated tile by tile equals the whole-image call
// within one 8-bit level, for the ResNet generator with instance norm and the U-Net with batch norm
// (training mode with dropout, and eval mode), on images whose statistics differ across the frame,
// with tiles that do not divide the image; kept values in temporary files; the refusals.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/image.h"
#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/model_spec.h"
#include "models/common/tester.h"
#include "models/networks/networks.h"
#include "nn/layers.h"
#include "nn/safetensors.h"
#include "nn/tiled.h"
#include "ops/ops.h"

using namespace cg;
namespace fs = std::filesystem;

namespace {

// (N, 3, H, W) in [-1, 1] whose statistics change across the frame: a dark, flat left part, a
// bright, busy right part, a vertical ramp and a bright square near one corner, different per image.
Tensor frame(int64_t N, int64_t H, int64_t W, uint64_t seed) {
  Generator g(seed);
  std::vector<float> v(static_cast<size_t>(N * 3 * H * W));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          const bool left = x < W * 2 / 5;
          double p = left ? -0.7 + 0.05 * g.normal() : 0.3 + 0.4 * g.normal() + 0.2 * std::sin(0.7 * x + c);
          p += 0.4 * static_cast<double>(y) / static_cast<double>(H) - 0.2;
          if (y > H * 3 / 4 && x > W * 4 / 5) p = 0.9 - 0.2 * static_cast<double>(n);
          v[static_cast<size_t>(((n * 3 + c) * H + y) * W + x)] =
              static_cast<float>(std::clamp(p, -1.0, 1.0));
        }
  return Tensor::from_vector(v, {N, 3, H, W});
}

// The largest difference in 8-bit levels (the official tensor2im: (x + 1) / 2 * 255, clipped, truncated).
int max_level_difference(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  auto level = [](float x) {
    return static_cast<int>(std::min(255.0f, std::max(0.0f, (x + 1.0f) / 2.0f * 255.0f)));
  };
  int worst = 0;
  for (size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::abs(level(va[i]) - level(vb[i])));
  return worst;
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(va[i]) - vb[i]));
  return worst;
}

Tensor whole(nn::Module& net, const Tensor& x) {
  NoGradGuard no_grad;
  return net(x);
}

std::string temp_dir(const std::string& name) {
  const std::string d = test::scratch("tiled_" + name);
  fs::create_directories(d);
  return d;
}

nn::TiledOptions tiles(int64_t size, const std::string& dir) {
  nn::TiledOptions o;
  o.tile_size = size;
  o.temp_dir = dir;
  return o;
}

// The running statistics and counts of every batch norm, copied.
std::vector<Tensor> buffers(nn::Module& net) {
  std::vector<Tensor> out;
  for (const auto& [name, b] : net.named_buffers()) out.push_back(b.clone());
  return out;
}
void set_buffers(nn::Module& net, const std::vector<Tensor>& values) {
  NoGradGuard no_grad;
  size_t i = 0;
  for (auto& [name, b] : net.named_buffers()) {
    Tensor dst = b;
    copy_(dst, values[i++]);
  }
}

}  // namespace

TEST_CASE(
    "tiled: resnet_9blocks with instance norm equals the whole image within 1 level, tiles of 32 and 40") {
  Generator g(1);
  auto net = models::define_G(3, 3, 8, "resnet_9blocks", "instance", false, "normal", 0.05, g);
  const Tensor x = frame(1, 76, 100, 2);
  const Tensor ref = whole(*net, x);
  const std::string dir = temp_dir("resnet");
  for (int64_t t : {32, 40}) {
    const nn::TiledPlan plan = nn::plan_tiled(*net, x.shape(), tiles(t, dir));
    CHECK(plan.stages == 23 + 8 + 1);  // the 23 norms' inputs, the 8 block outputs read twice, the output
    const Tensor out = nn::tiled_forward(*net, x, tiles(t, dir));
    CAPTURE(t);
    CHECK(max_level_difference(out, ref) <= 1);
    CHECK(max_abs_difference(out, ref) < 1e-4);
  }
  // What the exactness is worth: the halves translated on their own (each normalised by its own
  // statistics, what naive tiling does) differ from the whole image's translation by many levels.
  const Tensor left = narrow(x, 3, 0, 48), left_ref = narrow(ref, 3, 0, 48);
  CHECK(max_level_difference(whole(*net, left), left_ref) > 10);
}

TEST_CASE("tiled: values kept in temporary files give the same image and leave no file behind") {
  Generator g(3);
  auto net = models::define_G(3, 3, 4, "resnet_3blocks", "instance", false, "normal", 0.05, g);
  const Tensor x = frame(2, 60, 44, 4);  // two images, each with its own statistics
  const Tensor ref = whole(*net, x);
  const std::string dir = temp_dir("files");
  nn::TiledOptions o = tiles(24, dir);
  o.memory_budget = 0;  // every kept value in a file
  const nn::TiledPlan plan = nn::plan_tiled(*net, x.shape(), o);
  CHECK(plan.file_values == plan.stages - 1);  // all but the output
  CHECK(plan.temp_file_bytes >= 2 * 4 * 60 * 44 * 4);
  const Tensor out = nn::tiled_forward(*net, x, o);
  CHECK(max_level_difference(out, ref) <= 1);
  CHECK(max_abs_difference(out, ref) < 1e-4);
  CHECK(fs::is_empty(dir));  // the files were unlinked when made
  // the default budget keeps these small values in memory
  CHECK(nn::plan_tiled(*net, x.shape(), tiles(24, dir)).file_values == 0);
}

TEST_CASE("tiled: a pix2pix U-Net with batch norm in training mode and dropout equals the whole image") {
  Generator g(5);
  auto net = models::define_G(3, 3, 4, "unet_128", "batch", true, "normal", 0.05, g);
  net->train(true);  // as the official test.py: batch statistics and dropout
  const Tensor x = frame(2, 128, 256, 6);
  const std::vector<Tensor> start = buffers(*net);
  manual_seed(11);
  const Tensor ref = whole(*net, x);
  const double next_whole = default_generator().uniform();
  const std::vector<Tensor> after_whole = buffers(*net);
  for (int64_t t : {40, 72}) {
    CAPTURE(t);
    set_buffers(*net, start);
    manual_seed(11);
    const Tensor out = nn::tiled_forward(*net, x, tiles(t, temp_dir("unet")));
    // the same dropout masks, drawn in the same order: the generator ends where the whole call left it
    CHECK(default_generator().uniform() == next_whole);
    CHECK(max_level_difference(out, ref) <= 1);
    CHECK(max_abs_difference(out, ref) < 1e-4);
    // the running statistics were updated once, from the whole batch's statistics
    const std::vector<Tensor> after = buffers(*net);
    for (size_t i = 0; i < after.size(); ++i) CHECK(max_abs_difference(after[i], after_whole[i]) < 1e-5);
  }
  // eval mode: running statistics, no dropout
  net->eval();
  const Tensor ref_eval = whole(*net, x);
  const Tensor out_eval = nn::tiled_forward(*net, x, tiles(40, temp_dir("unet_eval")));
  CHECK(max_level_difference(out_eval, ref_eval) <= 1);
  CHECK(max_abs_difference(out_eval, ref_eval) < 1e-4);
  // a U-Net's side that is no multiple of 2^7 is refused as its forward refuses it
  CHECK_THROWS_WITH_AS(nn::plan_tiled(*net, {1, 3, 100, 128}, tiles(40, "")),
                       doctest::Contains("multiples of 128"), Error);
}

TEST_CASE("tiled: ResNet blocks with batch norm and dropout in training mode") {
  Generator g(7);
  auto net = models::define_G(3, 1, 4, "resnet_2blocks", "batch", true, "normal", 0.05, g);
  net->train(true);
  const Tensor x = frame(1, 76, 100, 8);
  const std::vector<Tensor> start = buffers(*net);
  manual_seed(3);
  const Tensor ref = whole(*net, x);
  const double next_whole = default_generator().uniform();
  set_buffers(*net, start);
  manual_seed(3);
  const Tensor out = nn::tiled_forward(*net, x, tiles(32, temp_dir("resnet_bn")));
  CHECK(default_generator().uniform() == next_whole);
  CHECK(max_level_difference(out, ref) <= 1);
  CHECK(max_abs_difference(out, ref) < 1e-4);
}

TEST_CASE("tiled: a moderately sized image, resnet_9blocks") {
  Generator g(9);
  auto net = models::define_G(3, 3, 8, "resnet_9blocks", "instance", false, "normal", 0.05, g);
  const Tensor x = frame(1, 480, 640, 10);
  const Tensor ref = whole(*net, x);
  std::vector<nn::TiledProgress> seen;
  nn::TiledOptions o = tiles(200, temp_dir("moderate"));
  o.memory_budget = 4 << 20;  // some values in memory, the larger ones in files
  o.progress = [&](const nn::TiledProgress& p) { seen.push_back(p); };
  const nn::TiledPlan plan = nn::plan_tiled(*net, x.shape(), o);
  CHECK(plan.file_values > 0);
  CHECK(plan.file_values < plan.stages - 1);
  const Tensor out = nn::tiled_forward(*net, x, o);
  CHECK(max_level_difference(out, ref) <= 1);
  CHECK(max_abs_difference(out, ref) < 1e-4);
  // progress: every stage, its tiles counted up to the last, the work done growing to all of it
  REQUIRE(!seen.empty());
  CHECK(seen.back().stage == plan.stages);
  CHECK(seen.back().tile == seen.back().tiles);
  CHECK(seen.back().fraction == doctest::Approx(1.0));
  CHECK(seen.back().temp_file_bytes == plan.temp_file_bytes);
  CHECK(seen.front().tiles == 12);  // the first kept value, 480 x 640 in tiles of 200: 3 x 4
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].fraction >= seen[i - 1].fraction);
}

TEST_CASE("tiled: refusals name what is wrong") {
  Generator g(1);
  auto net = models::define_G(3, 3, 4, "resnet_1blocks", "instance", false, "normal", 0.05, g);
  const Tensor x = frame(1, 64, 64, 1);
  // temporary files that would not fit: refused before any work, with both sizes
  nn::TiledOptions o = tiles(16, temp_dir("refuse"));
  o.memory_budget = 0;
  o.free_space = [](const std::string&) { return int64_t{1} << 20; };
  CHECK_THROWS_WITH_AS(nn::tiled_forward(*net, x, o), doctest::Contains("whose file system has 1 MiB free"),
                       Error);
  o.temp_dir = "";
  CHECK_THROWS_WITH_AS(nn::tiled_forward(*net, x, o), doctest::Contains("no folder was given"), Error);
  // a layer it does not know
  nn::Sequential seq;
  seq.add(std::make_shared<nn::Conv2d>(3, 2, 3, 1, 1));
  seq.add(std::make_shared<nn::Flatten>());
  CHECK_THROWS_WITH_AS(nn::plan_tiled(seq, x.shape(), tiles(16, "")), doctest::Contains("'1' (Flatten)"),
                       Error);
  // an input of another shape than planned
  CHECK_THROWS_AS(nn::tiled_forward(*net, Tensor::zeros({1, 3, 64}), tiles(16, "")), Error);
}

TEST_CASE("tiled: zero padding, stride and transposed convolutions at every tile offset") {
  // A chain without normalisations is one stage whose tiles reach through every layer: each output
  // row is checked against the whole call for tile sizes that put the borders everywhere.
  nn::Sequential seq;
  auto c1 = std::make_shared<nn::Conv2d>(2, 3, 4, 2, 1);
  auto c2 = std::make_shared<nn::ConvTranspose2d>(3, 2, 3, 2, 1, 1);
  auto c3 = std::make_shared<nn::Conv2d>(2, 2, 5, 1, 2);
  Generator g(4);
  {
    NoGradGuard no_grad;
    for (nn::Module* m : std::vector<nn::Module*>{c1.get(), c2.get(), c3.get()})
      for (Tensor p : m->parameters()) copy_(p, Tensor::randn(p.shape(), DType::F32, Device::CPU, &g) * 0.3);
  }
  seq.add(c1);
  seq.add(std::make_shared<nn::ReflectionPad2d>(2));
  seq.add(c2);
  seq.add(std::make_shared<nn::LeakyReLU>(0.2));
  seq.add(c3);
  const Tensor x = Tensor::randn({1, 2, 23, 19}, DType::F32, Device::CPU, &g);
  const Tensor ref = whole(seq, x);
  for (int64_t t : {16, 17, 19, 23}) {
    CAPTURE(t);
    CHECK(max_abs_difference(nn::tiled_forward(seq, x, tiles(t, "")), ref) < 1e-5);
  }
}

TEST_CASE("cyclegan_test --tile_size equals the whole-image run - 16-bit gray in, 16-bit gray out") {
  const std::string dir = test::scratch("tiled_app");
  for (int nc : {3, 1}) {
    CAPTURE(nc);
    models::Options o = models::default_options("test", false);
    o.no_dropout = true;
    o.checkpoints_dir = dir + "/ckpt" + std::to_string(nc);
    o.name = "exp";
    o.ngf = 4;
    o.netG = "resnet_2blocks";
    o.input_nc = o.output_nc = nc;
    o.set("model_suffix", "_A");
    o.preprocess = "none";
    o.dataroot = dir + "/images" + std::to_string(nc);
    o.save_bits = nc == 1 ? 16 : 8;
    fs::create_directories(o.dataroot);
    Generator g(1);
    auto G = models::define_G(nc, nc, o.ngf, o.netG, o.norm, false, "normal", 0.05, g);
    fs::create_directories(models::experiment_dir(o));
    safetensors::save(models::net_file(o, o.epoch, "G_A"), G->state_dict());
    // a 16-bit image whose halves differ: dark and flat on the left, bright and busy on the right
    data::Image im = data::Image::make16(100, 76, nc);
    for (int y = 0; y < 76; ++y)
      for (int x = 0; x < 100; ++x)
        for (int c = 0; c < nc; ++c)
          im.row16(y)[x * nc + c] =
              static_cast<uint16_t>(x < 40 ? 3000 + 7 * y : 30000 + (x * 7919 + y * 104729 + c * 31) % 30000);
    data::write_png(o.dataroot + "/frame.png", im);
    o.results_dir = dir + "/whole";
    const std::string whole_dir = models::run_test(o, true);
    o.results_dir = dir + "/tiled";
    o.tile_size = 32;
    const std::string tiled_dir = models::run_test(o, true);
    const std::string fake = "/images/frame_fake.png";
    const data::Image a = data::read_image(whole_dir + fake, nc, data::kMaxPixels, data::Depth::kFull);
    const data::Image b = data::read_image(tiled_dir + fake, nc, data::kMaxPixels, data::Depth::kFull);
    REQUIRE((a.width == 100 && a.height == 76 && b.width == 100 && b.height == 76));
    if (nc == 3) {
      int worst = 0;
      for (size_t i = 0; i < a.pixels.size(); ++i)
        worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
      CHECK(worst <= 1);
      continue;
    }
    // --save_bits 16 with one channel: 16-bit gray files (IHDR's bit depth and colour type)
    for (const std::string& file :
         {whole_dir + fake, tiled_dir + fake, tiled_dir + "/images/frame_real.png"}) {
      std::ifstream in(file, std::ios::binary);
      std::vector<uint8_t> head(26);
      in.read(reinterpret_cast<char*>(head.data()), 26);
      CHECK(head[24] == 16);
      CHECK(head[25] == 0);
    }
    REQUIRE(a.bits == 16);
    int worst = 0;
    for (size_t i = 0; i < a.pixels16.size(); ++i)
      worst = std::max(worst, std::abs(a.pixels16[i] - b.pixels16[i]));
    CHECK(worst <= 257);  // one 8-bit level
    // the input's every bit came through: the saved real image is the input (tensor2im truncates)
    const data::Image real =
        data::read_image(tiled_dir + "/images/frame_real.png", 1, data::kMaxPixels, data::Depth::kFull);
    int off = 0;
    for (size_t i = 0; i < real.pixels16.size(); ++i)
      off = std::max(off, std::abs(real.pixels16[i] - im.pixels16[i]));
    CHECK(off <= 1);
  }
}

TEST_CASE("tiled: a normalisation of the input itself - a stage that only sums the input") {
  nn::Sequential seq;
  seq.add(std::make_shared<nn::InstanceNormAct>(2, 0.2));
  auto c = std::make_shared<nn::Conv2d>(2, 3, 3, 1, 1);
  Generator g(6);
  {
    NoGradGuard no_grad;
    for (Tensor p : c->parameters()) copy_(p, Tensor::randn(p.shape(), DType::F32, Device::CPU, &g) * 0.3);
  }
  seq.add(c);
  const Tensor x = Tensor::randn({2, 2, 37, 29}, DType::F32, Device::CPU, &g) * 3.0 + 1.5;
  const nn::TiledPlan plan = nn::plan_tiled(seq, x.shape(), tiles(16, ""));
  CHECK(plan.stages == 2);  // the input's sums, then the output
  CHECK(max_abs_difference(nn::tiled_forward(seq, x, tiles(16, "")), whole(seq, x)) < 1e-5);
}
