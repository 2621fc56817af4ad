// The conditional GAN and what it needed: linear, embedding, batch_norm1d and flatten (float64
// gradchecks and PyTorch's values, tests/fixtures/make_cgan.py), Keras's initialisers, the class
// folders and their random draws, the book's training step against PyTorch's, and cgan_train /
// cgan_sample end to end (files, resume, errors).
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "autograd/gradcheck.h"
#include "data/class_folders.h"
#include "helpers.h"
#include "models/cgan/cgan_model.h"
#include "models/cgan/sampler.h"
#include "models/common/checkpoint.h"
#include "models/common/trainer.h"
#include "nn/init.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;
using cg::cgan::CGANModel;
using cg::test::param;
namespace fs = std::filesystem;

namespace {

Tensor index_tensor(const std::vector<double>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

// DIR/<class>/ of `per_class` 28x28 gray PNGs per class: class k a bright square at a place of its own.
std::string make_class_folders(const std::string& root, const std::vector<std::string>& classes,
                               int per_class, uint64_t seed, int size = 28) {
  Generator g(seed);
  for (size_t k = 0; k < classes.size(); ++k) {
    const fs::path dir = fs::path(root) / classes[k];
    fs::create_directories(dir);
    for (int i = 0; i < per_class; ++i) {
      data::Image img{size, size, 1, std::vector<uint8_t>(static_cast<size_t>(size) * size)};
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
          const bool in = std::abs(y - 6 - 4 * static_cast<int>(k)) < 4 && std::abs(x - 14) < 6;
          img.row(y)[x] = static_cast<uint8_t>((in ? 220 : 20) + 20 * g.uniform());
        }
      char name[32];
      std::snprintf(name, sizeof name, "%03d.png", i);
      data::write_png((dir / name).string(), img);
    }
  }
  return root;
}

Options tiny_cgan(const std::string& data, const std::string& ckpt) {
  Options o = default_options("cgan", true);
  o.dataroot = data;
  o.checkpoints_dir = ckpt;
  o.name = "cgan";
  o.set("num_classes", static_cast<int>(data::class_folder_names(data).size()));
  o.set("n_iters", 6);
  o.batch_size = 4;
  o.set("z_dim", 8);
  o.set("sample_freq", 3);
  o.display_freq = o.update_html_freq = o.save_latest_freq = 3 * 4;
  o.print_freq = 4;
  o.num_threads = 1;
  return o;
}

}  // namespace

// ---- the ops ----

TEST_CASE("linear - embedding - batch_norm1d - flatten pass float64 gradchecks") {
  Generator g(51);
  auto check = [](const GradcheckResult& r) {
    CHECK_MESSAGE(r.ok, r.report);
    CHECK(r.checked > 0);
  };
  check(gradcheck([](auto& v) { return linear(v[0], v[1], v[2]); },
                  {param({5, 7}, g), param({3, 7}, g), param({3}, g)}));
  check(
      gradcheck([](auto& v) { return linear(v[0], v[1], Tensor()); }, {param({4, 6}, g), param({2, 6}, g)}));
  // a repeated index adds its rows' gradients; an index never named gets 0
  const Tensor idx = index_tensor({2, 0, 2, 1, 2});
  check(gradcheck([&](auto& v) { return embedding(v[0], idx); }, {param({4, 3}, g)}));
  Tensor rm = Tensor::zeros({4}, DType::F64), rv = Tensor::ones({4}, DType::F64);
  for (bool training : {true, false}) {
    CAPTURE(training);
    check(gradcheck(
        [&](auto& v) {
          Tensor m = rm.clone(), s = rv.clone();
          return batch_norm1d(v[0], v[1], v[2], m, s, training);
        },
        {param({6, 4}, g, 2.0), param({4}, g), param({4}, g)}));
  }
  check(gradcheck([](auto& v) { return flatten(v[0]) * flatten(v[0]); }, {param({2, 3, 2, 2}, g)}));
  CHECK(flatten(Tensor::zeros({2, 3, 4, 5})).shape() == Shape{2, 60});
}

TEST_CASE("linear - embedding - batch_norm1d equal PyTorch's: outputs - gradients - running statistics") {
  const auto fx = test::fixture("cgan_ops.safetensors");
  const auto& t = fx.tensors;
  const int cases =
      test::check_fixture_cases(fx,
                                {{"linear", [](auto& v) { return linear(v[0], v[1], v[2]); }},
                                 {"linear_nobias", [](auto& v) { return linear(v[0], v[1], Tensor()); }},
                                 {"emb", [&](auto& v) { return embedding(v[0], t.at("emb.index")); }}},
                                1e-5, 1e-5);
  CHECK(cases == 3);
  // the scatter-add by hand: class 2 is named three times, class 4 never
  const auto grad = [&] {
    Tensor w = t.at("emb.in0").clone().set_requires_grad();
    embedding(w, t.at("emb.index")).backward(t.at("emb.dout"));
    return w.grad().to_vector<float>();
  }();
  const auto dout = t.at("emb.dout").to_vector<float>();
  for (int d = 0; d < 3; ++d) {
    CHECK(grad[static_cast<size_t>(2 * 3 + d)] ==
          doctest::Approx(dout[0 * 3 + d] + dout[2 * 3 + d] + dout[5 * 3 + d]));
    CHECK(grad[static_cast<size_t>(4 * 3 + d)] == 0.0f);
  }
  Tensor x = t.at("bn1d.in0").clone().set_requires_grad(), w = t.at("bn1d.in1").clone().set_requires_grad(),
         b = t.at("bn1d.in2").clone().set_requires_grad();
  Tensor rm = t.at("bn1d.running_mean").clone(), rv = t.at("bn1d.running_var").clone();
  Tensor y = batch_norm1d(x, w, b, rm, rv, true);
  CHECK_CLOSE(y, t.at("bn1d.out"), 1e-5, 1e-5);
  y.backward(t.at("bn1d.dout"));
  CHECK_CLOSE(x.grad(), t.at("bn1d.grad0"), 1e-5, 1e-5);
  CHECK_CLOSE(w.grad(), t.at("bn1d.grad1"), 1e-5, 1e-5);
  CHECK_CLOSE(b.grad(), t.at("bn1d.grad2"), 1e-5, 1e-5);
  CHECK_CLOSE(rm, t.at("bn1d.running_mean_after"), 1e-6, 1e-6);  // unbiased variance: times 6/5
  CHECK_CLOSE(rv, t.at("bn1d.running_var_after"), 1e-6, 1e-6);
  CHECK_CLOSE(batch_norm1d(t.at("bn1d.in0"), w, b, rm, rv, false), t.at("bn1d.eval_out"), 1e-5, 1e-5);
  // update_running = false: batch statistics, the running ones untouched
  const auto before = rm.to_vector<float>();
  const Tensor y2 = batch_norm1d(t.at("bn1d.in0"), w, b, rm, rv, true, 0.1, 1e-5, false);
  CHECK_CLOSE(y2, t.at("bn1d.out"), 1e-5, 1e-5);
  CHECK(rm.to_vector<float>() == before);
}

TEST_CASE("shape and index errors name what is wrong") {
  const Tensor w = Tensor::zeros({5, 3});
  CHECK_THROWS_WITH_AS(embedding(w, Tensor::from_vector(std::vector<float>{1, 5}, {2})),
                       doctest::Contains("index 5.000000 at position 1 is out of range for 5 embeddings"),
                       Error);
  CHECK_THROWS_WITH_AS(embedding(w, Tensor::from_vector(std::vector<float>{-1}, {1})),
                       doctest::Contains("at position 0 is out of range"), Error);
  CHECK_THROWS_WITH_AS(embedding(w, Tensor::from_vector(std::vector<float>{0, 0, 1.5f}, {3})),
                       doctest::Contains("at position 2"), Error);
  CHECK_THROWS_WITH_AS(embedding(w, Tensor::zeros({2, 1})), doctest::Contains("index must be (N)"), Error);
  CHECK_THROWS_WITH_AS(embedding(w, Tensor::zeros({2}, DType::F64)), doctest::Contains("dtype and device"),
                       Error);
  CHECK(embedding(w, Tensor::from_vector(std::vector<float>{4, 0}, {2})).shape() == Shape{2, 3});
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros({2, 4}), Tensor::zeros({3, 5}), Tensor()),
                       doctest::Contains("float32[2, 4]"), Error);
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros({2, 4}), Tensor::zeros({3, 4}), Tensor::zeros({4})),
                       doctest::Contains("bias"), Error);
  Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3});
  CHECK_THROWS_WITH_AS(batch_norm1d(Tensor::zeros({2, 3, 1, 1}), rm, rm, rm, rv, true),
                       doctest::Contains("batch_norm1d: expected a 2-D (N, C) input"), Error);
  CHECK_THROWS_WITH_AS(batch_norm1d(Tensor::zeros({1, 3}), Tensor::ones({3}), rm, rm, rv, true),
                       doctest::Contains("more than one value per channel"), Error);
}

TEST_CASE(
    "Linear - Embedding - BatchNorm1d modules: PyTorch's keys, and a frozen batch norm keeps its "
    "statistics") {
  nn::Linear lin(7, 3);
  CHECK(lin.state_dict().at("weight").shape() == Shape{3, 7});
  CHECK(lin.state_dict().at("bias").shape() == Shape{3});
  CHECK(nn::Linear(7, 3, false).state_dict().size() == 1);
  nn::Embedding emb(10, 4);
  CHECK(emb.state_dict().at("weight").shape() == Shape{10, 4});
  nn::BatchNorm1d bn(4);
  CHECK(bn.type_name() == "BatchNorm1d");
  Generator g(3);
  const Tensor x = Tensor::randn({8, 4}, DType::F32, Device::CPU, &g) * 3.0 + 1.0;
  bn(x);
  CHECK(bn.num_batches_tracked.item() == 1.0);
  const auto mean_after_one = bn.running_mean.to_vector<float>();
  CHECK(mean_after_one != std::vector<float>(4, 0.0f));
  nn::BatchNorm2d bn2(2);
  bn2.update_running_stats = false;
  bn2(Tensor::randn({2, 2, 3, 3}, DType::F32, Device::CPU, &g) + 5.0);
  CHECK(bn2.running_mean.to_vector<float>() == std::vector<float>(2, 0.0f));
  CHECK(bn2.num_batches_tracked.item() == 0.0);
}

TEST_CASE("Keras's initialisers: glorot_uniform bounds and spread, zero biases, embeddings in +-0.05") {
  cgan::CGANGenerator G(10, 100);
  cgan::CGANDiscriminator D(10);
  Generator g(5);
  nn::init_keras(G, g);
  nn::init_keras(D, g);
  auto check_glorot = [](const Tensor& w, double fan_sum) {
    const double limit = std::sqrt(6.0 / fan_sum);
    const auto v = w.to_vector<double>();
    double lo = 0, hi = 0, sq = 0;
    for (double x : v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      sq += x * x;
    }
    CHECK(hi <= limit);
    CHECK(lo >= -limit);
    CHECK(hi > 0.95 * limit);  // the whole range is used
    CHECK(std::sqrt(sq / static_cast<double>(v.size())) ==
          doctest::Approx(limit / std::sqrt(3.0)).epsilon(0.05));
  };
  check_glorot(G.fc->weight, 100 + 12544);
  check_glorot(G.state_dict().at("net.0.weight"), 9.0 * (256 + 128));  // a transposed convolution
  check_glorot(D.state_dict().at("net.0.weight"), 9.0 * (2 + 64));
  check_glorot(D.state_dict().at("net.9.weight"), 2048 + 1);
  for (const auto& entry : G.state_dict()) {  // no structured binding: clang 14's CAPTURE cannot name one
    const std::string& k = entry.first;
    if (k.ends_with("bias") && !k.starts_with("net.1") && !k.starts_with("net.4"))
      CHECK_MESSAGE(sum(abs(entry.second)).item() == 0.0, k);
  }
  const auto e = D.label_emb->weight.to_vector<double>();
  CHECK(*std::max_element(e.begin(), e.end()) <= 0.05);
  CHECK(*std::min_element(e.begin(), e.end()) >= -0.05);
  CHECK(*std::max_element(e.begin(), e.end()) > 0.049);
  CHECK(G.state_dict().at("net.1.weight").to_vector<float>() == std::vector<float>(128, 1.0f));
}

// ---- the networks and the step ----

TEST_CASE("the CGAN's networks have PyTorch's keys and shapes - and their outputs' shapes") {
  const auto fx = test::fixture("cgan_steps.safetensors");
  for (const char* net : {"G", "D"}) {
    CAPTURE(net);
    const auto want = test::with_prefix(fx.tensors, std::string("init.") + net + ".");
    const auto have = std::string(net) == "G" ? cgan::CGANGenerator(10, 8).state_dict()
                                              : cgan::CGANDiscriminator(10).state_dict();
    REQUIRE(have.size() == want.size());
    for (const auto& entry : want) {
      const std::string& k = entry.first;
      const Tensor& t = entry.second;
      CAPTURE(k);
      REQUIRE(have.count(k) == 1);
      CHECK(have.at(k).shape() == t.shape());
    }
  }
  cgan::CGANGenerator G(10, 8);
  const Tensor img = G.forward(Tensor::zeros({3, 8}), index_tensor({0, 9, 4}).to(DType::F32));
  CHECK(img.shape() == Shape{3, 1, 28, 28});
  cgan::CGANDiscriminator D(10);
  CHECK(D.forward(img, index_tensor({0, 9, 4}).to(DType::F32)).shape() == Shape{3, 1});
  CHECK_THROWS_WITH_AS(G.forward(Tensor::zeros({3, 8})), doctest::Contains("takes noise and labels"), Error);
  CHECK_THROWS_WITH_AS(D.forward(Tensor::zeros({3, 1, 32, 32}), index_tensor({0, 1, 2}).to(DType::F32)),
                       doctest::Contains("(N, 1, 28, 28)"), Error);
  CHECK_THROWS_WITH_AS(G.forward(Tensor::zeros({1, 8}), index_tensor({10}).to(DType::F32)),
                       doctest::Contains("out of range for 10 embeddings"), Error);
}

TEST_CASE(
    "three CGAN iterations from PyTorch's weights give PyTorch's losses and weights (float64 and float32)") {
  const auto fx = test::fixture("cgan_steps.safetensors");
  const auto& t = fx.tensors;
  for (DType dt : {DType::F64, DType::F32}) {
    const std::string type = dtype_name(dt);
    CAPTURE(type);
    Options o = default_options("cgan", true);
    o.set("num_classes", 10);
    o.set("z_dim", 8);
    CGANModel m(o, true);
    for (const auto& [name, net] : m.networks()) {  // converted in place: the Adams keep their handles
      net->to(dt);
      net->load_state_dict(test::with_prefix(t, "init." + name + "."));
    }
    CHECK(m.optimizer("D").options().eps == 1e-7);  // Keras's
    CHECK(m.optimizer("G").options().beta1 == 0.9);
    CHECK(m.optimizer("G").lr() == 1e-3);
    const auto want = t.at(dt == DType::F64 ? "f64.losses" : "f32.losses").to_vector<double>();
    const auto exact = t.at("f64.losses").to_vector<double>();
    double worst = 0, worst_torch = 0;
    for (int i = 0; i < 3; ++i) {
      const std::string s = std::to_string(i);
      m.set_input(t.at("real." + s), t.at("labels." + s));
      m.step(t.at("z_fake." + s).to(dt), t.at("z_gen." + s).to(dt), t.at("labels_gen." + s).to(dt));
      const auto losses = m.current_losses();
      REQUIRE(losses.size() == 4);
      for (size_t k = 0; k < 4; ++k) {
        CAPTURE(i);
        CAPTURE(losses[k].first);
        const double e = exact[static_cast<size_t>(i) * 4 + k];
        const double rel = std::abs(losses[k].second - e) / std::abs(e);
        worst = std::max(worst, rel);
        // float64: sums in other orders, through three Adam steps (2.5e-14 measured). float32 against
        // the exact run: 5e-5 measured, PyTorch's own float32 run 1.5e-4
        CHECK(rel < (dt == DType::F64 ? 1e-10 : 5e-4));
        const double torch_f32 = std::abs(want[static_cast<size_t>(i) * 4 + k] - e) / std::abs(e);
        CHECK(torch_f32 < (dt == DType::F64 ? 1e-15 : 5e-4));
        worst_torch = std::max(worst_torch, torch_f32);
      }
    }
    MESSAGE("CGAN " << type << ", 3 iterations: largest relative loss difference from float64 PyTorch "
                    << worst << " (PyTorch's own " << type << " run: " << worst_torch << ")");
    // the weights and buffers after step 3; large tensors are stored as every 37th value
    int compared = 0;
    double worst_w = 0, far_all = 0, n_all = 0;
    for (const auto& [name, net] : m.networks())
      for (const auto& [k, have] : net->state_dict()) {
        const std::string where = name + "." + k;
        CAPTURE(where);
        const Tensor& exp = t.at("f64.step3." + name + "." + k);
        std::vector<double> h = have.to_vector<double>();
        if (static_cast<int64_t>(h.size()) != exp.numel()) {
          std::vector<double> s;
          for (size_t j = 0; j < h.size(); j += 37) s.push_back(h[j]);
          h = s;
        }
        const auto e = exp.to_vector<double>();
        REQUIRE(h.size() == e.size());
        // the biases of the convolutions before a batch norm have no gradient but rounding noise,
        // which Adam scales up to steps of lr: they agree less closely than the rest. In float32 the
        // same goes for any value whose gradient is near 0 at a step (Adam's first steps are
        // +-lr whatever the size): each at most 3 steps of 2 lr apart, and most within 1e-4
        const std::string full = name + "." + k;
        const bool pre_norm_bias =  // no gradient at all: pure noise
            full == "G.net.0.bias" || full == "G.net.3.bias" || full == "D.net.2.bias" ||
            full == "D.net.5.bias";
        double bad = 0, far = 0;
        for (size_t j = 0; j < h.size(); ++j) {
          const double d = std::abs(h[j] - e[j]);
          bad = std::max(bad, d / (1e-3 + std::abs(e[j])));
          if (dt == DType::F32) CHECK(d <= 3 * 2 * 1e-3 + 1e-4 + 1e-3 * std::abs(e[j]));
          far += d > 1e-4 + 1e-3 * std::abs(e[j]) ? 1 : 0;
        }
        if (dt == DType::F64) CHECK(bad < 1e-5);
        if (dt == DType::F32 && !pre_norm_bias) far_all += far, n_all += static_cast<double>(h.size());
        worst_w = std::max(worst_w, bad);
        ++compared;
      }
    CHECK(compared == 38);
    if (dt == DType::F32) CHECK(far_all / n_all < 0.1);
    MESSAGE(
        "CGAN " << type
                << ": largest weight difference after 3 iterations, |ours - PyTorch| / (1e-3 + |PyTorch|), "
                << worst_w);
  }
}

TEST_CASE("the CGAN step: D's two Adam steps, fakes from G in training mode, G's step through a frozen D") {
  Options o = default_options("cgan", true);
  o.set("num_classes", 3);
  o.set("z_dim", 4);
  CGANModel m(o, true);
  Generator g(9);
  const Tensor real = Tensor::rand({4, 1, 28, 28}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
  m.set_input(real, index_tensor({0, 1, 2, 1}).to(DType::F32));
  const auto D_stats = [&] { return m.netD->state_dict().at("net.3.running_mean").to_vector<float>(); };
  const auto G_stats = [&] { return m.netG->state_dict().at("net.1.running_mean").to_vector<float>(); };
  const auto d0 = D_stats();
  const auto g0 = G_stats();
  m.optimize_parameters();
  // D's statistics moved twice (real, then fake batch) and not in the G step: num_batches_tracked 2
  CHECK(m.netD->state_dict().at("net.3.num_batches_tracked").item() == 2.0);
  CHECK(D_stats() != d0);
  // G's moved twice: making D's fakes (training mode, no gradients) and in its own step
  CHECK(m.netG->state_dict().at("net.1.num_batches_tracked").item() == 2.0);
  CHECK(G_stats() != g0);
  CHECK(m.optimizer("D").state()[0].step == 2);
  CHECK(m.optimizer("G").state()[0].step == 1);
  CHECK(m.netD->is_training());
  CHECK(m.netG->is_training());
  for (const Tensor& p : m.netD->parameters()) CHECK(p.requires_grad());  // unfrozen after the G step
  const auto l = m.current_losses();
  CHECK(l[2].second == doctest::Approx((l[0].second + l[1].second) / 2).epsilon(1e-6));
  // the grid: one row per class, 10 columns, values in [-1, 1]; the noise is fixed
  const auto vis = m.current_visuals();
  REQUIRE(vis.size() == 1);
  CHECK(vis[0].first == "samples");
  CHECK(vis[0].second.shape() == Shape{1, 1, 3 * 28, 10 * 28});
  CHECK(test::identical(vis[0].second, m.current_visuals()[0].second));
  const auto s = vis[0].second.to_vector<float>();
  CHECK(*std::max_element(s.begin(), s.end()) <= 1.0f);
  CHECK(*std::min_element(s.begin(), s.end()) >= -1.0f);
  // the grid's row k is class k: G's output for label k at the fixed noise of column c
  // (column 0 of row 1 against generate on label 1 with the same noise is checked through
  // the sampler's test below; here: rows differ because the labels do)
  bool rows_differ = false;
  for (int x = 0; x < 28 * 10 && !rows_differ; ++x)
    for (int y = 0; y < 28; ++y)
      if (s[static_cast<size_t>(y * 280 + x)] != s[static_cast<size_t>((28 + y) * 280 + x)])
        rows_differ = true;
  CHECK(rows_differ);
}

// ---- data ----

TEST_CASE(
    "class folders: sorted names are the classes - gray 28x28 in [-1, 1] - errors name the folder or file") {
  const std::string dir = test::scratch("cgan_classes");
  make_class_folders(dir + "/data", {"b_second", "a_first", "c_third"}, 3, 1);
  const data::ClassFolderDataset ds(dir + "/data");
  CHECK(ds.classes() == std::vector<std::string>{"a_first", "b_second", "c_third"});
  REQUIRE(ds.size() == 9);
  Generator g(0);
  const data::Sample s = ds.get(4, g);
  CHECK(s.label == 1);
  CHECK(s.A_path.find("b_second") != std::string::npos);
  CHECK(s.A.shape() == Shape{1, 28, 28});
  const auto v = s.A.to_vector<float>();
  CHECK(*std::min_element(v.begin(), v.end()) >= -1.0f);
  CHECK(*std::max_element(v.begin(), v.end()) <= 1.0f);
  // RGB is read as PIL's L
  data::Image rgb{28, 28, 3, std::vector<uint8_t>(28 * 28 * 3)};
  for (size_t i = 0; i < rgb.pixels.size(); i += 3) rgb.pixels[i] = 255;  // pure red: L = 76
  data::write_png(dir + "/data/a_first/red.png", rgb);
  const data::ClassFolderDataset ds2(dir + "/data");
  int64_t red = -1;
  for (int64_t i = 0; i < ds2.size(); ++i)
    if (ds2.file(i).ends_with("red.png")) red = i;
  REQUIRE(red >= 0);
  CHECK(ds2.get(red, g).A.to_vector<float>()[0] == doctest::Approx(76.0 / 127.5 - 1.0).epsilon(1e-6));
  // errors
  data::write_png(dir + "/data/c_third/big.png", data::Image{32, 28, 1, std::vector<uint8_t>(32 * 28)});
  const data::ClassFolderDataset ds3(dir + "/data");
  int64_t big = -1;
  for (int64_t i = 0; i < ds3.size(); ++i)
    if (ds3.file(i).ends_with("big.png")) big = i;
  CHECK_THROWS_WITH_AS(ds3.get(big, g), doctest::Contains("big.png' is 32x28 pixels"), Error);
  fs::create_directories(dir + "/data/d_empty");
  CHECK_THROWS_WITH_AS(data::ClassFolderDataset(dir + "/data"), doctest::Contains("class 3 ('d_empty')"),
                       Error);
  fs::create_directories(dir + "/none");
  CHECK_THROWS_WITH_AS(data::ClassFolderDataset(dir + "/none"), doctest::Contains("has no class folders"),
                       Error);
  CHECK_THROWS_WITH_AS(data::ClassFolderDataset(dir + "/missing"), doctest::Contains("is not a folder"),
                       Error);
}

TEST_CASE("random draws: uniform over the images, with replacement, the same at every position of a rerun") {
  const std::string dir = test::scratch("cgan_draws");
  make_class_folders(dir + "/data", {"0", "1"}, 4, 2);
  data::RandomDraws draws(std::make_unique<data::ClassFolderDataset>(dir + "/data"), 4000);
  CHECK(draws.size() == 4000);
  data::Loader a(draws, 8, false, 2, 7), b(draws, 8, false, 0, 7);
  a.start_epoch(1, 0);
  b.start_epoch(1, 400);  // a resumed run: from position 400
  std::map<std::string, int> count;
  data::Batch ba, bb;
  int64_t pos = 0;
  bool repeats = false;
  while (a.next(ba)) {
    for (const auto& p : ba.A_paths) ++count[p];
    std::set<std::string> in_batch(ba.A_paths.begin(), ba.A_paths.end());
    repeats |= in_batch.size() < ba.A_paths.size();
    REQUIRE(ba.label.defined());
    CHECK(ba.label.shape() == Shape{8});
    if (pos >= 400) {
      REQUIRE(b.next(bb));
      CHECK(ba.A_paths == bb.A_paths);
      CHECK(test::identical(ba.label, bb.label));
    }
    pos += 8;
  }
  CHECK(repeats);  // with replacement: 8 draws from 8 images repeat one most of the time
  REQUIRE(count.size() == 8);
  for (const auto& entry : count)
    CHECK_MESSAGE(std::abs(entry.second - 500) < 5 * std::sqrt(500.0), entry.first << ": " << entry.second);
}

// ---- the programs ----

TEST_CASE("cgan_train: checkpoints with PyTorch's keys, the loss log, the page's rows of samples") {
  const std::string dir = test::scratch("cgan_train");
  const std::string data = make_class_folders(dir + "/data", {"x", "y", "z"}, 4, 3);
  const Options o = tiny_cgan(data, dir + "/ckpt");
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const std::string exp = experiment_dir(o);
  const auto G = safetensors::load(net_file(o, "latest", "G"));
  CHECK(G.tensors.at("label_emb.weight").shape() == Shape{3, 8});
  CHECK(G.tensors.at("fc.weight").shape() == Shape{12544, 8});
  CHECK(G.dtypes.at("net.1.num_batches_tracked") == "I64");
  CHECK(G.tensors.at("net.1.num_batches_tracked").item() == 12.0);  // D's fakes and G's step
  const auto D = safetensors::load(net_file(o, "latest", "D"));
  CHECK(D.tensors.at("label_emb.weight").shape() == Shape{3, 784});
  CHECK(D.tensors.at("net.3.num_batches_tracked").item() == 12.0);  // two D steps an iteration
  const std::string csv = test::read_file(exp + "/loss_log.csv");
  CHECK(csv.rfind("epoch,iters,D_real,D_fake,D,G\n", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 6);  // --print_freq 1 iteration here
  CHECK(fs::exists(exp + "/web/images/epoch001_iter0000012_samples.png"));
  CHECK(fs::exists(exp + "/web/images/epoch001_iter0000024_samples.png"));
  const data::Image grid = data::read_image(exp + "/web/images/epoch001_iter0000024_samples.png", 1);
  CHECK(grid.width == 280);
  CHECK(grid.height == 3 * 28);
  const std::string page = test::read_file(exp + "/web/index.html");
  CHECK(page.find("samples") != std::string::npos);
  CHECK(page.find("generator (binary cross-entropy)") != std::string::npos);
  CHECK(test::read_file(exp + "/train_opt.txt").find("n_iters: 6") != std::string::npos);
}

TEST_CASE(
    "a cgan_train run stopped by SIGTERM and resumed ends bit for bit where an uninterrupted one ends") {
  const std::string dir = test::scratch("cgan_resume");
  const std::string data = make_class_folders(dir + "/data", {"x", "y"}, 4, 4);
  Options straight = tiny_cgan(data, dir + "/straight");
  Options split = straight;
  split.checkpoints_dir = dir + "/split";
  REQUIRE(run_training(straight, {nullptr, true}) == 0);
  const int rc = run_training(split, {[](int64_t n) {
                                        if (n == 8) std::raise(SIGTERM);  // after iteration 2
                                        return false;
                                      },
                                      true});
  CHECK(rc == 128 + SIGTERM);
  split.continue_train = true;
  REQUIRE(run_training(split, {nullptr, true}) == 0);
  for (const char* net : {"G", "D"}) {
    const std::string diff =
        test::first_difference(net_file(straight, "latest", net), net_file(split, "latest", net));
    CHECK_MESSAGE(diff.empty(), net << ": " << diff);
  }
  const std::string diff =
      test::first_difference(state_file(straight, "latest"), state_file(split, "latest"));
  CHECK_MESSAGE(diff.empty(), "training state: " << diff);
}

TEST_CASE("cgan_train and cgan_sample on the command line: images of a class, and clear errors") {
  const std::string dir = test::scratch("cgan_apps");
  const std::string data = make_class_folders(dir + "/data", {"p", "q"}, 3, 5);
  const std::string bin = std::string(CG_BINARY_DIR) + "/apps/";
  const std::string ck = " --checkpoints_dir " + dir + "/ck --name n";
  auto run = [](const std::string& cmd) { return test::run_command(cmd + " 2>&1"); };
  {
    const auto [rc, out_] = run(bin + "cgan_train --dataroot " + data + ck +
                                " --n_iters 2 --batch_size 2 --z_dim 4 --sample_freq 1 --num_threads 0");
    const std::string& out = out_;  // a plain name: CAPTURE cannot name a binding
    CHECK_MESSAGE(rc == 0, out);
  }
  {
    const auto [rc, out_] =
        run(bin + "cgan_sample" + ck + " --label 1 --num 5 --seed 3 --results_dir " + dir + "/s");
    const std::string& out = out_;  // a plain name: CAPTURE cannot name a binding
    CHECK_MESSAGE(rc == 0, out);
    for (int i = 0; i < 5; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "/s/class1_%04d.png", i);
      REQUIRE(fs::exists(dir + name));
      const data::Image img = data::read_image(dir + name, 1);
      CHECK(img.width == 28);
      CHECK(img.height == 28);
    }
    CHECK(!fs::exists(dir + "/s/class1_0005.png"));
    // the same seed draws the same images; another seed others
    run(bin + "cgan_sample" + ck + " --label 1 --num 1 --seed 3 --results_dir " + dir + "/s2");
    run(bin + "cgan_sample" + ck + " --label 1 --num 1 --seed 4 --results_dir " + dir + "/s3");
    CHECK(test::read_file(dir + "/s/class1_0000.png") == test::read_file(dir + "/s2/class1_0000.png"));
    CHECK(test::read_file(dir + "/s/class1_0000.png") != test::read_file(dir + "/s3/class1_0000.png"));
  }
  struct Bad {
    std::string cmd, want;
    int rc;
  };
  fs::create_directories(dir + "/empty_class/b");
  make_class_folders(dir + "/empty_class", {"a"}, 1, 7);
  const std::vector<Bad> bad = {
      {"cgan_sample" + ck + " --label 2 --num 1 --results_dir " + dir + "/x",
       "--label 2 is out of range: the generator in", 1},
      {"cgan_sample" + ck + " --num 1 --results_dir " + dir + "/x", "--label is required", 1},
      {"cgan_sample" + ck + " --label 0 --num 0", "--num must be >= 1", 1},
      {"cgan_sample --checkpoints_dir " + dir + "/ck --name nothing --label 0",
       "latest_net_G.safetensors' does not exist", 1},
      {"cgan_train --dataroot " + dir + "/nowhere" + ck + "2",
       "--dataroot '" + dir + "/nowhere' is not a folder", 1},
      {"cgan_train --dataroot " + dir + "/empty_class" + ck + "2", "class 1 ('b'): dataset folder", 1},
      {"cgan_train --dataroot " + data + ck + "2 --n_iters 0", "--n_iters must be >= 1", 1},
      {"cgan_train --dataroot " + data + ck + "2 --z_dim 0", "--z_dim must be >= 1", 1},
      {"cgan_train --dataroot " + data + ck + "2 --netG unet_256", "--netG", 2},
      {"cgan_train" + ck + "2", "--dataroot is required", 1},
      {"cyclegan_train --model cgan --dataroot " + data, "cgan_train and cgan_sample", 2},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.cmd);
    const auto [rc, out_] = run(bin + b.cmd);
    const std::string& out = out_;  // a plain name: CAPTURE cannot name a binding
    CHECK(rc == b.rc);
    CHECK_MESSAGE(out.find(b.want) != std::string::npos, out);
  }
  CHECK(!fs::exists(dir + "/x"));  // nothing written for a refused label
  // a second class-folder layout with another number of classes refuses to resume the first's weights
  const std::string data3 = make_class_folders(dir + "/data3", {"p", "q", "r"}, 2, 6);
  const auto [rc, out_] = run(bin + "cgan_train --dataroot " + data3 + ck +
                              " --n_iters 1 --batch_size 2 --z_dim 4 --continue_train --num_threads 0");
  const std::string& out = out_;  // a plain name: CAPTURE cannot name a binding
  CHECK(rc == 1);
  CHECK_MESSAGE(out.find("label_emb.weight") != std::string::npos, out);
}
