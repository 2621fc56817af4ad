// CUT and FastCUT against the official code (tests/fixtures/make_cut.py runs its option parser and
// CUTModel): the networks' keys and shapes at the default sizes, every official option with its
// default, and three training steps from the official initial G, F and D in float64 (the exact
// algorithm) and float32; the encoder's features where the official's in-place ReLUs overwrite
// them; the flip op; the loader's epochs and whole batches, and the dataset's switch to
// load_size = crop_size once the rate decays.
#include <nlohmann/json.hpp>

#include "autograd/gradcheck.h"
#include "cut_steps.h"
#include "data/loader.h"
#include "models/common/cli.h"
#include "models/common/datasets.h"
#include "models/cut/spec.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;
using cg::cut::CUTModel;

namespace {

Parsed parse(std::vector<std::string> args, bool train = true) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return train ? parse_train_args(static_cast<int>(argv.size()), argv.data())
               : parse_test_args(static_cast<int>(argv.size()), argv.data());
}

// Every flag cyclegan_train takes with --model cut and its value, as the official listing writes it.
std::map<std::string, std::string> listed(const Options& o) {
  std::map<std::string, std::string> v;
  for (const Flag* f : program_flags(train_program(), "cut")) v[f->name] = value_text(o, *f);
  return v;
}

// Three float64 steps of `tag` from the fixture: every loss of every step and every weight after
// steps 1 (where stored) and 3, against the official float64 run.
void check_float64_steps(const std::string& tag) {
  const auto fx = test::fixture("cut_steps.safetensors");
  auto m = test::cut_model_from_fixture(fx, tag, DType::F64);
  const auto expected = fx.tensors.at(tag + ".f64.losses").to_vector<double>();  // (3, L)
  const size_t L = m->loss_names().size();
  REQUIRE(expected.size() == 3 * L);
  double worst_loss = 0, worst_weight = 0, worst_noise = 0;
  for (int step = 1; step <= 3; ++step) {
    if (tag == "fastcut")
      test::fastcut_step(*m, fx, step - 1);
    else
      m->optimize_parameters();
    const auto losses = m->current_losses();
    for (size_t k = 0; k < L; ++k) {
      CAPTURE(step);
      const std::string loss = losses[k].first;
      CAPTURE(loss);
      const double e = expected[static_cast<size_t>(step - 1) * L + k];
      CHECK(losses[k].second == doctest::Approx(e).epsilon(1e-10));
      worst_loss = std::max(worst_loss, std::abs(losses[k].second - e) / std::abs(e));
    }
    const std::string prefix = tag + ".f64.step" + std::to_string(step) + ".";
    if (!fx.tensors.count(prefix + "G.model.1.weight")) continue;
    for (auto& [name, net] : m->networks())
      for (const auto& [key, t] : net->state_dict()) {
        const std::string where = name + "." + key;
        CAPTURE(where);
        const Tensor& e = fx.tensors.at(prefix + where);
        const auto a = t.to_vector<double>(), ev = e.to_vector<double>();
        double worst = 0;
        for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - ev[i]));
        if (test::cut_bias_before_norm(name, key)) {
          // An analytic gradient of 0 that both codes compute as rounding noise, which Adam
          // divides by its own root mean square: steps of up to lr in directions neither shares.
          CHECK(worst <= 3 * 2e-4);
          worst_noise = std::max(worst_noise, worst);
          continue;
        }
        CHECK_CLOSE(t, e, 1e-12, 1e-9);
        worst_weight = std::max(worst_weight, worst);
      }
  }
  MESSAGE(tag << " float64, 3 steps against the official: largest relative loss difference " << worst_loss
              << ", largest weight difference " << worst_weight
              << " (biases before an instance norm, whose gradient is 0 but for rounding: " << worst_noise
              << ")");
}

}  // namespace

TEST_CASE("CUT's networks at the default sizes have the official state-dict keys and shapes") {
  const auto fx = test::fixture("cut_steps.safetensors");
  const CUTModel m(default_options("cut", true), true);
  for (const auto& named : m.networks()) {
    const std::string& name = named.first;  // not a structured binding: doctest's macros capture it
    nn::Module* net = named.second;
    CAPTURE(name);
    const auto official = test::with_prefix(fx.tensors, "shape." + name + ".");
    const auto ours = net->state_dict();
    REQUIRE(!official.empty());
    CHECK(ours.size() == official.size());
    for (const auto& entry : official) {
      const std::string& key = entry.first;
      const Tensor& shape = entry.second;
      CAPTURE(key);
      REQUIRE(ours.count(key) == 1);
      std::vector<int64_t> want;
      for (double d : shape.to_vector<double>()) want.push_back(static_cast<int64_t>(d));
      CHECK(ours.at(key).shape() == want);
    }
  }
  // 32 layers at 9 blocks; F's MLPs take the features' channels (3, 128, 256, 256, 256)
  CHECK(m.netG->num_layers() == 32);
  CHECK(m.netG->num_parameters() == 11378179);  // as CycleGAN's: the blurs have no parameters
  // the blurs' fixed filters: Downsample's [1 2 1]^2 / 16, Upsample's [1 3 3 1]^2 / 64 x 4
  const auto sd = m.netG->state_dict();
  CHECK(sd.at("model.7.filt").to_vector<double>()[4] == 0.25);
  CHECK(sd.at("model.21.filt").to_vector<double>()[5] == doctest::Approx(9.0 / 16));
  // testing builds G alone
  const CUTModel t(default_options("cut", false), false);
  REQUIRE(t.networks().size() == 1);
  CHECK(t.networks()[0].first == "G");
}

TEST_CASE("--model cut takes every official CUT option with its default - for CUT and FastCUT") {
  const auto fx = test::fixture("cut_steps.safetensors");
  // options of ours that differ from the official on purpose: where data and files are (given to
  // the official run), the device (the official's --gpu_ids 0), visdom's window (ignored here)
  const std::set<std::string> ours_differ = {"dataroot", "name", "checkpoints_dir", "gpu_ids", "display_id"};
  for (const std::string mode : {"CUT", "FastCUT"}) {
    CAPTURE(mode);
    const auto official = nlohmann::json::parse(fx.metadata.at("options." + mode));
    const Parsed p = parse({"--model", "cut", "--CUT_mode", mode});
    REQUIRE_FALSE(p.exit_code);
    const auto ours = listed(p.opt);
    int compared = 0;
    for (const auto& item : official.items()) {
      const std::string key = item.key();
      const auto& value = item.value();
      CAPTURE(key);
      if (key == "isTrain" || ours_differ.count(key)) continue;
      REQUIRE_MESSAGE(ours.count(key) == 1,
                      "the official option --" << key << " is not a flag of --model cut");
      const std::string want = value.get<std::string>();
      CHECK(ours.at(key) == (want == "None" ? std::string() : want));  // --pretrained_name None: ""
      ++compared;
    }
    CHECK(compared >= 60);
    // and no flag of CUT's own that the official lacks
    for (const Flag& f : cut::spec().flags) CHECK(official.contains(f.name));
  }
  // the mode's defaults give way to flags given
  const Parsed given = parse({"--model", "cut", "--CUT_mode", "FastCUT", "--lambda_NCE", "3", "--nce_idt"});
  REQUIRE_FALSE(given.exit_code);
  CHECK(given.opt.get<double>("lambda_NCE") == 3.0);
  CHECK(given.opt.get<bool>("nce_idt"));
  CHECK(given.opt.get<bool>("flip_equivariance"));
  CHECK(given.opt.n_epochs == 150);
  // the listing's defaults are the mode's, as the official parser's after set_defaults
  const std::string text = options_text(given.opt, true);
  auto line = [&](const std::string& key) {
    const size_t at = text.find(" " + key + ": ");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  CHECK(line("lambda_NCE").find("3.0") != std::string::npos);
  CHECK(line("lambda_NCE").find("[default: 10.0]") != std::string::npos);
  CHECK(line("n_epochs").find("150") != std::string::npos);
  CHECK(line("n_epochs").find("[default") == std::string::npos);
}

TEST_CASE("CUT's str2bool flags - its refusals name the flag - --norm is not one of its flags") {
  CHECK_FALSE(parse({"--model", "cut"}).opt.get<bool>("flip_equivariance"));
  CHECK_FALSE(parse({"--model", "cut", "--nce_idt", "False"}).opt.get<bool>("nce_idt"));
  CHECK_FALSE(parse({"--model", "cut", "--nce_idt=no"}).opt.get<bool>("nce_idt"));
  CHECK(parse({"--model", "cut", "--nce_idt", "False", "--nce_idt"}).opt.get<bool>("nce_idt"));  // the last
  CHECK(parse({"--model", "cut", "--flip_equivariance", "--lr", "0.1"}).opt.get<bool>("flip_equivariance"));
  CHECK(parse({"--model", "cut", "--flip_equivariance", "--lr", "0.1"}).opt.lr == 0.1);
  CHECK(parse({"--model", "cut", "--nce_idt", "maybe"}).exit_code == 2);
  CHECK(parse({"--model", "cut", "--norm", "batch"}).exit_code == 2);
  CHECK_FALSE(takes_flag(train_program(), "cut", "norm"));
  CHECK(takes_flag(train_program(), "cut", "normG"));
  CHECK(takes_flag(test_program(), "cut", "CUT_mode"));
  CHECK_FALSE(takes_flag(test_program(), "cut", "beta2"));
  auto refused = [](std::vector<std::string> args) {
    const Parsed p = parse(args);
    REQUIRE_FALSE(p.exit_code);
    try {
      validate_options(p.opt, true);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(refused({"--model", "cut", "--CUT_mode", "fast"}).find("--CUT_mode") != std::string::npos);
  CHECK(refused({"--model", "cut", "--netG", "unet_256"}).find("--netG") != std::string::npos);
  CHECK(refused({"--model", "cut", "--netF", "sample"}).find("--netF") != std::string::npos);
  CHECK(refused({"--model", "cut", "--lambda_NCE", "0"}).find("--lambda_NCE") != std::string::npos);
  CHECK(refused({"--model", "cut", "--nce_layers", "0,16,4"}).find("--nce_layers") != std::string::npos);
  CHECK(refused({"--model", "cut", "--nce_layers", "0,32"}).find("layers 0 to 31") != std::string::npos);
  CHECK(refused({"--model", "cut", "--nce_layers", "0,x"}).find("--nce_layers") != std::string::npos);
  CHECK(refused({"--model", "cut", "--normD", "group"}).find("--normD") != std::string::npos);
  CHECK(refused({"--model", "cut", "--output_nc", "1"}).find("--nce_idt") != std::string::npos);
  CHECK(refused({"--model", "cut", "--output_nc", "1", "--nce_idt", "False"}).empty());
  CHECK(refused({"--model", "cut", "--pretrained_name", "x"}).find("--pretrained_name") != std::string::npos);
  CHECK(refused({"--model", "cut", "--nce_layers", "0,4,8,12,16,31"}).empty());
}

TEST_CASE("three CUT training steps in float64 equal the official CUTModel's - losses and weights") {
  check_float64_steps("cut");
}

TEST_CASE("three FastCUT training steps in float64 - flips included - equal the official CUTModel's") {
  check_float64_steps("fastcut");
}

TEST_CASE("three CUT training steps in float32 agree with the official exact algorithm") {
  const auto fx = test::fixture("cut_steps.safetensors");
  test::check_float32_steps(*test::cut_model_from_fixture(fx, "cut", DType::F32), fx, "cut");
}

TEST_CASE("three FastCUT training steps in float32 agree with the official exact algorithm") {
  const auto fx = test::fixture("cut_steps.safetensors");
  test::check_float32_steps(*test::cut_model_from_fixture(fx, "fastcut", DType::F32), fx, "fastcut");
}

TEST_CASE("the generator's features are the official's: its in-place ReLUs overwrite what they follow") {
  Generator g(3);
  for (const std::string norm : {"instance", "batch", "none"}) {
    CAPTURE(norm);
    auto G = cut::define_G(3, 3, 4, "resnet_2blocks", norm, false, false, false, "normal", 0.5, g);
    G->to(DType::F64);
    const Tensor x = test::randn64({1, 3, 12, 12}, g);
    NoGradGuard no_grad;
    // layer 1 is the first convolution, 2 its norm, 3 the ReLU, 4 the next convolution
    const Tensor conv = G->encode(x, {1})[0], normed = G->encode(x, {2})[0], relu_out = G->encode(x, {3})[0];
    // (instance norm: the fused norm + ReLU against the norm alone then ReLU, equal up to rounding)
    CHECK_CLOSE(relu_out, relu(normed), 1e-14, 1e-14);
    // the forward going on past the ReLU: the norm's output (and with norm none, the convolution's,
    // which Identity passes on) is the ReLU's by then
    const auto both = G->encode(x, {1, 2, 4});
    REQUIRE(both.size() == 3);
    CHECK(test::identical(both[1], relu_out));
    CHECK(test::identical(both[0], norm == "none" ? relu_out : conv));
    CHECK(both[2].shape() == Shape{1, 8, 12, 12});
    // the features at the default layers of the full generator, and its output unchanged by encode
    CHECK(G->channels_at(0) == 3);
    CHECK(G->channels_at(4) == 8);
    CHECK(G->channels_at(8) == 16);
  }
}

TEST_CASE("flip reverses one dim and passes gradcheck") {
  const Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  CHECK(flip(x, 3).to_vector<double>() == std::vector<double>{3, 2, 1, 6, 5, 4});
  CHECK(flip(x, 2).to_vector<double>() == std::vector<double>{4, 5, 6, 1, 2, 3});
  CHECK(flip(x, -1).to_vector<double>() == flip(x, 3).to_vector<double>());
  Generator g(5);
  const auto r = gradcheck([](const std::vector<Tensor>& v) { return flip(v[0], 3) * v[1]; },
                           {test::param({2, 3, 4, 5}, g), test::param({2, 3, 4, 5}, g)});
  CHECK_MESSAGE(r.ok, r.report);
  const auto r2 =
      gradcheck([](const std::vector<Tensor>& v) { return flip(v[0], 1); }, {test::param({3, 4, 2}, g)});
  CHECK_MESSAGE(r2.ok, r2.report);
  CHECK_THROWS_AS(flip(x, 4), Error);
}

namespace {
// Sample i of epoch e: A holds e, B holds i (for the loader's epoch).
class EpochDataset : public data::Dataset {
 public:
  int64_t size() const override { return 5; }
  data::Sample get(int64_t index, Generator& gen) const override { return get_in_epoch(index, 0, gen); }
  data::Sample get_in_epoch(int64_t index, int epoch, Generator&) const override {
    data::Sample s;
    s.A = Tensor::full({1, 1, 1}, epoch);
    s.B = Tensor::full({1, 1, 1}, static_cast<double>(index));
    return s;
  }
  std::string file(int64_t) const override { return "x"; }
};
}  // namespace

TEST_CASE("the loader asks a dataset for the epoch's samples - drop_last keeps whole batches") {
  const EpochDataset ds;
  data::Loader whole(ds, 2, false, 1, 0, INT64_MAX, 0, 1, true), all(ds, 2, false, 1, 0);
  CHECK(whole.samples_per_epoch() == 4);
  CHECK(all.samples_per_epoch() == 5);
  whole.start_epoch(7, 0);
  data::Batch b;
  int batches = 0;
  while (whole.next(b)) {
    ++batches;
    CHECK(b.A.shape()[0] == 2);
    CHECK(b.A.to_vector<double>() == std::vector<double>{7, 7});
  }
  CHECK(batches == 2);
}

TEST_CASE("CUT's dataset resizes to crop_size instead of load_size once the rate decays (epoch > n_epochs)") {
  const std::string dir = test::scratch("cut_dataset");
  const std::string data = test::make_dataset(dir + "/data", 3, 2, 40, 40, 9);
  Options o = default_options("cut", true);
  o.dataroot = data;
  o.load_size = 24;
  o.crop_size = 16;
  o.n_epochs = 2;
  const auto ds = create_dataset(o, true);
  Options fine = o;
  fine.load_size = 16;
  const auto regular = standard_dataset(o, true), finetuning = standard_dataset(fine, true);
  for (int epoch : {1, 2, 3, 4}) {
    CAPTURE(epoch);
    for (int64_t i = 0; i < ds->size(); ++i) {
      Generator g1(100 + i), g2(100 + i);
      const data::Sample got = ds->get_in_epoch(i, epoch, g1);
      const data::Sample want = (epoch > 2 ? finetuning : regular)->get(i, g2);
      CHECK(test::identical(got.A, want.A));
      CHECK(test::identical(got.B, want.B));
    }
  }
  // the two differ (a crop of a 24x24 resize against the 16x16 resize), so the check above can fail
  Generator g1(5), g2(5);
  CHECK_FALSE(test::identical(regular->get(0, g1).A, finetuning->get(0, g2).A));
}
