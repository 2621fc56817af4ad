// Training flags inside real (tiny) runs: numbered and per-iteration checkpoints, resuming from an
// end-of-epoch checkpoint, each --lr_policy epoch by epoch, --direction BtoA with 1-channel data,
// --norm none, --netD n_layers and pixel, --gan_mode wgangp and --init_type xavier.
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/trainer.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "models/networks/gan_loss.h"
#include "models/networks/networks.h"
#include "nn/safetensors.h"

using namespace cg;
using namespace cg::models;
using namespace cg::cyclegan;
using cg::test::make_dataset;
using cg::test::scratch;
namespace fs = std::filesystem;

namespace {

// Tiny networks on 32x32 crops, 2 epochs, nothing saved by iteration count.
Options flag_options(const std::string& data, const std::string& ckpt) {
  Options o = test::tiny_experiment(data, ckpt);
  o.name = "flags";
  o.pool_size = 2;
  o.n_epochs = 1;
  o.n_epochs_decay = 1;
  o.print_freq = 1000;
  o.display_freq = 1000;
  o.save_latest_freq = 1000;
  o.num_threads = 1;
  o.no_html = true;
  o.seed = 9;
  return o;
}

nlohmann::json saved_state(const Options& o, const std::string& label) {
  return nlohmann::json::parse(safetensors::load(state_file(o, label)).metadata.at("train_state"));
}

}  // namespace

TEST_CASE("--save_epoch_freq writes numbered checkpoints at its epochs only - resuming from one is exact") {
  const std::string dir = scratch("epoch_ckpts");
  const std::string data = make_dataset(dir + "/data", 3, 2, 36, 36, 31);
  Options o = flag_options(data, dir + "/straight");
  o.n_epochs = 2;
  o.n_epochs_decay = 2;
  o.save_epoch_freq = 2;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  for (const char* label : {"2", "4", "latest"}) CHECK_MESSAGE(fs::exists(net_file(o, label, "G_A")), label);
  for (const char* label : {"1", "3", "5"}) CHECK_MESSAGE(!fs::exists(net_file(o, label, "G_A")), label);
  const nlohmann::json at2 = saved_state(o, "2");
  CHECK(at2.at("epoch") == 2);
  CHECK(at2.at("epoch_done") == true);
  CHECK(at2.at("total_iters") == 6);

  // Only epoch 2's checkpoint in a fresh folder: --continue_train --epoch 2 runs epochs 3 and 4 and
  // ends bit for bit where the uninterrupted run ended.
  Options resumed = o;
  resumed.checkpoints_dir = dir + "/resumed";
  fs::create_directories(experiment_dir(resumed));
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    fs::copy_file(net_file(o, "2", net), net_file(resumed, "2", net));
  fs::copy_file(state_file(o, "2"), state_file(resumed, "2"));
  resumed.continue_train = true;
  resumed.epoch = std::to_string(2);  // (a one-letter literal trips GCC 12's false -Wrestrict)
  REQUIRE(run_training(resumed, {nullptr, true}) == 0);
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    CHECK_MESSAGE(
        test::first_difference(net_file(o, "latest", net), net_file(resumed, "latest", net)).empty(), net);
  CHECK(test::first_difference(state_file(o, "latest"), state_file(resumed, "latest")).empty());
  CHECK(saved_state(resumed, "4").at("total_iters") == 12);
}

TEST_CASE(
    "--save_by_iter keeps iter_N checkpoints every --save_latest_freq samples - --epoch iter_N loads one") {
  const std::string dir = scratch("by_iter");
  Options o = flag_options(make_dataset(dir + "/data", 3, 2, 36, 36, 32), dir + "/ckpt");
  o.save_by_iter = true;
  o.save_latest_freq = 2;
  REQUIRE(run_training(o, {nullptr, true}) == 0);  // 2 epochs of 3 samples
  for (const char* label : {"iter_2", "iter_4", "iter_6"})
    CHECK_MESSAGE(fs::exists(net_file(o, label, "G_A")), label);
  CHECK_FALSE(fs::exists(net_file(o, "iter_3", "G_A")));
  CHECK(saved_state(o, "iter_4").at("total_iters") == 4);
  CHECK(saved_state(o, "iter_4").at("epoch") == 2);
  CHECK(saved_state(o, "iter_4").at("epoch_iter") == 1);
  // --epoch iter_4, or --load_iter 4 (which wins over --epoch), picks that checkpoint
  Options t = o;
  t.epoch = "iter_4";
  CHECK(load_label(t) == "iter_4");
  t.epoch = "latest";
  t.load_iter = 4;
  CHECK(load_label(t) == "iter_4");
  CycleGANModel m(o, true);
  const auto r = load_checkpoint(m, "iter_4");
  REQUIRE(r.has_value());
  CHECK(r->pos.total_iters == 4);
}

TEST_CASE("each --lr_policy sets the official learning rate at every epoch of a real run") {
  const std::string dir = scratch("lr_policies");
  const std::string data = make_dataset(dir + "/data", 2, 2, 36, 36, 33);
  struct Case {
    const char* policy;
    int n_epochs, n_epochs_decay;
    std::vector<double> factor;  // the rate of epochs 1, 2, ... relative to --lr
  };
  const double c = std::cos(M_PI / 3);  // cosine with T_max = n_epochs = 3
  for (const Case& k : {
           // linear: 1 - max(0, e + 1 - n_epochs) / (n_epochs_decay + 1), e the steps taken
           Case{"linear", 2, 3, {1.0, 0.75, 0.5, 0.25, 0.0}},
           // step: 0.1 every lr_decay_iters (2) steps
           Case{"step", 2, 2, {1.0, 0.1, 0.1, 0.01}},
           // cosine: (1 + cos(pi e / T_max)) / 2, and on past T_max
           Case{"cosine", 3, 1, {(1 + c) / 2, (1 - c) / 2, 0.0, (1 - c) / 2}},
           // plateau: the metric is always 0, so after the first step every epoch is a bad one and
           // the sixth bad epoch in a row (patience 5) multiplies by 0.2
           Case{"plateau", 8, 0, {1, 1, 1, 1, 1, 1, 0.2, 0.2}},
       }) {
    CAPTURE(k.policy);
    Options o = flag_options(data, dir + "/" + k.policy);
    o.lr_policy = k.policy;
    o.lr_decay_iters = 2;
    o.n_epochs = k.n_epochs;
    o.n_epochs_decay = k.n_epochs_decay;
    o.save_epoch_freq = 1;
    REQUIRE(run_training(o, {nullptr, true}) == 0);
    for (size_t e = 0; e < k.factor.size(); ++e) {
      CAPTURE(e + 1);
      const nlohmann::json st = saved_state(o, std::to_string(e + 1));
      CHECK(st.at("scheduler_G").at("last_epoch") == e + 1);
      const double lr = st.at("scheduler_G").at("lr").get<double>(), want = o.lr * k.factor[e];
      CHECK(std::abs(lr - want) <= 1e-12 * o.lr);
      CHECK(st.at("scheduler_D").at("lr").get<double>() == lr);
    }
  }
}

TEST_CASE("--direction BtoA feeds B images to G_A - with 1-channel input") {
  const std::string dir = scratch("btoa");
  Options o = flag_options(make_dataset(dir + "/data", 2, 3, 36, 36, 34), dir + "/ckpt");
  o.direction = "BtoA";
  o.input_nc = 1;  // G_A: 1 -> 3 channels, so the B folder is read as gray
  o.output_nc = 3;
  o.set("lambda_identity", 0);
  {
    CycleGANModel m(o, true);
    const Tensor a = Tensor::full({1, 3, 32, 32}, 0.5), b = Tensor::full({1, 1, 32, 32}, -0.25);
    m.set_input(a, b);
    CHECK(m.real_A.shape() == b.shape());
    CHECK(m.real_A.to_vector<float>()[0] == -0.25f);
    CHECK(m.real_B.to_vector<float>()[0] == 0.5f);
  }
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const auto g = safetensors::load(net_file(o, "latest", "G_A")).tensors;
  CHECK(g.at("model.1.weight").shape() == Shape{4, 1, 7, 7});
  CHECK(safetensors::load(net_file(o, "latest", "D_B")).tensors.at("model.0.weight").shape() ==
        Shape{4, 1, 4, 4});
  // 3 B images: the epoch is as long as the larger folder
  CHECK(saved_state(o, "latest").at("total_iters") == 6);
}

TEST_CASE("--norm none: no norm layers and no biases before them - as the official - and it trains") {
  Generator g(4);
  auto G = define_G(3, 3, 64, "resnet_9blocks", "none", false, "normal", 0.02, g);
  auto D = define_D(3, 64, "basic", 3, "none", "normal", 0.02, g);
  // the official use_bias is false for "none": every convolution that would feed a norm loses its
  // bias (64 + 128 + 256 + 9 * 2 * 256 + 128 + 64 in G, 128 + 256 + 512 in D)
  CHECK(G->num_parameters() == 11378179 - 5248);
  CHECK(D->num_parameters() == 2764737 - 896);
  const auto gsd = G->state_dict(), dsd = D->state_dict();
  CHECK(gsd.count("model.1.weight"));
  CHECK_FALSE(gsd.count("model.1.bias"));
  CHECK_FALSE(gsd.count("model.10.conv_block.1.bias"));
  CHECK(gsd.count("model.26.bias"));  // the output convolution keeps its bias
  CHECK(dsd.count("model.0.bias"));   // so does D's first, which has no norm after it
  CHECK_FALSE(dsd.count("model.2.bias"));
  CHECK(dsd.count("model.11.bias"));
  const std::string dir = scratch("norm_none");
  Options o = flag_options(make_dataset(dir + "/data", 2, 2, 36, 36, 35), dir + "/ckpt");
  o.norm = "none";
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  CHECK_FALSE(safetensors::load(net_file(o, "latest", "G_A")).tensors.count("model.1.bias"));
}

TEST_CASE("--netD n_layers and pixel have the official layers - and train") {
  Generator g(5);
  // n_layers 2: conv 3->64 (s2), conv 64->128 (s2) + norm, conv 128->256 (s1) + norm, conv 256->1
  auto n2 = define_D(3, 64, "n_layers", 2, "instance", "normal", 0.02, g);
  CHECK(n2->num_parameters() == 3136 + 131200 + 524544 + 4097);
  const auto sd = n2->state_dict();
  CHECK(sd.at("model.5.weight").shape() == Shape{256, 128, 4, 4});
  CHECK(sd.at("model.8.weight").shape() == Shape{1, 256, 4, 4});
  CHECK(sd.size() == 8);
  // 32 -> 16 -> 8 -> 7 -> 6
  CHECK(n2->forward(Tensor::zeros({1, 3, 32, 32})).shape() == Shape{1, 1, 6, 6});
  // pixel: 1x1 convolutions 3->64->128->1, norm before the last
  auto px = define_D(3, 64, "pixel", 3, "instance", "normal", 0.02, g);
  CHECK(px->num_parameters() == 256 + 8320 + 129);
  CHECK(px->forward(Tensor::zeros({1, 3, 5, 7})).shape() == Shape{1, 1, 5, 7});
  const std::string dir = scratch("netd");
  const std::string data = make_dataset(dir + "/data", 2, 2, 36, 36, 36);
  for (const char* netD : {"n_layers", "pixel"}) {
    CAPTURE(netD);
    Options o = flag_options(data, dir + "/" + netD);
    o.netD = netD;
    o.n_layers_D = 2;
    REQUIRE(run_training(o, {nullptr, true}) == 0);
    CHECK(safetensors::load(net_file(o, "latest", "D_A")).tensors.size() == (o.netD == "pixel" ? 6u : 8u));
  }
}

TEST_CASE("--netD pixel puts LeakyReLU(0.2) after its norm - on hand-set 1x1 weights") {
  // 1 channel in, ndf 1: conv 1->1 (weight 1), LeakyReLU, conv 1->2 (weights 1 and -1), norm,
  // LeakyReLU, conv 2->1 (weights 1 and 0). The output is the normalised input [1 2 3 4] with its
  // negative half scaled by 0.2; a ReLU there would give 0. Both the fused instance norm and the
  // separate batch norm + activation.
  const std::map<std::string, std::vector<float>> weights = {
      {"net.0.weight", {1}}, {"net.2.weight", {1, -1}}, {"net.5.weight", {1, 0}}, {"net.3.weight", {1, 1}}};
  const double sd = std::sqrt(1.25 + 1e-5);  // population variance of 1..4, plus the norm's eps
  for (const char* norm : {"instance", "batch"}) {
    CAPTURE(norm);
    Generator g(6);
    auto px = define_D(1, 1, "pixel", 3, norm, "normal", 0.02, g);
    std::map<std::string, Tensor> state;
    for (const auto& kv : px->state_dict()) {
      // biases, the batch norm's shift and running mean 0; its scale and running variance 1
      std::vector<float> v(static_cast<size_t>(kv.second.numel()),
                           kv.first == "net.3.running_var" ? 1.0f : 0.0f);
      if (weights.count(kv.first)) v = weights.at(kv.first);
      state[kv.first] = Tensor::from_vector(v, kv.second.shape());
    }
    px->load_state_dict(state);
    const std::vector<float> y =
        px->forward(Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {1, 1, 1, 4})).to_vector<float>();
    REQUIRE(y.size() == 4);
    for (int i = 0; i < 4; ++i) {
      const double n = (i + 1 - 2.5) / sd;
      CHECK(y[static_cast<size_t>(i)] == doctest::Approx(n > 0 ? n : 0.2 * n).epsilon(1e-5));
    }
  }
}

TEST_CASE("--gan_mode wgangp is -mean for real and mean for fake - and trains") {
  const Tensor p = Tensor::from_vector(std::vector<float>{1.0f, -3.0f, 0.5f, 2.5f}, {1, 1, 2, 2});
  const GANLoss w("wgangp");
  CHECK(w(p, true).item() == doctest::Approx(-0.25).epsilon(1e-7));
  CHECK(w(p, false).item() == doctest::Approx(0.25).epsilon(1e-7));
  const std::string dir = scratch("wgangp");
  Options o = flag_options(make_dataset(dir + "/data", 2, 2, 36, 36, 37), dir + "/ckpt");
  o.gan_mode = "wgangp";
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  CHECK(fs::exists(net_file(o, "latest", "D_B")));
}

TEST_CASE("--init_type xavier draws weights with std gain * sqrt(2 / (fan_in + fan_out))") {
  Generator g(6);
  auto net = define_D(3, 64, "basic", 3, "instance", "xavier", 0.02, g);
  const auto w = net->state_dict().at("model.8.weight").to_vector<double>();  // (512, 256, 4, 4)
  double s1 = 0, s2 = 0;
  for (double v : w) s1 += v, s2 += v * v;
  const double n = static_cast<double>(w.size()), want = 0.02 * std::sqrt(2.0 / (256 * 16 + 512 * 16));
  CHECK(std::abs(s1 / n) < 4 * want / std::sqrt(n));  // centred
  // the sample std of 2M draws is within 0.1% of the true one; fan_in or fan_out alone would give
  // 22% more or 13% less
  CHECK(std::sqrt(s2 / n) == doctest::Approx(want).epsilon(0.003).scale(0));  // relative only
  for (double v : net->state_dict().at("model.8.bias").to_vector<double>()) CHECK(v == 0.0);
}

namespace {

// Which training image (and whether mirrored) a saved visual shows: every pixel within 1 of the
// source, since the tensor -> png conversion truncates. -1 when it matches none.
std::pair<int, bool> which_image(const data::Image& shown, const std::vector<data::Image>& sources) {
  const auto within = [&](const data::Image& src) {
    if (src.width != shown.width || src.height != shown.height || src.channels != shown.channels)
      return false;
    for (size_t k = 0; k < src.pixels.size(); ++k)
      if (std::abs(src.pixels[k] - shown.pixels[k]) > 1) return false;
    return true;
  };
  for (size_t i = 0; i < sources.size(); ++i) {
    if (within(sources[i])) return {static_cast<int>(i), false};
    if (within(data::flip_horizontal(sources[i]))) return {static_cast<int>(i), true};
  }
  return {-1, false};
}

// What a 3-epoch run on 4 A and 3 B noise images fed the model, iteration by iteration, read back
// from the images the page keeps (--display_freq 1 --update_html_freq 1).
struct Fed {
  std::vector<std::pair<int, bool>> a, b;
};

Fed images_fed(const std::string& dir, bool no_flip, bool serial_batches) {
  Generator g(31);
  std::vector<data::Image> src_a, src_b;
  for (const char* dom : {"A", "B"}) {
    fs::create_directories(dir + "/data/train" + dom);
    for (int i = 0; i < (dom[0] == 'A' ? 4 : 3); ++i) {
      data::Image img{32, 32, 3, std::vector<uint8_t>(32 * 32 * 3)};
      for (auto& p : img.pixels) p = static_cast<uint8_t>(g.below(256));
      data::write_png(dir + "/data/train" + dom + "/" + std::to_string(i) + ".png", img);
      (dom[0] == 'A' ? src_a : src_b).push_back(img);
    }
  }
  Options o = flag_options(dir + "/data", dir + "/ckpt");
  o.preprocess = "crop";  // 32x32 crops of 32x32 images: only the flip changes them
  o.load_size = o.crop_size = 32;
  o.n_epochs = 2;
  o.n_epochs_decay = 1;
  o.display_freq = o.update_html_freq = 1;
  o.no_html = false;
  o.no_flip = no_flip;
  o.serial_batches = serial_batches;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  Fed fed;
  for (int it = 1; it <= 12; ++it) {
    const int epoch = (it - 1) / 4 + 1;
    char prefix[64];
    std::snprintf(prefix, sizeof prefix, "/web/images/epoch%03d_iter%07d_", epoch, it);
    const std::string base = experiment_dir(o) + prefix;
    fed.a.push_back(which_image(data::read_image(base + "real_A.png", 3), src_a));
    fed.b.push_back(which_image(data::read_image(base + "real_B.png", 3), src_b));
    INFO("iteration " << it);
    REQUIRE(fed.a.back().first >= 0);
    REQUIRE(fed.b.back().first >= 0);
  }
  return fed;
}

}  // namespace

TEST_CASE("training flips and shuffles by default - --no_flip and --serial_batches turn each off") {
  const std::string dir = scratch("fed");
  SUBCASE("default: each epoch a fresh permutation of A - B drawn at random - about half mirrored") {
    const Fed fed = images_fed(dir + "/default", false, false);
    int mirrored = 0, in_file_order = 0, b_serial = 0;
    for (int e = 0; e < 3; ++e) {
      std::vector<int> order;
      for (int i = 0; i < 4; ++i) order.push_back(fed.a[static_cast<size_t>(e * 4 + i)].first);
      in_file_order += order == std::vector<int>{0, 1, 2, 3};
      std::sort(order.begin(), order.end());
      CHECK(order == std::vector<int>{0, 1, 2, 3});  // every A image once per epoch
    }
    for (size_t k = 0; k < 12; ++k) {
      mirrored += fed.a[k].second + fed.b[k].second;
      b_serial += fed.b[k].first == fed.a[k].first % 3;
    }
    CHECK(in_file_order < 3);
    CHECK(b_serial < 12);
    // 24 fair coins: 4..20 heads fails with probability 3e-4 (the seed is fixed besides)
    CHECK(mirrored >= 4);
    CHECK(mirrored <= 20);
  }
  SUBCASE("--no_flip --serial_batches: A in file order - B index = A index mod 3 - nothing mirrored") {
    const Fed fed = images_fed(dir + "/serial", true, true);
    for (size_t k = 0; k < 12; ++k) {
      INFO("iteration " << k + 1);
      CHECK(fed.a[k] == std::pair<int, bool>{static_cast<int>(k % 4), false});
      CHECK(fed.b[k] == std::pair<int, bool>{static_cast<int>(k % 4 % 3), false});
    }
  }
}

TEST_CASE("with --batch_size 2 total_iters and epoch_iter count samples - as the official - not batches") {
  const std::string dir = scratch("batch2");
  Options o = flag_options(make_dataset(dir + "/data", 4, 3, 36, 36, 12), dir + "/ckpt");
  o.batch_size = 2;
  o.save_latest_freq = 4;  // in samples: after the 2nd batch of each epoch
  o.print_freq = 2;        // a loss row every batch
  REQUIRE(run_training(o, {[](int64_t n) { return n == 6; }, true}) == 0);  // 3 batches of 2
  const auto state = saved_state(o, "latest");
  CHECK(state.at("total_iters") == 6);
  CHECK(state.at("epoch_iter") == 2);
  CHECK(state.at("epoch") == 2);
  // resumed to the end: loss_log.csv keeps the first run's rows under its one header
  o.continue_train = true;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  std::istringstream csv(test::read_file(experiment_dir(o) + "/loss_log.csv"));
  std::vector<std::string> starts;  // each row's "epoch,iters"
  for (std::string line; std::getline(csv, line);)
    starts.push_back(line.substr(0, line.find(',', line.find(',') + 1)));
  CHECK(starts == std::vector<std::string>{"epoch,iters", "1,2", "1,4", "2,2", "2,4"});
  // ... and loss_log.txt both runs' lines, each run under its own banner (appended, as the official)
  const std::string txt = test::read_file(experiment_dir(o) + "/loss_log.txt");
  size_t banners = 0, lines = 0;
  for (size_t at = txt.find("Training Loss"); at != std::string::npos; at = txt.find("Training Loss", at + 1))
    ++banners;
  for (size_t at = txt.find("(epoch: "); at != std::string::npos; at = txt.find("(epoch: ", at + 1)) ++lines;
  CHECK(banners == 2);
  CHECK(lines == 4);
  CHECK(txt.find("(epoch: 1, iters: 2,") < txt.find("(epoch: 2, iters: 4,"));
}
