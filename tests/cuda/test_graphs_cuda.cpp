// The training step replayed from CUDA graphs against the eager step: bit for bit in float32 (with
// deterministic cuDNN engines, so that both runs compute the same sums in the same order), through
// image-pool draws, changing inputs, a new input shape and a reloaded optimizer state.
#include "../cyclegan_steps.h"
#include "backend/device.h"
#include "ops/ops.h"

using namespace cg;

namespace {
struct Deterministic {
  Deterministic() { backend::set_deterministic(true); }
  ~Deterministic() { backend::set_deterministic(false); }
};

std::unique_ptr<cyclegan::CycleGANModel> make_model(bool graphs) {
  cyclegan::Options o = test::small_options();
  o.pool_size = 1;  // from the second step on the pool swaps images at random
  o.device = "cuda";
  o.seed = 9;
  auto m = std::make_unique<cyclegan::CycleGANModel>(o, true);
  m->set_cuda_graphs(graphs);
  return m;
}

// Every loss, every parameter, every gradient and the visuals: identical bits.
void check_identical(cyclegan::CycleGANModel& a, cyclegan::CycleGANModel& b, int step) {
  CAPTURE(step);
  const auto la = a.current_losses(), lb = b.current_losses();
  for (size_t k = 0; k < la.size(); ++k) {
    CAPTURE(la[k].first);
    CHECK(la[k].second == lb[k].second);
  }
  const auto na = a.networks(), nb = b.networks();
  for (size_t n = 0; n < na.size(); ++n) {
    const auto pa = na[n].second->named_parameters(), pb = nb[n].second->named_parameters();
    for (size_t i = 0; i < pa.size(); ++i) {
      CAPTURE(na[n].first + "." + pa[i].first);
      CHECK_CLOSE(pa[i].second, pb[i].second, 0.0, 0.0);
      CHECK_CLOSE(pa[i].second.grad(), pb[i].second.grad(), 0.0, 0.0);
    }
  }
  const auto va = a.current_visuals(), vb = b.current_visuals();
  for (size_t k = 0; k < va.size(); ++k) {
    CAPTURE(va[k].first);
    CHECK_CLOSE(va[k].second, vb[k].second, 0.0, 0.0);
  }
}
}  // namespace

TEST_CASE("a training step replayed from CUDA graphs equals the eager step bit for bit") {
  Deterministic det;
  auto eager = make_model(false), graphed = make_model(true);
  Generator g(31);
  for (int step = 0; step < 6; ++step) {
    // new inputs every step: the graphs must read them, not the ones they were captured with
    const Tensor A = Tensor::rand({1, 3, 32, 32}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
    const Tensor B = Tensor::rand({1, 3, 32, 32}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
    eager->set_input(A, B);
    graphed->set_input(A, B);
    eager->optimize_parameters();
    graphed->optimize_parameters();
    check_identical(*eager, *graphed, step);
  }
  CHECK(eager->graph_replays() == 0);
  CHECK(graphed->graph_replays() == 4);  // step 1 eager, step 2 captured, 3-6 replayed
}

TEST_CASE(
    "cuda graphs: a new input shape runs eagerly, the old shape replays, a reloaded optimizer recaptures") {
  Deterministic det;
  auto eager = make_model(false), graphed = make_model(true);
  Generator g(32);
  int step = 0;
  auto both = [&](int64_t size) {
    const Tensor A = Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
    const Tensor B = Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0;
    for (auto* m : {eager.get(), graphed.get()}) {
      m->set_input(A, B);
      m->optimize_parameters();
    }
    check_identical(*eager, *graphed, step++);
  };
  for (int i = 0; i < 3; ++i) both(32);  // eager, capture, replay
  CHECK(graphed->graph_replays() == 1);
  both(40);  // another shape: eager
  CHECK(graphed->graph_replays() == 1);
  both(32);  // back: replayed
  CHECK(graphed->graph_replays() == 2);
  // Reloading the optimizer's state gives its moments new addresses: the graphs must not write to
  // the old ones. The next step captures anew, the one after replays.
  for (auto* m : {eager.get(), graphed.get()})
    m->optimizer("G").load_state_dict(m->optimizer("G").state_dict("G."), "G.", "test state");
  both(32);
  CHECK(graphed->graph_replays() == 2);
  both(32);
  CHECK(graphed->graph_replays() == 3);
}

TEST_CASE("cuda graphs: a NaN loss is caught by the device-side check of a replayed step") {
  auto m = make_model(true);
  m->optimizer("G").set_lr(1e30);
  m->optimizer("D").set_lr(1e30);
  Generator g(33);
  m->set_input(Tensor::rand({1, 3, 32, 32}, DType::F32, Device::CPU, &g),
               Tensor::rand({1, 3, 32, 32}, DType::F32, Device::CPU, &g));
  m->optimize_parameters();
  CHECK(m->losses_finite());  // the first step still starts from finite weights
  for (int i = 0; i < 8; ++i) m->optimize_parameters();
  CHECK(m->graph_replays() == 7);
  CHECK_FALSE(m->losses_finite());
}
