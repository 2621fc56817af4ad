#include "models/cyclegan/cycle_gan_model.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cuda/kernels.h"
#include "models/cyclegan/cli.h"
#include "models/cyclegan/networks.h"
#include "ops/ops.h"

namespace cg::cyclegan {

Device options_device(const Options& o) {
  if (o.device == "cpu") return Device::CPU;
  if (!kHaveCuda)
    throw Error(
        "--device cuda: this build has no CUDA backend (rebuild with -DCYCLEGAN_CUDA=ON on a machine with "
        "the CUDA toolkit and cuDNN)");
  if (!cuda_available()) throw Error("--device cuda: no CUDA device is available on this machine");
  return Device::CUDA;
}

// Options are checked in one place, validate_options (cli.cpp): here too, for programs that build
// the model from an Options of their own rather than from the command line.
static Device checked_device(const Options& o, bool train) {
  validate_options(o, train);
  return options_device(o);
}

CycleGANModel::CycleGANModel(const Options& o, bool train)
    : opt(o), is_train(train), device(checked_device(o, train)) {
  Generator init_gen(opt.seed);
  const bool use_dropout = !opt.no_dropout;
  netG_A = define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, use_dropout, opt.init_type,
                    opt.init_gain, init_gen);
  netG_B = define_G(opt.output_nc, opt.input_nc, opt.ngf, opt.netG, opt.norm, use_dropout, opt.init_type,
                    opt.init_gain, init_gen);
  netG_A->to(device);
  netG_B->to(device);
  loss_health_ = Tensor::zeros({}, DType::F32, device);
  if (const char* env = std::getenv("CG_CUDA_GRAPHS")) cuda_graphs = std::string(env) != "0";
  if (!is_train) {
    netG_A->eval();
    netG_B->eval();
    return;
  }
  netD_A = define_D(opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm, opt.init_type, opt.init_gain,
                    init_gen);
  netD_B = define_D(opt.input_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm, opt.init_type, opt.init_gain,
                    init_gen);
  netD_A->to(device);
  netD_B->to(device);
  fake_A_pool = ImagePool(opt.pool_size);
  fake_B_pool = ImagePool(opt.pool_size);
  pool_generator.seed(opt.seed + 2);
  criterion_gan_ = std::make_unique<GANLoss>(opt.gan_mode);

  const nn::Adam::Options adam{opt.lr, opt.beta1, 0.999, 1e-8};
  std::vector<Tensor> g_params = netG_A->parameters(), d_params = netD_A->parameters();
  for (const Tensor& p : netG_B->parameters()) g_params.push_back(p);
  for (const Tensor& p : netD_B->parameters()) d_params.push_back(p);
  optimizer_G = std::make_unique<nn::Adam>(g_params, adam);
  optimizer_D = std::make_unique<nn::Adam>(d_params, adam);
  const nn::LRSchedule::Options sched{opt.lr_policy,      opt.lr,          opt.n_epochs,
                                      opt.n_epochs_decay, opt.epoch_count, opt.lr_decay_iters};
  scheduler_G = std::make_unique<nn::LRSchedule>(sched);
  scheduler_D = std::make_unique<nn::LRSchedule>(sched);
  optimizer_G->set_lr(scheduler_G->lr());
  optimizer_D->set_lr(scheduler_D->lr());
}

void CycleGANModel::set_input(const Tensor& A, const Tensor& B) {
  const bool a_to_b = opt.direction == "AtoB";  // or BtoA (validate_options)
  real_A = (a_to_b ? A : B).detach().to(device);
  real_B = (a_to_b ? B : A).detach().to(device);
}

void CycleGANModel::forward() {
  if (!real_A.defined() || !real_B.defined()) throw Error("CycleGANModel::forward before set_input");
  const Bf16Autocast amp(opt.amp);
  fake_B = (*netG_A)(real_A);
  rec_A = (*netG_B)(fake_B);
  fake_A = (*netG_B)(real_B);
  rec_B = (*netG_A)(fake_A);
}

void CycleGANModel::test() {
  NoGradGuard no_grad;
  forward();
}

// The training forward. Each generator runs twice on inputs that do not depend on each other:
// G_A on real_A (fake_B) and on real_B (idt_A, the identity loss), G_B likewise. With instance
// norm (or none) every image is normalised on its own, so the two passes are exactly one pass
// over the pair as a batch of two, which keeps a GPU twice as busy at batch size 1. (Batch norm
// would mix the two: it gets the official separate passes.)
void CycleGANModel::forward_train() {
  if (!real_A.defined() || !real_B.defined()) throw Error("CycleGANModel::forward before set_input");
  const bool pair = opt.lambda_identity > 0 && per_image_norm() && real_A.shape() == real_B.shape();
  if (!pair) {
    forward();
    return;
  }
  const int64_t n = real_A.size(0);
  const Tensor out_A = (*netG_A)(cat0({real_A, real_B}));  // fake_B | idt_A
  fake_B = slice0(out_A, 0, n);
  idt_A = slice0(out_A, n, n);
  const Tensor out_B = (*netG_B)(cat0({real_B, real_A}));  // fake_A | idt_B
  fake_A = slice0(out_B, 0, n);
  idt_B = slice0(out_B, n, n);
  rec_A = (*netG_B)(fake_B);
  rec_B = (*netG_A)(fake_A);
}

void CycleGANModel::backward_G() {
  const double lambda_idt = opt.lambda_identity, lambda_A = opt.lambda_A, lambda_B = opt.lambda_B;
  if (lambda_idt > 0) {
    // G_A should be the identity on images already in domain B (forward_train may have run it)
    if (!idt_A.defined()) idt_A = (*netG_A)(real_B);
    loss_idt_A = l1_loss(idt_A, real_B) * lambda_B * lambda_idt;
    if (!idt_B.defined()) idt_B = (*netG_B)(real_A);
    loss_idt_B = l1_loss(idt_B, real_A) * lambda_A * lambda_idt;
  } else {
    loss_idt_A = Tensor::zeros({}, DType::F32, device);
    loss_idt_B = Tensor::zeros({}, DType::F32, device);
  }
  loss_G_A = (*criterion_gan_)((*netD_A)(fake_B), true);
  loss_G_B = (*criterion_gan_)((*netD_B)(fake_A), true);
  loss_cycle_A = l1_loss(rec_A, real_A) * lambda_A;
  loss_cycle_B = l1_loss(rec_B, real_B) * lambda_B;
  loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B;
  loss_G.backward();
}

// The discriminator's loss on a real and a (detached) fake batch. Both go through netD as one
// batch when their shapes agree: with instance norm (or none) each image is judged on its own, so
// this is the official two passes in one.
Tensor CycleGANModel::backward_D_basic(nn::Module& netD, const Tensor& real, const Tensor& fake) {
  Tensor loss_real, loss_fake;
  if (per_image_norm() && real.shape() == fake.shape()) {
    const int64_t n = real.size(0);
    const Tensor pred = netD(cat0({real, fake.detach()}));
    loss_real = (*criterion_gan_)(slice0(pred, 0, n), true);
    loss_fake = (*criterion_gan_)(slice0(pred, n, n), false);
  } else {
    loss_real = (*criterion_gan_)(netD(real), true);
    loss_fake = (*criterion_gan_)(netD(fake.detach()), false);
  }
  Tensor loss_D = (loss_real + loss_fake) * 0.5;
  loss_D.backward();
  return loss_D;
}

void CycleGANModel::g_part(bool capturing) {
  idt_A = idt_B = Tensor();
  forward_train();
  // G step: the discriminators are frozen, so their weights get no gradients from loss_G.
  netD_A->set_requires_grad(false);
  netD_B->set_requires_grad(false);
  optimizer_G->zero_grad();
  backward_G();
  if (capturing)
    optimizer_G->queue_update();
  else
    optimizer_G->step();
  netD_A->set_requires_grad(true);
  netD_B->set_requires_grad(true);
}

void CycleGANModel::d_part(const Tensor& pooled_B, const Tensor& pooled_A, bool capturing) {
  optimizer_D->zero_grad();
  loss_D_A = backward_D_basic(*netD_A, real_B, pooled_B);
  loss_D_B = backward_D_basic(*netD_B, real_A, pooled_A);
  if (capturing)
    optimizer_D->queue_update();
  else
    optimizer_D->step();
  record_losses();
}

void CycleGANModel::record_losses() {
  NoGradGuard no_grad;
  std::vector<Tensor> v;
  for (const Tensor* t :
       {&loss_D_A, &loss_G_A, &loss_cycle_A, &loss_idt_A, &loss_D_B, &loss_G_B, &loss_cycle_B, &loss_idt_B})
    v.push_back(t->detach().reshape({1}));
  loss_values_ = cat0(v);  // (8)
  // 0 * x is 0 for every finite x and NaN for NaN and the infinities, and NaN stays NaN.
  axpy_(loss_health_, 0.0, sum(loss_values_).to(loss_health_.dtype()));
}

void CycleGANModel::eager_step() {
  g_part(false);
  const Tensor pooled_B = fake_B_pool.query(fake_B, pool_generator);
  const Tensor pooled_A = fake_A_pool.query(fake_A, pool_generator);
  d_part(pooled_B, pooled_A, false);
}

// ---- the training step as CUDA graphs ----

struct CycleGANModel::CapturedStep {
  Shape shape_A, shape_B;
  cuda::GraphHandle *g = nullptr, *d = nullptr;
  Tensor static_A, static_B, pooled_A, pooled_B;  // what the graphs read, filled before each launch
  // The model's members the graphs write: kept as the capture left them, and pointed at again
  // after every replay (an eager step in between may have replaced them).
  static constexpr Tensor CycleGANModel::*kWritten[] = {
      &CycleGANModel::fake_A,       &CycleGANModel::fake_B,     &CycleGANModel::rec_A,
      &CycleGANModel::rec_B,        &CycleGANModel::idt_A,      &CycleGANModel::idt_B,
      &CycleGANModel::loss_D_A,     &CycleGANModel::loss_G_A,   &CycleGANModel::loss_cycle_A,
      &CycleGANModel::loss_idt_A,   &CycleGANModel::loss_D_B,   &CycleGANModel::loss_G_B,
      &CycleGANModel::loss_cycle_B, &CycleGANModel::loss_idt_B, &CycleGANModel::loss_G,
      &CycleGANModel::loss_values_};
  std::vector<Tensor> written;                   // in kWritten's order
  std::vector<std::pair<Tensor, Tensor>> grads;  // (parameter, the gradient the graphs write)
  std::vector<const void*> fingerprint;
  ~CapturedStep() {
    if constexpr (kHaveCuda) {
      cuda::graph_destroy(g);
      cuda::graph_destroy(d);
    }
  }
  void keep(const CycleGANModel& m) {
    written.clear();
    for (Tensor CycleGANModel::*member : kWritten) written.push_back(m.*member);
    grads.clear();
    for (const auto& [name, net] : m.networks())
      for (const Tensor& p : net->parameters()) grads.emplace_back(p, p.grad());
  }
  // Points the model's members (and the parameters' gradients) at what a replay wrote.
  void restore(CycleGANModel& m) const {
    for (size_t i = 0; i < written.size(); ++i) m.*kWritten[i] = written[i];
    for (const auto& [p, g] : grads) {
      Tensor q = p;
      q.set_grad(g);
    }
  }
};

CycleGANModel::~CycleGANModel() = default;

std::vector<const void*> CycleGANModel::fingerprint() const {
  std::vector<const void*> f;
  for (const auto& [name, net] : networks())
    for (const Tensor& p : net->parameters()) f.push_back(p.raw());
  for (nn::Adam* o : {optimizer_G.get(), optimizer_D.get()})
    for (const auto& s : o->state()) {
      f.push_back(s.exp_avg.defined() ? s.exp_avg.raw() : nullptr);
      f.push_back(s.exp_avg_sq.defined() ? s.exp_avg_sq.raw() : nullptr);
    }
  return f;
}

void CycleGANModel::capture_step() {
  if constexpr (kHaveCuda) {
    auto cs = std::make_unique<CapturedStep>();
    cs->shape_A = real_A.shape();
    cs->shape_B = real_B.shape();
    cs->static_A = real_A.detach().clone();
    cs->static_B = real_B.detach().clone();
    const Tensor keep_A = real_A, keep_B = real_B;
    real_A = cs->static_A;
    real_B = cs->static_B;
    auto fail = [&](const std::exception& e) {
      graphs_failed_ = true;
      std::fprintf(
          stderr,
          "warning: capturing the training step as CUDA graphs failed (%s); training on without them\n",
          e.what());
    };
    // The generators' graph. Capturing records kernels without running them; the launch runs them.
    cs->g = cuda::graph_capture_begin();
    try {
      g_part(true);
      cuda::graph_capture_end(cs->g);
    } catch (const std::exception& e) {
      cuda::graph_capture_abort(cs->g);
      cs->g = nullptr;
      real_A = keep_A;
      real_B = keep_B;
      fail(e);
      eager_step();
      return;
    }
    optimizer_G->prepare_update();
    cuda::graph_launch(cs->g);
    // The pools draw on the host between the graphs, exactly as in the eager step.
    const Tensor pooled_B = fake_B_pool.query(fake_B, pool_generator);
    const Tensor pooled_A = fake_A_pool.query(fake_A, pool_generator);
    cs->pooled_B = pooled_B.detach().clone();
    cs->pooled_A = pooled_A.detach().clone();
    cs->d = cuda::graph_capture_begin();
    try {
      d_part(cs->pooled_B, cs->pooled_A, true);
      cuda::graph_capture_end(cs->d);
    } catch (const std::exception& e) {
      cuda::graph_capture_abort(cs->d);
      cs->d = nullptr;
      cuda::graph_destroy(cs->g);
      cs->g = nullptr;
      fail(e);
      d_part(pooled_B, pooled_A, false);
      real_A = keep_A;
      real_B = keep_B;
      return;
    }
    optimizer_D->prepare_update();
    cuda::graph_launch(cs->d);
    cs->keep(*this);
    real_A = keep_A;
    real_B = keep_B;
    captured_ = std::move(cs);
    captured_->fingerprint = fingerprint();
  }
}

void CycleGANModel::replay_step() {
  if constexpr (kHaveCuda) {
    CapturedStep& cs = *captured_;
    cs.restore(*this);
    copy_(cs.static_A, real_A);
    copy_(cs.static_B, real_B);
    optimizer_G->prepare_update();
    cuda::graph_launch(cs.g);
    const Tensor pooled_B = fake_B_pool.query(fake_B, pool_generator);  // restored above
    const Tensor pooled_A = fake_A_pool.query(fake_A, pool_generator);
    ++graph_replays_;
    if (pooled_B.shape() != cs.pooled_B.shape() || pooled_A.shape() != cs.pooled_A.shape()) {
      // The pool handed back an image from a step of another size: this D step runs eagerly.
      d_part(pooled_B, pooled_A, false);
      return;
    }
    copy_(cs.pooled_B, pooled_B);
    copy_(cs.pooled_A, pooled_A);
    optimizer_D->prepare_update();
    cuda::graph_launch(cs.d);
  }
}

void CycleGANModel::optimize_parameters() {
  if (!is_train) throw Error("optimize_parameters on a model built for testing");
  const Bf16Autocast amp(opt.amp);
  const bool graphs = kHaveCuda && device == Device::CUDA && cuda_graphs && !graphs_failed_ && opt.no_dropout;
  if (!graphs) return eager_step();
  if (captured_ && captured_->fingerprint != fingerprint()) captured_.reset();  // weights or moments moved
  if (captured_) {
    if (real_A.shape() == captured_->shape_A && real_B.shape() == captured_->shape_B) return replay_step();
    return eager_step();  // another input shape: eager, the graphs stay for their own
  }
  // The first step of a shape is eager: it finds the cuDNN plans and creates Adam's moments,
  // which a capture must not do; the next one is captured.
  if (real_A.shape() != warm_A_ || real_B.shape() != warm_B_) {
    eager_step();
    warm_A_ = real_A.shape();
    warm_B_ = real_B.shape();
    return;
  }
  capture_step();
}

std::vector<std::pair<std::string, double>> CycleGANModel::current_losses() const {
  static const char* names[8] = {"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"};
  std::vector<double> v(8, 0.0);
  if (loss_values_.defined()) v = loss_values_.to_vector<double>();  // one copy from the device
  std::vector<std::pair<std::string, double>> out;
  for (size_t k = 0; k < 8; ++k) out.emplace_back(names[k], v[k]);
  return out;
}

bool CycleGANModel::losses_finite() const { return std::isfinite(loss_health_.item()); }

std::vector<std::pair<std::string, Tensor>> CycleGANModel::current_visuals() const {
  std::vector<std::pair<std::string, Tensor>> v{{"real_A", real_A}, {"fake_B", fake_B}, {"rec_A", rec_A}};
  if (is_train && opt.lambda_identity > 0) v.emplace_back("idt_B", idt_B);
  v.insert(v.end(), {{"real_B", real_B}, {"fake_A", fake_A}, {"rec_B", rec_B}});
  if (is_train && opt.lambda_identity > 0) v.emplace_back("idt_A", idt_A);
  return v;
}

std::pair<double, double> CycleGANModel::update_learning_rate() {
  const double old_lr = optimizer_G->lr();
  scheduler_G->step();
  scheduler_D->step();
  optimizer_G->set_lr(scheduler_G->lr());
  optimizer_D->set_lr(scheduler_D->lr());
  return {old_lr, optimizer_G->lr()};
}

std::vector<std::pair<std::string, nn::Module*>> CycleGANModel::networks() const {
  std::vector<std::pair<std::string, nn::Module*>> v{{"G_A", netG_A.get()}, {"G_B", netG_B.get()}};
  if (is_train) v.insert(v.end(), {{"D_A", netD_A.get()}, {"D_B", netD_B.get()}});
  return v;
}

}  // namespace cg::cyclegan
