// A model needs nothing of the harness: a tiny model defined here, in tests/, declares itself with
// a ModelSpec (its name, defaults, one flag of its own, a check, its networks, a hint), is
// registered at run time, and goes through the same flags, training loop (logs, page, checkpoints,
// an exact resume) and tester as the built-in models.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/model.h"
#include "models/common/model_spec.h"
#include "models/common/tester.h"
#include "models/common/trainer.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "ops/ops.h"

using namespace cg;
using namespace cg::models;
namespace fs = std::filesystem;

namespace {

// G: one 3x3 convolution and a tanh, trained to turn A into B by an L1 loss weighted by the
// model's own flag --tiny_weight. Its "pool" is a counter of steps, saved with the training state
// to show that a model's own state resumes.
class TinyModel : public Model {
 public:
  TinyModel(const Options& o, bool train) : Model(o, train) {
    Generator init(opt.seed);
    netG = std::make_shared<nn::Sequential>();
    netG->add(std::make_shared<nn::Conv2d>(opt.input_nc, opt.output_nc, 3, 1, 1));
    netG->add(std::make_shared<nn::Tanh>());
    nn::init_weights(*netG, "normal", 0.02, init);
    netG->to(device);
    if (train) add_optimizer("G", netG->parameters());
  }
  std::string name() const override { return "tiny"; }
  std::vector<std::string> loss_names() const override { return {"L1"}; }
  std::vector<std::string> visual_names() const override { return {"real_A", "fake_B"}; }
  std::vector<std::pair<std::string, nn::Module*>> networks() const override { return {{"G", netG.get()}}; }
  void set_input(const data::Batch& b) override {
    real_A = b.A.detach().to(device);
    real_B = b.B.defined() ? b.B.detach().to(device) : Tensor();
    image_paths_ = b.A_paths;
  }
  void forward() override { fake_B = (*netG)(real_A); }
  void optimize_parameters() override {
    nn::Adam& optimizer_G = optimizer("G");
    run_step({&real_A, &real_B}, {{[&] {
                                     forward();
                                     optimizer_G.zero_grad();
                                     loss = l1_loss(fake_B, real_B) * opt.get<double>("tiny_weight");
                                     loss.backward();
                                     update(optimizer_G);
                                     record_losses({loss});
                                   },
                                   {&optimizer_G},
                                   {&fake_B, &loss, &loss_values_}}});
    ++steps;
  }
  std::vector<std::pair<std::string, Tensor>> current_visuals() const override {
    return {{"real_A", real_A}, {"fake_B", fake_B}};
  }
  void save_state(std::map<std::string, Tensor>&, nlohmann::json& state) const override {
    state["steps"] = steps;
  }
  void load_state(const safetensors::Contents&, const nlohmann::json& state) override {
    steps = state.at("steps").get<int64_t>();
  }

  std::shared_ptr<nn::Sequential> netG;
  Tensor real_A, real_B, fake_B, loss;
  int64_t steps = 0;
};

const ModelSpec& tiny_spec() {
  static const ModelSpec s = [] {
    ModelSpec m;
    m.name = "tiny";
    m.title = "Tiny";
    m.holds = "a tiny generator G";
    m.train_summary = "a test's model: trainA/trainB";
    m.test_summary = "a test's model: testA";
    m.programs = kBoth;
    m.dataset_mode = "unaligned";
    m.dataset_what = "two unpaired folders (unaligned)";
    m.flags = {{"tiny_weight", Own{2.0}, kTrain, "weight of the L1 loss"}};
    m.defaults = [](Options& o, bool, const GivenFlag&) {
      o.load_size = o.crop_size = 8;
      o.preprocess = "none";
    };
    m.validate = [](const Options& o, bool is_train, const OptionCheck& need) {
      if (is_train) need(o.get<double>("tiny_weight") > 0, "--tiny_weight must be > 0");
    };
    m.network_names = [](const Options&, bool) { return std::vector<std::string>{"G"}; };
    m.missing_hint = [](const Options&, const std::string&, const std::function<bool(const std::string&)>&) {
      return std::string("; a tiny experiment keeps one network G");
    };
    m.create = [](const Options& o, bool is_train) -> std::unique_ptr<Model> {
      return std::make_unique<TinyModel>(o, is_train);
    };
    return m;
  }();
  return s;
}

// Registered for one test case, so that the other suites see the built-in models alone.
struct Registered {
  Registered() { register_model(tiny_spec()); }
  ~Registered() { unregister_model("tiny"); }
};

Parsed parse_with(const Program& program, std::vector<std::string> args) {
  args.insert(args.begin(), program.name);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return parse_args(static_cast<int>(argv.size()), argv.data(), program);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE(
    "a model registered from outside the harness takes its flags - defaults - checks through the harness") {
  const Registered tiny;
  CHECK_THROWS_WITH_AS(register_model(tiny_spec()), doctest::Contains("registered already"), Error);
  // cyclegan_train and cyclegan_test list it, with its own flag and defaults
  const auto names = model_names(train_program());
  CHECK(std::find(names.begin(), names.end(), "tiny") != names.end());
  Parsed p = parse_with(train_program(), {"--model", "tiny", "--tiny_weight", "3.5"});
  REQUIRE_FALSE(p.exit_code);
  CHECK(p.opt.get<double>("tiny_weight") == 3.5);
  CHECK(p.opt.load_size == 8);
  CHECK(p.opt.dataset_mode == "unaligned");
  CHECK(options_text(p.opt, true)
            .find("              tiny_weight: 3.5                           \t[default: 2.0]") !=
        std::string::npos);
  // its flag is its own: refused for another model, naming the owner
  CHECK(parse_with(train_program(), {"--model", "cycle_gan", "--tiny_weight", "3"}).exit_code == 2);
  // its check names its flag
  p.opt.set("tiny_weight", 0.0);
  CHECK_THROWS_WITH_AS(validate_options(p.opt, true), doctest::Contains("--tiny_weight must be > 0"), Error);
}

TEST_CASE("an unregistered model is gone from every program") {
  { const Registered tiny; }
  CHECK_FALSE(find_model("tiny"));
  const auto names = model_names(train_program());
  CHECK(names == std::vector<std::string>{"cycle_gan", "pix2pix", "cut"});
  CHECK(model_names(test_program()) == std::vector<std::string>{"cycle_gan", "pix2pix", "test", "cut"});
}

TEST_CASE(
    "a model registered from outside the harness trains - resumes exactly - and translates through it") {
  const Registered tiny;
  const std::string dir = test::scratch("registry_tiny");
  const std::string data = test::make_dataset(dir + "/data", 4, 4, 8, 8, 21);
  auto options = [&](const std::string& ckpt) {
    Options o = default_options("tiny", true);
    o.dataroot = data;
    o.checkpoints_dir = (fs::path(dir) / ckpt).string();
    o.name = "t";
    o.n_epochs = 2;
    o.n_epochs_decay = 1;
    o.print_freq = 1;
    o.display_freq = 2;
    o.serial_batches = true;
    return o;
  };
  // make_dataset's B images are 4 pixels wider: the unaligned pairs need one size
  for (const auto& e : fs::directory_iterator(data + "/trainB")) {
    data::Image im = data::read_image(e.path().string(), 3);
    data::write_png(e.path().string(), data::resize_bicubic(im, 8, 8));
  }
  const Options straight = options("straight");
  REQUIRE(run_training(straight, {nullptr, true}) == 0);
  const std::string exp = experiment_dir(straight);
  CHECK(fs::exists(exp + "/latest_net_G.safetensors"));
  CHECK(fs::exists(exp + "/latest_train_state.safetensors"));
  CHECK(read_file(exp + "/loss_log.csv").rfind("epoch,iters,L1\n", 0) == 0);
  CHECK(read_file(exp + "/web/index.html").find("Tiny") != std::string::npos);  // the spec's title
  CHECK(fs::exists(exp + "/train_opt.txt"));

  // stopped after 5 samples, resumed: the same weights and optimizer state as the straight run
  Options split = options("split");
  REQUIRE(run_training(split, {[](int64_t n) { return n == 5; }, true}) == 0);
  split.continue_train = true;
  REQUIRE(run_training(split, {nullptr, true}) == 0);
  CHECK(test::first_difference(net_file(straight, "latest", "G"), net_file(split, "latest", "G")) == "");
  const auto a = safetensors::load(state_file(straight, "latest")),
             b = safetensors::load(state_file(split, "latest"));
  for (const auto& kv : a.tensors) CHECK_MESSAGE(test::identical(kv.second, b.tensors.at(kv.first)), kv.first);
  // the model's own state came back with the resume (12 steps in all: 4 samples x 3 epochs)
  const auto state = nlohmann::json::parse(b.metadata.at("train_state"));
  CHECK(state.at("steps") == 12);
  CHECK(state.at("model") == "tiny");

  // the tester: G over testA and testB, the model's visuals written per image
  Options t = default_options("tiny", false);
  t.dataroot = data;
  t.checkpoints_dir = dir + "/straight";
  t.results_dir = dir + "/results";
  t.name = "t";
  const std::string folder = run_test(t, true);
  CHECK(fs::exists(folder + "/images/0_A_fake_B.png"));
  CHECK(fs::exists(folder + "/index.html"));
  // a label it does not have: the model's own hint
  t.epoch = "7";
  CHECK_THROWS_WITH_AS(run_test(t, true), doctest::Contains("a tiny experiment keeps one network G"), Error);
}
