#include "models/cyclegan/cycle_gan_model.h"

#include <nlohmann/json.hpp>

#include "models/networks/networks.h"
#include "nn/json_whole.h"
#include "ops/ops.h"

namespace cg::cyclegan {

using json = nlohmann::json;

CycleGANModel::CycleGANModel(const Options& o, bool train) : Model(o, train) {
  Generator init_gen(opt.seed);
  const bool use_dropout = !opt.no_dropout;
  netG_A = models::define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, use_dropout,
                            opt.init_type, opt.init_gain, init_gen);
  netG_B = models::define_G(opt.output_nc, opt.input_nc, opt.ngf, opt.netG, opt.norm, use_dropout,
                            opt.init_type, opt.init_gain, init_gen);
  netG_A->to(device);
  netG_B->to(device);
  if (!is_train) {
    netG_A->eval();
    netG_B->eval();
    return;
  }
  netD_A = models::define_D(opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm, opt.init_type,
                            opt.init_gain, init_gen);
  netD_B = models::define_D(opt.input_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm, opt.init_type,
                            opt.init_gain, init_gen);
  netD_A->to(device);
  netD_B->to(device);
  fake_A_pool = ImagePool(opt.pool_size);
  fake_B_pool = ImagePool(opt.pool_size);
  pool_generator.seed(opt.seed + 2);
  criterion_gan_ = std::make_unique<models::GANLoss>(opt.gan_mode);
  // One Adam for both generators, one for both discriminators (itertools.chain, as the official).
  std::vector<Tensor> g_params = netG_A->parameters(), d_params = netD_A->parameters();
  for (const Tensor& p : netG_B->parameters()) g_params.push_back(p);
  for (const Tensor& p : netD_B->parameters()) d_params.push_back(p);
  add_optimizer("G", g_params);
  add_optimizer("D", d_params);
}

std::vector<std::string> CycleGANModel::loss_names() const {
  return {"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"};
}

std::vector<std::string> CycleGANModel::visual_names() const {
  const bool idt = is_train && opt.get<double>("lambda_identity") > 0;
  std::vector<std::string> v{"real_A", "fake_B", "rec_A"};
  if (idt) v.push_back("idt_B");
  v.insert(v.end(), {"real_B", "fake_A", "rec_B"});
  if (idt) v.push_back("idt_A");
  return v;
}

std::vector<std::pair<std::string, nn::Module*>> CycleGANModel::networks() const {
  std::vector<std::pair<std::string, nn::Module*>> v{{"G_A", netG_A.get()}, {"G_B", netG_B.get()}};
  if (is_train) v.insert(v.end(), {{"D_A", netD_A.get()}, {"D_B", netD_B.get()}});
  return v;
}

std::vector<std::pair<std::string, std::vector<std::string>>> CycleGANModel::loss_charts() const {
  return {{"adversarial losses", {"D_A", "G_A", "D_B", "G_B"}},
          {"cycle and identity losses", {"cycle_A", "idt_A", "cycle_B", "idt_B"}}};
}

void CycleGANModel::set_input(const data::Batch& batch) {
  set_input(batch.A, batch.B);
  image_paths_ = opt.direction == "AtoB" ? batch.A_paths : batch.B_paths;
}

void CycleGANModel::set_input(const Tensor& A, const Tensor& B) {
  if (!A.defined() || !B.defined()) throw Error("cycle_gan model: set_input needs an A and a B batch");
  const bool a_to_b = opt.direction == "AtoB";  // or BtoA (validate_options)
  real_A = (a_to_b ? A : B).detach().to(device);
  real_B = (a_to_b ? B : A).detach().to(device);
}

void CycleGANModel::forward() {
  need_input(real_A.defined() && real_B.defined(), "forward");
  const Bf16Autocast amp(opt.amp);
  fake_B = generate(*netG_A, real_A);
  rec_A = generate(*netG_B, fake_B);
  fake_A = generate(*netG_B, real_B);
  rec_B = generate(*netG_A, fake_A);
}

// The training forward. Each generator runs twice on inputs that do not depend on each other:
// G_A on real_A (fake_B) and on real_B (idt_A, the identity loss), G_B likewise. With instance
// norm (or none) every image is normalised on its own, so the two passes are exactly one pass
// over the pair as a batch of two, which keeps a GPU twice as busy at batch size 1. (Batch norm
// would mix the two: it gets the official separate passes.)
void CycleGANModel::forward_train() {
  need_input(real_A.defined() && real_B.defined(), "forward");
  const bool pair =
      opt.get<double>("lambda_identity") > 0 && per_image_norm() && real_A.shape() == real_B.shape();
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
  const double lambda_idt = opt.get<double>("lambda_identity"), lambda_A = opt.get<double>("lambda_A"),
               lambda_B = opt.get<double>("lambda_B");
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

void CycleGANModel::g_part() {
  idt_A = idt_B = Tensor();
  forward_train();
  // G step: the discriminators are frozen, so their weights get no gradients from loss_G.
  netD_A->set_requires_grad(false);
  netD_B->set_requires_grad(false);
  nn::Adam& optimizer_G = optimizer("G");
  optimizer_G.zero_grad();
  backward_G();
  update(optimizer_G);
  netD_A->set_requires_grad(true);
  netD_B->set_requires_grad(true);
}

void CycleGANModel::d_part() {
  nn::Adam& optimizer_D = optimizer("D");
  optimizer_D.zero_grad();
  loss_D_A = backward_D_basic(*netD_A, real_B, pooled_B_);
  loss_D_B = backward_D_basic(*netD_B, real_A, pooled_A_);
  update(optimizer_D);
  record_losses({loss_D_A, loss_G_A, loss_cycle_A, loss_idt_A, loss_D_B, loss_G_B, loss_cycle_B, loss_idt_B});
}

// The official optimize_parameters in two pieces of the harness's step (run_step): the
// generators', then the discriminators' on pooled fakes. The pools draw on the host between them
// (never inside a captured graph), exactly as in the eager step.
void CycleGANModel::optimize_parameters() {
  run_step({&real_A, &real_B}, {{[&] { g_part(); },
                                 {&optimizer("G")},
                                 {&fake_A, &fake_B, &rec_A, &rec_B, &idt_A, &idt_B, &loss_G_A, &loss_cycle_A,
                                  &loss_idt_A, &loss_G_B, &loss_cycle_B, &loss_idt_B, &loss_G}},
                                {[&] { d_part(); },
                                 {&optimizer("D")},
                                 {&loss_D_A, &loss_D_B, &loss_values_},
                                 [&] {
                                   pooled_B_ = stage(fake_B_pool.query(fake_B, pool_generator));
                                   pooled_A_ = stage(fake_A_pool.query(fake_A, pool_generator));
                                 }}});
  pooled_A_ = pooled_B_ = Tensor();
}

std::vector<std::pair<std::string, Tensor>> CycleGANModel::current_visuals() const {
  const std::map<std::string, const Tensor*> all{
      {"real_A", &real_A}, {"fake_B", &fake_B}, {"rec_A", &rec_A}, {"idt_B", &idt_B},
      {"real_B", &real_B}, {"fake_A", &fake_A}, {"rec_B", &rec_B}, {"idt_A", &idt_A}};
  std::vector<std::pair<std::string, Tensor>> v;
  for (const std::string& n : visual_names()) v.emplace_back(n, *all.at(n));
  return v;
}

void CycleGANModel::save_state(std::map<std::string, Tensor>& t, json& state) const {
  const auto& pa = fake_A_pool.images();
  const auto& pb = fake_B_pool.images();
  for (size_t i = 0; i < pa.size(); ++i) t["fake_A_pool." + std::to_string(i)] = pa[i];
  for (size_t i = 0; i < pb.size(); ++i) t["fake_B_pool." + std::to_string(i)] = pb[i];
  state["fake_A_pool"] = pa.size();
  state["fake_B_pool"] = pb.size();
  state["generators"]["pool"] = pool_generator.state();
}

void CycleGANModel::load_state(const safetensors::Contents& c, const json& st) {
  // A pool holds single fakes, (1, C, H, W): fake_A from G_B (input_nc channels), fake_B from G_A.
  auto pool = [&](const char* key, ImagePool& p, int channels) {
    std::vector<Tensor> imgs;
    const int64_t n = json_whole(st, key, 0, opt.pool_size);
    for (int64_t i = 0; i < n; ++i) {
      const std::string k = std::string(key) + "." + std::to_string(i);
      const auto t = c.tensors.find(k);
      if (t == c.tensors.end()) throw Error("entry '" + k + "' is missing");
      const Shape& sh = t->second.shape();
      if (sh.size() != 4 || sh[0] != 1 || sh[1] != channels || sh[2] < 1 || sh[3] < 1)
        throw Error("entry '" + k + "' has shape " + shape_str(sh) + ", not (1, " + std::to_string(channels) +
                    ", H, W)");
      for (double x : t->second.to_vector<double>())
        if (!(x >= -1.0 && x <= 1.0))
          throw Error("entry '" + k + "' holds " + std::to_string(x) + ", outside [-1, 1]");
      imgs.push_back(t->second.to(DType::F32).to(device));
    }
    p.set_images(std::move(imgs));
  };
  pool("fake_A_pool", fake_A_pool, opt.input_nc);
  pool("fake_B_pool", fake_B_pool, opt.output_nc);
  pool_generator.set_state(st.at("generators").at("pool").get<std::string>());
}

}  // namespace cg::cyclegan
