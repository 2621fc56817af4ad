// Activation recomputation (ops/checkpoint.h, --recompute): the gradients of a recomputed
// part equal the plain ones bit for bit on the CPU (dropout draws the same masks, batch norm's
// running statistics move once), a float64 gradcheck, and whole training runs that end with the
// same losses and weights.
#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "autograd/gradcheck.h"
#include "helpers.h"
#include "models/common/model.h"
#include "models/networks/networks.h"
#include "nn/layers.h"
#include "ops/checkpoint.h"
#include "ops/ops.h"

using namespace cg;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return std::memcmp(std::as_const(a).raw(), std::as_const(b).raw(), a.nbytes()) == 0;
}

// A ResNet block's output and every gradient (input, parameters), plain or recomputed, from the
// same start (weights, buffers, generator).
struct BlockRun {
  Tensor y, dx;
  std::vector<Tensor> dparams, buffers;
  double next_draw = 0;
  int64_t records = 0;  // on the tape before backward
};

BlockRun run_block(const std::string& norm, bool dropout, bool recompute) {
  Generator init(3);
  models::ResnetBlock block(6, norm, dropout, norm == "instance");
  for (auto& [name, p] : block.named_parameters()) {
    NoGradGuard no_grad;
    copy_(p, Tensor::randn(p.shape(), DType::F32, Device::CPU, &init) * 0.3 +
                 (name.find("weight") != std::string::npos && p.ndim() == 1 ? 1.0 : 0.0));
  }
  block.recompute = recompute;
  block.train(true);
  Generator g(4);
  Tensor x = Tensor::randn({2, 6, 9, 7}, DType::F32, Device::CPU, &g).set_requires_grad(true);
  manual_seed(21);
  // used twice, as a CycleGAN generator is used twice per step: the gradients are sums
  Tensor y = block(x);
  Tensor y2 = block(y * 0.5);
  const Tensor loss = sum(square(y2) * Tensor::randn(y2.shape(), DType::F32, Device::CPU, &g)) + sum(y);
  BlockRun r;
  const std::string tape = tape_string(loss);
  r.records = std::count(tape.begin(), tape.end(), '\n');
  loss.backward();
  r.y = y2.detach();
  r.dx = x.grad();
  for (const Tensor& p : block.parameters()) r.dparams.push_back(p.grad());
  for (const auto& [name, b] : block.named_buffers()) r.buffers.push_back(b.clone());
  r.next_draw = default_generator().uniform();
  return r;
}

}  // namespace

TEST_CASE("checkpoint: a recomputed ResNet block gives the plain block's output and gradients bit for bit") {
  for (const auto& config : std::vector<std::pair<std::string, bool>>{
           {"instance", false}, {"instance", true}, {"batch", true}, {"none", false}}) {
    const std::string norm = config.first;  // not a structured binding: doctest's macros capture it
    const bool dropout = config.second;
    CAPTURE(norm);
    CAPTURE(dropout);
    const BlockRun plain = run_block(norm, dropout, false), re = run_block(norm, dropout, true);
    CHECK(same_bits(plain.y, re.y));
    CHECK(same_bits(plain.dx, re.dx));
    REQUIRE(plain.dparams.size() == re.dparams.size());
    for (size_t i = 0; i < plain.dparams.size(); ++i) CHECK(same_bits(plain.dparams[i], re.dparams[i]));
    // batch norm's running statistics and count moved once per call, as without recomputation
    REQUIRE(plain.buffers.size() == re.buffers.size());
    for (size_t i = 0; i < plain.buffers.size(); ++i) CHECK(same_bits(plain.buffers[i], re.buffers[i]));
    // the generator ends where the plain run left it: the rerun drew from a copy of its old state
    CHECK(plain.next_draw == re.next_draw);
    // and what it is for: each block call is one record on the tape instead of one per layer
    CHECK(re.records < plain.records - 6);
  }
}

TEST_CASE("checkpoint: float64 gradcheck of a recomputed conv - instance norm - ReLU") {
  Generator g(8);
  const Tensor x = test::randn64({1, 2, 5, 6}, g).set_requires_grad(true);
  const Tensor w = test::randn64({3, 2, 3, 3}, g).set_requires_grad(true);
  const Tensor b = test::randn64({3}, g).set_requires_grad(true);
  auto part = [](const Tensor& h, const Tensor& wt, const Tensor& bt) {
    return instance_norm_act2d(conv2d(reflection_pad2d(h, 1), wt, bt), 0.2);
  };
  const GradcheckResult r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        // the part keeps its own handles: backward runs it again after this function returned
        return checkpoint([part, wt = in[1], bt = in[2]](const Tensor& h) { return part(h, wt, bt); }, in[0],
                          {in[1], in[2]}) +
               sum(square(in[0]));  // x used outside too: its gradients add up
      },
      {x, w, b});
  CHECK_MESSAGE(r.ok, r.report);
  // without any input that wants a gradient it is the plain call, and records nothing
  NoGradGuard no_grad;
  const Tensor y = checkpoint([&](const Tensor& h) { return part(h, w, b); }, x, {w, b});
  CHECK(!y.requires_grad());
}

TEST_CASE("checkpoint: a saved input written in place is an error, not a wrong gradient") {
  Generator g(2);
  Tensor x0 = Tensor::randn({1, 1, 4, 4}, DType::F32, Device::CPU, &g).set_requires_grad(true);
  Tensor x = x0 * 1.0;
  const Tensor y = checkpoint([](const Tensor& h) { return square(h); }, x, {});
  {
    NoGradGuard no_grad;
    fill_(x, 0.0);
  }
  CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("modified in place"), Error);
}

TEST_CASE("--recompute: CycleGAN training steps end with the same losses and weights bit for bit") {
  auto train = [](bool recompute, const std::string& norm) {
    models::Options o = models::default_options("cycle_gan", true);
    o.ngf = o.ndf = 4;
    o.netG = "resnet_2blocks";
    o.norm = norm;
    o.no_dropout = norm == "instance";  // batch: with dropout too
    o.recompute = recompute;
    o.seed = 5;
    manual_seed(o.seed);
    auto model = models::create_model(o, true);
    int recomputing = 0;  // the flag reached both generators and their 2 blocks each
    for (const auto& [name, net] : model->networks())
      for (const auto& [path, m] : net->named_modules()) {
        if (auto* b = dynamic_cast<models::ResnetBlock*>(m)) recomputing += b->recompute ? 1 : 0;
        if (auto* gen = dynamic_cast<models::ResnetGenerator*>(m)) recomputing += gen->recompute ? 1 : 0;
      }
    CHECK(recomputing == (recompute ? 6 : 0));
    Generator g(6);
    std::vector<std::vector<std::pair<std::string, double>>> losses;
    for (int step = 0; step < 3; ++step) {
      data::Batch b;
      b.A = Tensor::rand({1, 3, 32, 32}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
      b.B = Tensor::rand({1, 3, 32, 32}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
      b.A_paths = b.B_paths = {"x"};
      model->set_input(b);
      model->optimize_parameters();
      losses.push_back(model->current_losses());
    }
    std::map<std::string, Tensor> weights;
    for (const auto& [name, net] : model->networks())
      for (const auto& [key, t] : net->state_dict()) weights[name + "." + key] = t;
    return std::pair{losses, weights};
  };
  for (const std::string norm : {"instance", "batch"}) {
    CAPTURE(norm);
    const auto [plain_losses, plain_weights] = train(false, norm);
    const auto [re_losses, re_weights] = train(true, norm);
    CHECK(plain_losses == re_losses);
    REQUIRE(plain_weights.size() == re_weights.size());
    int differ = 0;
    for (const auto& [key, t] : plain_weights) differ += same_bits(t, re_weights.at(key)) ? 0 : 1;
    CHECK(differ == 0);
  }
  // a U-Net has no ResNet blocks: the flag is refused with the reason
  models::Options o = models::default_options("pix2pix", true);
  o.recompute = true;
  CHECK_THROWS_WITH_AS(models::create_model(o, true), doctest::Contains("--recompute"), Error);
}
