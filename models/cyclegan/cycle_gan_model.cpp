#include "models/cyclegan/cycle_gan_model.h"

#include "models/cyclegan/networks.h"
#include "ops/ops.h"

namespace cg::cyclegan {

static Device parse_device(const std::string& d) {
  if (d == "cpu") return Device::CPU;
  if (d == "cuda") {
    if (!kHaveCuda)
      throw Error(
          "--device cuda: this build has no CUDA backend (rebuild with -DCYCLEGAN_CUDA=ON on a machine with "
          "the CUDA toolkit and cuDNN)");
    if (!cuda_available()) throw Error("--device cuda: no CUDA device is available on this machine");
    return Device::CUDA;
  }
  throw Error("--device must be cpu or cuda, got '" + d + "'");
}

CycleGANModel::CycleGANModel(const Options& o, bool train)
    : opt(o), is_train(train), device(parse_device(o.device)) {
  if (is_train && opt.lambda_identity > 0.0 && opt.input_nc != opt.output_nc)
    throw Error("the identity loss (--lambda_identity " + std::to_string(opt.lambda_identity) +
                ") needs input_nc == output_nc (got " + std::to_string(opt.input_nc) + " and " +
                std::to_string(opt.output_nc) + "); set --lambda_identity 0");
  Generator init_gen(opt.seed);
  const bool use_dropout = !opt.no_dropout;
  netG_A = define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, use_dropout, opt.init_type,
                    opt.init_gain, init_gen);
  netG_B = define_G(opt.output_nc, opt.input_nc, opt.ngf, opt.netG, opt.norm, use_dropout, opt.init_type,
                    opt.init_gain, init_gen);
  netG_A->to(device);
  netG_B->to(device);
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
  const bool a_to_b = opt.direction == "AtoB";
  if (!a_to_b && opt.direction != "BtoA")
    throw Error("--direction must be AtoB or BtoA, got '" + opt.direction + "'");
  real_A = (a_to_b ? A : B).detach().to(device);
  real_B = (a_to_b ? B : A).detach().to(device);
}

void CycleGANModel::forward() {
  if (!real_A.defined() || !real_B.defined()) throw Error("CycleGANModel::forward before set_input");
  fake_B = (*netG_A)(real_A);
  rec_A = (*netG_B)(fake_B);
  fake_A = (*netG_B)(real_B);
  rec_B = (*netG_A)(fake_A);
}

void CycleGANModel::test() {
  NoGradGuard no_grad;
  forward();
}

void CycleGANModel::backward_G() {
  const double lambda_idt = opt.lambda_identity, lambda_A = opt.lambda_A, lambda_B = opt.lambda_B;
  if (lambda_idt > 0) {
    idt_A = (*netG_A)(real_B);  // G_A should be the identity on images already in domain B
    loss_idt_A = l1_loss(idt_A, real_B) * lambda_B * lambda_idt;
    idt_B = (*netG_B)(real_A);
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

Tensor CycleGANModel::backward_D_basic(nn::Module& netD, const Tensor& real, const Tensor& fake) {
  const Tensor loss_real = (*criterion_gan_)(netD(real), true);
  const Tensor loss_fake = (*criterion_gan_)(netD(fake.detach()), false);
  Tensor loss_D = (loss_real + loss_fake) * 0.5;
  loss_D.backward();
  return loss_D;
}

void CycleGANModel::optimize_parameters() {
  if (!is_train) throw Error("optimize_parameters on a model built for testing");
  forward();
  // G step: the discriminators are frozen, so their weights get no gradients from loss_G.
  netD_A->set_requires_grad(false);
  netD_B->set_requires_grad(false);
  optimizer_G->zero_grad();
  backward_G();
  optimizer_G->step();
  // D step, on fakes drawn through the image pools.
  netD_A->set_requires_grad(true);
  netD_B->set_requires_grad(true);
  optimizer_D->zero_grad();
  loss_D_A = backward_D_basic(*netD_A, real_B, fake_B_pool.query(fake_B, pool_generator));
  loss_D_B = backward_D_basic(*netD_B, real_A, fake_A_pool.query(fake_A, pool_generator));
  optimizer_D->step();
}

std::vector<std::pair<std::string, double>> CycleGANModel::current_losses() const {
  auto v = [](const Tensor& t) { return t.defined() ? t.item() : 0.0; };
  return {{"D_A", v(loss_D_A)}, {"G_A", v(loss_G_A)}, {"cycle_A", v(loss_cycle_A)}, {"idt_A", v(loss_idt_A)},
          {"D_B", v(loss_D_B)}, {"G_B", v(loss_G_B)}, {"cycle_B", v(loss_cycle_B)}, {"idt_B", v(loss_idt_B)}};
}

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
