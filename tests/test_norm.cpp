// Batch norm and the U-Net: float64 gradchecks, PyTorch fixtures (tests/fixtures/make_norm.py) for
// the op and for whole generators in train and eval mode, the official keys, and a training run.
#include <filesystem>
#include <sstream>

#include "autograd/gradcheck.h"
#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/trainer.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "models/networks/networks.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;
using namespace cg::cyclegan;
using cg::test::param;
namespace fs = std::filesystem;

namespace {

// "key:d0xd1,..." for every state-dict entry, as make_norm.py writes it.
std::string key_list(const nn::Module& net) {
  std::ostringstream os;
  bool first = true;
  for (const auto& [k, t] : net.state_dict()) {
    os << (first ? "" : ",") << k << ":";
    for (size_t d = 0; d < t.shape().size(); ++d) os << (d ? "x" : "") << t.shape()[d];
    first = false;
  }
  return os.str();
}

std::string sorted_list(const std::string& s) {
  std::vector<std::string> items;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& i : items) out += i + ",";
  return out;
}

}  // namespace

TEST_CASE("batch_norm2d passes float64 gradchecks in training and eval mode - cat1 too") {
  Generator g(41);
  Tensor rm = Tensor::zeros({3}, DType::F64), rv = Tensor::ones({3}, DType::F64);
  for (bool training : {true, false}) {
    CAPTURE(training);
    const auto r = gradcheck(
        [&](auto& v) {
          // the statistics move in training; gradcheck evaluates many times, so each call starts fresh
          Tensor m = rm.clone(), s = rv.clone();
          return batch_norm2d(v[0], v[1], v[2], m, s, training);
        },
        {param({2, 3, 4, 5}, g, 2.0), param({3}, g), param({3}, g)});
    CHECK_MESSAGE(r.ok, r.report);
    CHECK(r.checked > 0);
  }
  const auto r = gradcheck(
      [](auto& v) {
        return cat1({v[0], v[1], v[2]});
      },
      {param({2, 1, 3, 2}, g), param({2, 3, 3, 2}, g), param({2, 2, 3, 2}, g)});
  CHECK_MESSAGE(r.ok, r.report);
  // values: sample n's channels of each input in order
  const Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 1, 2, 1}),
               b = Tensor::from_vector(std::vector<double>{5, 6, 7, 8, 9, 10, 11, 12}, {2, 2, 2, 1});
  CHECK(cat1({a, b}).to_vector<double>() == std::vector<double>{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12});
  CHECK(cat1({a, b}).shape() == Shape{2, 3, 2, 1});
  CHECK_THROWS_WITH_AS(cat1({a, Tensor::zeros({1, 2, 2, 1}, DType::F64)}),
                       doctest::Contains("except in dim 1"), Error);
  for (const Shape& s : {Shape{2, 2, 1, 1}, Shape{2, 2, 2, 2}}) {  // another height, another width
    CAPTURE(s[2]);
    CHECK_THROWS_WITH_AS(cat1({a, Tensor::zeros(s, DType::F64)}), doctest::Contains("except in dim 1"),
                         Error);
  }
}

TEST_CASE("batch_norm2d equals PyTorch's BatchNorm2d: output - gradients - running statistics - eval") {
  const auto fx = test::fixture("norm.safetensors");
  const auto& t = fx.tensors;
  Tensor x = t.at("bn.in0").clone().set_requires_grad(), w = t.at("bn.in1").clone().set_requires_grad(),
         b = t.at("bn.in2").clone().set_requires_grad();
  Tensor rm = t.at("bn.running_mean").clone(), rv = t.at("bn.running_var").clone();
  Tensor y = batch_norm2d(x, w, b, rm, rv, true);
  CHECK_CLOSE(y, t.at("bn.out"), 1e-5, 1e-5);
  y.backward(t.at("bn.dout"));
  CHECK_CLOSE(x.grad(), t.at("bn.grad0"), 1e-5, 1e-5);
  CHECK_CLOSE(w.grad(), t.at("bn.grad1"), 1e-5, 1e-5);
  CHECK_CLOSE(b.grad(), t.at("bn.grad2"), 1e-5, 1e-5);
  // momentum 0.1, the variance unbiased (40 values per channel: times 40/39)
  CHECK_CLOSE(rm, t.at("bn.running_mean_after"), 1e-6, 1e-6);
  CHECK_CLOSE(rv, t.at("bn.running_var_after"), 1e-6, 1e-6);
  CHECK_CLOSE(batch_norm2d(t.at("bn.in0"), w, b, rm, rv, false), t.at("bn.eval_out"), 1e-5, 1e-5);
  // eval mode leaves the statistics alone; training needs two values per channel, as PyTorch
  const auto before = rm.to_vector<float>();
  batch_norm2d(t.at("bn.in0"), w, b, rm, rv, false);
  CHECK(rm.to_vector<float>() == before);
  CHECK_THROWS_WITH_AS(batch_norm2d(Tensor::zeros({1, 3, 1, 1}), w, b, rm, rv, true),
                       doctest::Contains("more than one value per channel"), Error);
  CHECK_NOTHROW(batch_norm2d(Tensor::zeros({1, 3, 1, 1}), w, b, rm, rv, false));
  {  // eval by hand: (x - mean) / sqrt(var + eps) * weight + bias, eps 1e-5 inside the root
    Tensor m = Tensor::from_vector(std::vector<double>{1, -2, 0}, {3}),
           v = Tensor::from_vector(std::vector<double>{0, 4, 0.25}, {3});
    const Tensor scale = Tensor::from_vector(std::vector<double>{1, 2, -1}, {3}),
                 shift = Tensor::from_vector(std::vector<double>{0, 1, 0.5}, {3});
    const std::vector<double> y =
        batch_norm2d(Tensor::from_vector(std::vector<double>{3, 0, 1}, {1, 3, 1, 1}), scale, shift, m, v,
                     false)
            .to_vector<double>();
    CHECK(y[0] == doctest::Approx(2.0 / std::sqrt(1e-5)).epsilon(1e-12));
    CHECK(y[1] == doctest::Approx(2.0 * 2.0 / std::sqrt(4 + 1e-5) + 1.0).epsilon(1e-12));
    CHECK(y[2] == doctest::Approx(-1.0 / std::sqrt(0.25 + 1e-5) + 0.5).epsilon(1e-12));
  }
  CHECK_THROWS_WITH_AS(batch_norm2d(Tensor::zeros({1, 4, 2, 2}), w, b, rm, rv, true),
                       doctest::Contains("(4)"), Error);
}

TEST_CASE("U-Net and ResNet generators with batch norm compute PyTorch's outputs in train and eval mode") {
  const auto fx = test::fixture("norm.safetensors");
  struct Case {
    const char* tag;
    std::shared_ptr<nn::Module> net;
  };
  for (const Case& c : {Case{"unet", std::make_shared<UnetGenerator>(3, 3, 6, 2, "batch", false)},
                        Case{"resbn", std::make_shared<ResnetGenerator>(3, 3, 4, "batch", false, 1)}}) {
    CAPTURE(c.tag);
    const std::string tag = c.tag;
    nn::Module& net = *c.net;
    net.load_state_dict(test::with_prefix(fx.tensors, tag + ".init."),
                        "the fixture");  // every key, buffers included
    net.train();
    Tensor x = fx.tensors.at(tag + ".x").clone().set_requires_grad();
    Tensor y = net(x);
    CHECK_CLOSE(y, fx.tensors.at(tag + ".train_out"), 1e-4, 1e-4);
    y.backward(fx.tensors.at(tag + ".dout"));
    CHECK_CLOSE(x.grad(), fx.tensors.at(tag + ".train_dx"), 1e-4, 1e-4);
    int buffers = 0;
    const auto sd = net.state_dict();
    for (const auto& [k, want] : test::with_prefix(fx.tensors, tag + ".after.")) {
      CHECK_CLOSE(sd.at(k), want, 1e-5, 1e-5);
      ++buffers;
    }
    CHECK(buffers > 0);
    net.eval();
    CHECK_CLOSE(net(fx.tensors.at(tag + ".x")), fx.tensors.at(tag + ".eval_out"), 1e-4, 1e-4);
  }
}

TEST_CASE(
    "unet_256 and resnet_9blocks with --norm batch have the official keys and shapes - buffers included") {
  const auto fx = test::fixture("norm.safetensors");
  Generator g(1);
  auto unet = define_G(3, 3, 64, "unet_256", "batch", false, "normal", 0.02, g);
  CHECK(sorted_list(key_list(*unet)) == sorted_list(fx.metadata.at("keys_unet_256")));
  CHECK(unet->state_dict().count(
      "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.1.weight"));
  auto res = define_G(3, 3, 64, "resnet_9blocks", "batch", false, "normal", 0.02, g);
  CHECK(sorted_list(key_list(*res)) == sorted_list(fx.metadata.at("keys_resnet_9blocks_batch")));
  // the official init: batch norm weights ~ N(1, gain), biases 0
  const auto w = res->state_dict().at("model.2.weight").to_vector<double>();
  double s1 = 0, s2 = 0;
  for (double v : w) s1 += v, s2 += (v - 1) * (v - 1);
  CHECK(std::abs(s1 / 64 - 1) < 4 * 0.02 / 8);
  CHECK(std::sqrt(s2 / 64) == doctest::Approx(0.02).epsilon(0.3).scale(0));
  for (double v : res->state_dict().at("model.2.bias").to_vector<double>()) CHECK(v == 0.0);
  // U-Net dropout: in the 8ngf middle blocks only (num_downs - 5 = 2 of them in unet_128)
  auto drop = define_G(3, 3, 8, "unet_128", "batch", true, "normal", 0.02, g);
  int dropouts = 0;
  for (auto& [path, m] : drop->named_modules()) dropouts += m->type_name() == "Dropout";
  CHECK(dropouts == 2);
  // sides must be multiples of 2^num_downs
  CHECK_THROWS_WITH_AS(drop->forward(Tensor::zeros({1, 3, 96, 128})), doctest::Contains("multiples of 128"),
                       Error);
}

TEST_CASE("--netG unet_256 --norm batch trains - saves running statistics - resumes bit for bit") {
  const std::string dir = test::scratch("unet_train");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 256, 256, 42);
  Options o = default_options("cycle_gan", true);
  o.dataroot = data;
  o.checkpoints_dir = dir + "/straight";
  o.name = "unet";
  o.netG = "unet_256";
  o.norm = "batch";
  o.ngf = 2;
  o.ndf = 2;
  o.netD = "pixel";
  o.load_size = 256;
  o.crop_size = 256;
  o.n_epochs = 1;
  o.n_epochs_decay = 1;
  o.pool_size = 2;
  o.print_freq = o.display_freq = o.save_latest_freq = 1000;
  o.no_html = true;
  o.num_threads = 1;
  o.seed = 3;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const auto g = safetensors::load(net_file(o, "latest", "G_A")).tensors;
  const std::string bn = "model.model.1.model.2.";  // the second level's down norm
  REQUIRE(g.count(bn + "running_mean"));
  CHECK(g.at(bn + "num_batches_tracked").item() > 0);
  CHECK(g.at(bn + "running_var").to_vector<float>() != std::vector<float>(4, 1.0f));  // moved from its start
  CHECK_FALSE(g.count("model.model.0.bias"));  // with batch norm the official down convolutions have no bias
  CHECK(g.count("model.model.3.bias"));        // the outermost up convolution keeps its own
  // stop after epoch 1's first sample, resume: the same end, running statistics included
  Options split = o;
  split.checkpoints_dir = dir + "/split";
  REQUIRE(run_training(split, {[](int64_t n) { return n == 1; }, true}) == 0);
  split.continue_train = true;
  REQUIRE(run_training(split, {nullptr, true}) == 0);
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"}) {
    const std::string diff =
        test::first_difference(net_file(o, "latest", net), net_file(split, "latest", net));
    CHECK_MESSAGE(diff.empty(), net << ": " << diff);
  }
}

TEST_CASE(
    "a new BatchNorm2d starts as PyTorch's - running mean 0 and var 1 - and one batch moves them by 0.1") {
  nn::BatchNorm2d bn(2);
  CHECK(bn.weight.to_vector<float>() == std::vector<float>{1, 1});
  CHECK(bn.bias.to_vector<float>() == std::vector<float>{0, 0});
  CHECK(bn.running_mean.to_vector<float>() == std::vector<float>{0, 0});
  CHECK(bn.running_var.to_vector<float>() == std::vector<float>{1, 1});
  CHECK(bn.num_batches_tracked.item() == 0);
  // channel 0 holds 1, 2, 3, 6 (mean 3, unbiased variance 14/3), channel 1 holds 4 x -2 (variance 0)
  const Tensor x = Tensor::from_vector(std::vector<float>{1, 2, -2, -2, 3, 6, -2, -2}, {2, 2, 2, 1});
  bn.forward(x);
  const auto m = bn.running_mean.to_vector<float>(), v = bn.running_var.to_vector<float>();
  CHECK(m[0] == doctest::Approx(0.3).epsilon(1e-6).scale(0));
  CHECK(m[1] == doctest::Approx(-0.2).epsilon(1e-6).scale(0));
  CHECK(v[0] == doctest::Approx(0.9 + 0.1 * 14.0 / 3.0).epsilon(1e-6).scale(0));
  CHECK(v[1] == doctest::Approx(0.9).epsilon(1e-6).scale(0));
  CHECK(bn.num_batches_tracked.item() == 1);
}
