#include "models/pix2pix/pix2pix_model.h"

#include "models/networks/networks.h"
#include "ops/ops.h"

namespace cg::pix2pix {

Pix2PixModel::Pix2PixModel(const Options& o, bool train) : Model(o, train) {
  Generator init_gen(opt.seed);
  netG = models::define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, !opt.no_dropout,
                          opt.init_type, opt.init_gain, init_gen);
  netG->to(device);
  if (!is_train) {
    netG->eval();
    return;
  }
  // conditional: D sees the input beside the output, so it takes input_nc + output_nc channels
  netD = models::define_D(opt.input_nc + opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                          opt.init_type, opt.init_gain, init_gen);
  netD->to(device);
  criterion_gan_ = std::make_unique<models::GANLoss>(opt.gan_mode);
  add_optimizer("G", netG->parameters());
  add_optimizer("D", netD->parameters());
}

std::vector<std::string> Pix2PixModel::loss_names() const { return {"G_GAN", "G_L1", "D_real", "D_fake"}; }

std::vector<std::string> Pix2PixModel::visual_names() const { return {"real_A", "fake_B", "real_B"}; }

std::vector<std::pair<std::string, nn::Module*>> Pix2PixModel::networks() const {
  std::vector<std::pair<std::string, nn::Module*>> v{{"G", netG.get()}};
  if (is_train) v.emplace_back("D", netD.get());
  return v;
}

std::vector<std::pair<std::string, std::vector<std::string>>> Pix2PixModel::loss_charts() const {
  return {{"adversarial losses", {"G_GAN", "D_real", "D_fake"}}, {"L1 loss (times --lambda_L1)", {"G_L1"}}};
}

void Pix2PixModel::set_input(const data::Batch& batch) {
  set_input(batch.A, batch.B);
  image_paths_ = opt.direction == "AtoB" ? batch.A_paths : batch.B_paths;
}

void Pix2PixModel::set_input(const Tensor& A, const Tensor& B) {
  if (!A.defined() || !B.defined()) throw Error("pix2pix model: set_input needs an A and a B batch");
  const bool a_to_b = opt.direction == "AtoB";
  real_A = (a_to_b ? A : B).detach().to(device);
  real_B = (a_to_b ? B : A).detach().to(device);
}

void Pix2PixModel::forward() {
  need_input(real_A.defined(), "forward");
  const Bf16Autocast amp(opt.amp);
  fake_B = generate(*netG, real_A);
}

void Pix2PixModel::backward_D() {
  // Fake: the pair with G's output, detached so that no gradient reaches G
  const Tensor pred_fake = (*netD)(cat1({real_A, fake_B}).detach());
  loss_D_fake = (*criterion_gan_)(pred_fake, false);
  // Real: the pair from the data
  const Tensor pred_real = (*netD)(cat1({real_A, real_B}));
  loss_D_real = (*criterion_gan_)(pred_real, true);
  loss_D = (loss_D_fake + loss_D_real) * 0.5;
  loss_D.backward();
}

void Pix2PixModel::backward_G() {
  // G(A) should fool the discriminator, and be near B
  const Tensor pred_fake = (*netD)(cat1({real_A, fake_B}));
  loss_G_GAN = (*criterion_gan_)(pred_fake, true);
  loss_G_L1 = l1_loss(fake_B, real_B) * opt.get<double>("lambda_L1");
  loss_G = loss_G_GAN + loss_G_L1;
  loss_G.backward();
}

// The official optimize_parameters, one piece of the harness's step (run_step).
void Pix2PixModel::optimize_parameters() {
  nn::Adam &optimizer_D = optimizer("D"), &optimizer_G = optimizer("G");
  run_step(
      {&real_A, &real_B},
      {{[&] {
          forward();
          netD->set_requires_grad(true);
          optimizer_D.zero_grad();
          backward_D();
          update(optimizer_D);
          netD->set_requires_grad(false);  // D takes no gradients from the G step
          optimizer_G.zero_grad();
          backward_G();
          update(optimizer_G);
          record_losses({loss_G_GAN, loss_G_L1, loss_D_real, loss_D_fake});
        },
        {&optimizer_D, &optimizer_G},
        {&fake_B, &loss_D_fake, &loss_D_real, &loss_D, &loss_G_GAN, &loss_G_L1, &loss_G, &loss_values_}}});
}

std::vector<std::pair<std::string, Tensor>> Pix2PixModel::current_visuals() const {
  return {{"real_A", real_A}, {"fake_B", fake_B}, {"real_B", real_B}};
}

}  // namespace cg::pix2pix
