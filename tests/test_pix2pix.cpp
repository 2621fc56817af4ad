// pix2pix against PyTorch: three training steps from the same initial weights (losses, weights,
// running statistics), and a unet_256 generator saved by PyTorch as safetensors (I64 counters)
// translating as PyTorch's test path does, in train and in eval mode. The fixtures come from
// tests/fixtures/make_pix2pix.py.
#include <cmath>
#include <filesystem>

#include "data/image.h"
#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/model.h"
#include "models/common/tester.h"
#include "models/networks/gan_loss.h"
#include "models/pix2pix/pix2pix_model.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;
using cg::pix2pix::Pix2PixModel;
namespace fs = std::filesystem;

namespace {

// The small pix2pix of pix2pix_steps.safetensors.
Options small_pix2pix() {
  Options o = default_options("pix2pix", true);
  o.netG = "unet_128";
  o.ngf = 2;
  o.ndf = 4;
  o.no_dropout = true;  // dropout's draws cannot match PyTorch's
  return o;
}

std::unique_ptr<Pix2PixModel> model_from_fixture(const safetensors::Contents& fx, DType dt) {
  auto m = std::make_unique<Pix2PixModel>(small_pix2pix(), true);
  for (auto& [name, net] : m->networks()) {
    net->to(dt);
    net->load_state_dict(test::with_prefix(fx.tensors, "init." + name + "."));
  }
  m->set_input(fx.tensors.at("real_A").to(dt), fx.tensors.at("real_B").to(dt));
  return m;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < av.size(); ++i) m = std::max(m, std::abs(av[i] - bv[i]));
  return m;
}

// The bytes of splitmix_bytes(count, seed) in make_pix2pix.py: splitmix64 over seed * 2^32 + i,
// the top 8 bits of each output.
std::vector<uint8_t> splitmix_bytes(size_t count, uint64_t seed) {
  std::vector<uint8_t> v(count);
  for (size_t i = 0; i < count; ++i) {
    uint64_t z = (seed << 32) + i + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    v[i] = static_cast<uint8_t>(z >> 56);
  }
  return v;
}

}  // namespace

TEST_CASE("the pix2pix model is the official one: names - channels - defaults") {
  Pix2PixModel m(small_pix2pix(), true);
  CHECK(m.loss_names() == std::vector<std::string>{"G_GAN", "G_L1", "D_real", "D_fake"});
  CHECK(m.visual_names() == std::vector<std::string>{"real_A", "fake_B", "real_B"});
  REQUIRE(m.networks().size() == 2);
  CHECK(m.networks()[0].first == "G");
  CHECK(m.networks()[1].first == "D");
  // D judges (input, output) pairs: its first convolution takes input_nc + output_nc channels
  CHECK(m.netD->state_dict().at("model.0.weight").shape() == Shape{4, 6, 4, 4});
  Options gray = small_pix2pix();
  gray.input_nc = 1;
  CHECK(Pix2PixModel(gray, true).netD->state_dict().at("model.0.weight").shape() == Shape{4, 4, 4, 4});
  // one Adam per network, over exactly that network's parameters
  REQUIRE(m.optimizers().size() == 2);
  CHECK(m.optimizer("G").params().size() == m.netG->parameters().size());
  CHECK(m.optimizer("D").params().size() == m.netD->parameters().size());
  CHECK(m.optimizer("G").options().beta1 == 0.5);
  // testing builds G alone
  Options t = default_options("pix2pix", false);
  t.netG = "unet_128";
  t.ngf = 2;
  Pix2PixModel test_model(t, false);
  REQUIRE(test_model.networks().size() == 1);
  CHECK(test_model.networks()[0].first == "G");
  CHECK_FALSE(test_model.netD);
}

TEST_CASE("three pix2pix training steps in float64 equal PyTorch's: losses - weights - running statistics") {
  const auto fx = test::fixture("pix2pix_steps.safetensors");
  auto m = model_from_fixture(fx, DType::F64);
  const auto expected = fx.tensors.at("f64.losses").to_vector<double>();  // (3, 4)
  double worst_loss = 0;
  for (int step = 0; step < 3; ++step) {
    m->optimize_parameters();
    const auto losses = m->current_losses();
    REQUIRE(losses.size() == 4);
    for (size_t k = 0; k < 4; ++k) {
      CAPTURE(step);
      CAPTURE(losses[k].first);
      const double e = expected[static_cast<size_t>(step) * 4 + k];
      CHECK(losses[k].second == doctest::Approx(e).epsilon(1e-10));
      worst_loss = std::max(worst_loss, std::abs(losses[k].second - e) / std::abs(e));
    }
  }
  double worst = 0;
  int counters = 0;
  for (auto& [name, net] : m->networks())
    for (const auto& [key, t] : net->state_dict()) {
      const std::string where = name + "." + key;
      CAPTURE(where);
      const Tensor& e = fx.tensors.at("f64.step3." + where);
      if (key.ends_with("num_batches_tracked")) {
        // G runs once a step, D three times (the fake pair, the real pair, the fake pair for G)
        CHECK(t.item() == e.item());
        CHECK(t.item() == (name == "G" ? 3.0 : 9.0));
        ++counters;
        continue;
      }
      CHECK_CLOSE(t, e, 1e-11, 1e-9);
      worst = std::max(worst, max_abs_diff(t, e));
    }
  // eleven batch norms in the unet_128 (two per middle level, one in the innermost), three in D
  CHECK(counters == 11 + 3);
  MESSAGE("pix2pix float64, 3 steps: largest relative loss difference "
          << worst_loss << ", largest state difference " << worst);
}

TEST_CASE("three pix2pix training steps in float32 agree with PyTorch's exact algorithm") {
  const auto fx = test::fixture("pix2pix_steps.safetensors");
  auto m = model_from_fixture(fx, DType::F32);
  const auto exact = fx.tensors.at("f64.losses").to_vector<double>();
  double worst_loss = 0;
  for (int step = 0; step < 3; ++step) {
    m->optimize_parameters();
    const auto losses = m->current_losses();
    for (size_t k = 0; k < 4; ++k) {
      CAPTURE(step);
      CAPTURE(losses[k].first);
      const double e = exact[static_cast<size_t>(step) * 4 + k];
      CHECK(losses[k].second == doctest::Approx(e).epsilon(1e-4));
      worst_loss = std::max(worst_loss, std::abs(losses[k].second - e) / std::abs(e));
    }
  }
  // Weights: Adam moves each element by about lr a step whatever its gradient's scale, so (as for
  // CycleGAN, tests/cyclegan_steps.h) a wrong gradient shows as many elements about lr away; float32
  // rounding moves a few. Measured: a per-tensor mean of 3e-4 lr, no element 0.5 lr away; the
  // bounds are 60x that. Running statistics are averages of the activations: close in value
  // (measured 2e-7).
  const double lr = 2e-4;
  double worst_mean = 0, worst_stat = 0;
  for (auto& [name, net] : m->networks())
    for (const auto& [key, t] : net->state_dict()) {
      const std::string where = name + "." + key;
      CAPTURE(where);
      const Tensor& e = fx.tensors.at("f64.step3." + where);
      if (key.ends_with("num_batches_tracked")) {
        CHECK(t.item() == e.item());
        continue;
      }
      const auto a = t.to_vector<double>(), ev = e.to_vector<double>();
      if (key.ends_with("running_mean") || key.ends_with("running_var")) {
        CHECK_CLOSE(t, e, 1e-5, 1e-4);
        worst_stat = std::max(worst_stat, max_abs_diff(t, e));
        continue;
      }
      double sum = 0;
      size_t over_half = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        sum += std::abs(a[i] - ev[i]);
        over_half += std::abs(a[i] - ev[i]) > 0.5 * lr;
      }
      const double mean = sum / static_cast<double>(a.size());
      CHECK(mean <= 0.02 * lr);
      CHECK(static_cast<double>(over_half) <= std::max(1.0, 0.01 * static_cast<double>(a.size())));
      worst_mean = std::max(worst_mean, mean);
    }
  MESSAGE("pix2pix float32 vs PyTorch float64, 3 steps: largest relative loss difference "
          << worst_loss << ", largest per-tensor mean |difference| " << worst_mean / lr
          << " lr, largest running-statistic difference " << worst_stat);
}

namespace {
// The 256x256 RGB image of make_pix2pix.py, and the options that test its generator.
data::Image fixture_image() {
  data::Image im{256, 256, 3, splitmix_bytes(256 * 256 * 3, 7)};
  return im;
}
Options unet256_test_options(bool dropout) {
  Options o = default_options("pix2pix", false);
  o.ngf = 2;
  o.output_nc = 1;
  o.no_dropout = !dropout;
  return o;
}
}  // namespace

TEST_CASE("a unet_256 saved by PyTorch as safetensors (I64 counters) translates as PyTorch's test path") {
  const std::string path = std::string(CG_FIXTURE_DIR) + "/pix2pix_G.safetensors";
  const auto file = safetensors::load(path);
  CHECK(file.dtypes.at("model.model.1.model.2.num_batches_tracked") == "I64");
  CHECK(file.tensors.at("model.model.1.model.2.num_batches_tracked").item() == 1234.0);
  const auto io = test::fixture("pix2pix_G_io.safetensors");
  const Tensor image = data::to_tensor(fixture_image()).reshape({1, 3, 256, 256});
  const Tensor unused_B = Tensor::zeros({1, 1, 256, 256});
  SUBCASE("eval mode: the running statistics, dropout off") {
    Pix2PixModel m(unet256_test_options(true), false);  // dropout layers built, as the pix2pix default
    load_network(*m.netG, path);
    CHECK(m.netG->state_dict().at("model.model.1.model.2.num_batches_tracked").item() == 1234.0);
    m.netG->eval();
    m.set_input(image, unused_B);
    m.test();
    CHECK_CLOSE(m.fake_B, io.tensors.at("eval"), 2e-5, 1e-4);
    MESSAGE("unet_256, eval: max |ours - PyTorch| " << max_abs_diff(m.fake_B, io.tensors.at("eval")));
  }
  SUBCASE("train mode, as test.py without --eval: batch statistics (dropout left out: its draws differ)") {
    Pix2PixModel m(unet256_test_options(false), false);
    load_network(*m.netG, path);
    m.netG->train();
    m.set_input(image, unused_B);
    m.test();
    CHECK_CLOSE(m.fake_B, io.tensors.at("train"), 2e-5, 1e-4);
    MESSAGE("unet_256, train: max |ours - PyTorch| " << max_abs_diff(m.fake_B, io.tensors.at("train")));
    // the running statistics differ from the batch's: the two modes give different images
    CHECK(max_abs_diff(io.tensors.at("train"), io.tensors.at("eval")) > 0.05);
  }
}

TEST_CASE(
    "cyclegan_test --model pix2pix on PyTorch's unet_256 writes its translation - real_A, fake_B, real_B") {
  const std::string dir = test::scratch("pix2pix_pytorch_G");
  Options o = unet256_test_options(true);
  o.dataroot = dir + "/data";
  o.checkpoints_dir = dir + "/ckpt";
  o.results_dir = dir + "/results";
  o.name = "official";
  o.eval = true;
  fs::create_directories(o.dataroot + "/test");
  fs::create_directories(o.checkpoints_dir + "/official");
  fs::copy_file(std::string(CG_FIXTURE_DIR) + "/pix2pix_G.safetensors", net_file(o, "latest", "G"));
  // the AB image: A the fixture image on the left, B (a gray map, output_nc 1) on the right
  const data::Image a = fixture_image();
  data::Image ab{512, 256, 3, std::vector<uint8_t>(512 * 256 * 3, 40)};
  for (int y = 0; y < 256; ++y) std::copy(a.row(y), a.row(y) + 256 * 3, ab.row(y));
  data::write_png(o.dataroot + "/test/tile.png", ab);
  const std::string folder = run_test(o, true);
  const data::Image fake = data::read_image(folder + "/images/tile_fake_B.png", 3);
  const data::Image want = data::from_tensor(test::fixture("pix2pix_G_io.safetensors").tensors.at("eval"));
  REQUIRE(fake.pixels.size() == want.pixels.size());
  int worst = 0;
  for (size_t i = 0; i < fake.pixels.size(); ++i)
    worst = std::max(worst, std::abs(fake.pixels[i] - want.pixels[i]));
  CHECK(worst <= 1);  // tensor2im truncates: a rounding difference can cross an integer
  // the inputs come back through tensor2im, which truncates (v / 255 - 0.5) / 0.5 back to v or v - 1
  const data::Image real_A = data::read_image(folder + "/images/tile_real_A.png", 3);
  REQUIRE(real_A.pixels.size() == a.pixels.size());
  int off = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) off = std::max(off, std::abs(real_A.pixels[i] - a.pixels[i]));
  CHECK(off <= 1);
  const data::Image real_B = data::read_image(folder + "/images/tile_real_B.png", 3);
  CHECK(real_B.width == 256);
  CHECK(std::abs(real_B.pixels[0] - 40) <= 1);
  const std::string page = test::read_file(folder + "/index.html");
  for (const char* label : {"tile_real_A.png", "tile_fake_B.png", "tile_real_B.png"})
    CHECK_MESSAGE(page.find(label) != std::string::npos, label);
}

TEST_CASE("safetensors: every dtype PyTorch writes reads exactly - I64 out of float64's reach is refused") {
  const auto fx = test::fixture("dtypes.safetensors");
  for (const char* dt : {"F16", "BF16", "I32", "I64", "F32", "F64"}) {
    CAPTURE(dt);
    CHECK(fx.dtypes.at(dt) == dt);
    const Tensor& t = fx.tensors.at(dt);
    CHECK(t.dtype() == (std::string(dt) == "I32" || std::string(dt) == "I64" || std::string(dt) == "F64"
                            ? DType::F64
                            : DType::F32));
    CHECK(t.shape() == fx.tensors.at(std::string(dt) + ".value").shape());
    const auto got = t.to_vector<double>(),
               want = fx.tensors.at(std::string(dt) + ".value").to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i] == want[i]);
      CHECK(std::signbit(got[i]) == std::signbit(want[i]));  // F16's -0
    }
  }
  // 2^53 + 1 has no float64: refused, naming the tensor
  const std::string path = test::scratch("dtypes") + "/big.safetensors";
  {
    const std::string header = R"({"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>(header.size() >> (8 * i));
    const int64_t v = (int64_t{1} << 53) + 1;
    bytes += header + std::string(reinterpret_cast<const char*>(&v), 8);
    std::ofstream(path, std::ios::binary) << bytes;
  }
  CHECK_THROWS_WITH_AS(safetensors::load(path),
                       doctest::Contains("tensor 'n' holds 9007199254740993, beyond 2^53"), Error);
  {  // and -(2^53 + 1)
    const std::string header = R"({"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>(header.size() >> (8 * i));
    const int64_t v = -(int64_t{1} << 53) - 1;
    bytes += header + std::string(reinterpret_cast<const char*>(&v), 8);
    std::ofstream(path, std::ios::binary) << bytes;
  }
  CHECK_THROWS_WITH_AS(safetensors::load(path), doctest::Contains("holds -9007199254740993, beyond 2^53"),
                       Error);
}

TEST_CASE("checkpoints store num_batches_tracked as I64 - as PyTorch - and read it back") {
  const std::string dir = test::scratch("i64_counters");
  Options o = small_pix2pix();
  o.checkpoints_dir = dir;
  o.name = "exp";
  Pix2PixModel m(o, true);
  Generator g(3);
  m.set_input(Tensor::rand({1, 3, 128, 128}, DType::F32, Device::CPU, &g) * 2.0 - 1.0,
              Tensor::rand({1, 3, 128, 128}, DType::F32, Device::CPU, &g) * 2.0 - 1.0);
  m.optimize_parameters();
  m.optimize_parameters();
  save_checkpoint(m, "latest", TrainPosition{1, 2, 2, false, {}});
  for (const char* net : {"G", "D"}) {
    CAPTURE(net);
    const auto c = safetensors::load(net_file(o, "latest", net));
    int counters = 0;
    for (const auto& entry : c.dtypes) {
      const std::string& key = entry.first;  // a plain reference: CAPTURE's lambda cannot name a binding
      const std::string& dt = entry.second;
      CAPTURE(key);
      const bool counter = key.ends_with("num_batches_tracked");
      CHECK(dt == (counter ? "I64" : "F32"));
      if (counter) {
        CHECK(c.tensors.at(key).item() == (std::string(net) == "G" ? 2.0 : 6.0));
        ++counters;
      }
    }
    CHECK(counters == (std::string(net) == "G" ? 11 : 3));
  }
  Pix2PixModel back(o, true);
  REQUIRE(load_checkpoint(back, "latest").has_value());
  CHECK(back.netD->state_dict().at("model.3.num_batches_tracked").item() == 6.0);
  // a value that is not a whole number cannot be written as I64
  CHECK_THROWS_WITH_AS(safetensors::save(dir + "/x.safetensors", {{"n", Tensor::full({}, 2.5)}}, {}, {"n"}),
                       doctest::Contains("'n' holds 2.5"), Error);
  CHECK_FALSE(fs::exists(dir + "/x.safetensors"));
}

TEST_CASE(
    "pix2pix: --lambda_L1 weighs the L1 loss - BtoA swaps the pair - D takes no gradient from the G step") {
  const auto fx = test::fixture("pix2pix_steps.safetensors");
  const Tensor A = fx.tensors.at("real_A").to(DType::F64), B = fx.tensors.at("real_B").to(DType::F64);
  Options o = small_pix2pix();
  o.set("lambda_L1", 10);
  Pix2PixModel m(o, true);
  Pix2PixModel fresh(o, true);  // the same initial weights (one seed), for a D gradient of its own
  for (Pix2PixModel* x : {&m, &fresh})
    for (auto& [name, net] : x->networks()) {
      net->to(DType::F64);
      net->load_state_dict(test::with_prefix(fx.tensors, "init." + name + "."));
    }
  m.set_input(A, B);
  m.optimize_parameters();
  // the step's losses are of its forward: fake_B is G(A) before the update
  const double l1 = l1_loss(m.fake_B, B).item();
  CHECK(m.current_losses()[1].second == doctest::Approx(10 * l1).epsilon(1e-12));
  // D's gradient after the step is loss_D's alone, (D(fake) + D(real)) / 2 at the initial weights:
  // the G step, with D frozen, adds nothing to it
  const Tensor fake = (*fresh.netG)(A).detach();
  models::GANLoss gan("vanilla");
  const Tensor loss_D =
      (gan((*fresh.netD)(cat1({A, fake})), false) + gan((*fresh.netD)(cat1({A, B})), true)) * 0.5;
  loss_D.backward();
  const auto pm = m.netD->named_parameters(), pf = fresh.netD->named_parameters();
  REQUIRE(pm.size() == pf.size());
  for (size_t i = 0; i < pm.size(); ++i) {
    CAPTURE(pm[i].first);
    REQUIRE(pm[i].second.grad().defined());
    CHECK_CLOSE(pm[i].second.grad(), pf[i].second.grad(), 1e-13, 1e-9);
  }
  // --direction BtoA: the dataset's B is the generator's input
  o.direction = "BtoA";
  Pix2PixModel swapped(o, true);
  swapped.set_input(A, B);
  CHECK(test::identical(swapped.real_A, B.to(DType::F32)) == false);  // kept in the input's dtype
  CHECK(test::identical(swapped.real_A, B));
  CHECK(test::identical(swapped.real_B, A));
  data::Batch batch{A, B, {"a.png"}, {"b.png"}, {}};
  swapped.set_input(batch);
  CHECK(swapped.image_paths() == std::vector<std::string>{"b.png"});
}
