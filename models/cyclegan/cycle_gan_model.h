// The CycleGAN model: two generators (G_A: A -> B, G_B: B -> A), two discriminators (D_A judges
// domain B, D_B judges domain A), their losses and optimizers, and the official training step.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/cyclegan/gan_loss.h"
#include "models/cyclegan/image_pool.h"
#include "models/cyclegan/options.h"
#include "nn/adam.h"
#include "nn/lr_schedule.h"
#include "nn/module.h"

namespace cg::cyclegan {

class CycleGANModel {
 public:
  // Builds and initialises the networks (from a generator seeded with opt.seed) on opt.device; in
  // training mode also the discriminators, losses, pools, optimizers and LR schedules.
  CycleGANModel(const Options& opt, bool is_train);

  // A and B as the dataset delivers them; --direction BtoA swaps them.
  void set_input(const Tensor& A, const Tensor& B);
  void forward();  // fake_B = G_A(real_A), rec_A = G_B(fake_B), fake_A = G_B(real_B), rec_B = G_A(fake_A)
  void optimize_parameters();  // forward, G step with D frozen, then the D step on pooled fakes
  void test();                 // forward without recording

  // Losses by their official names, in the official order:
  // D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B.
  std::vector<std::pair<std::string, double>> current_losses() const;
  // real_A, fake_B, rec_A, (idt_B), real_B, fake_A, rec_B, (idt_A): the official visual names.
  std::vector<std::pair<std::string, Tensor>> current_visuals() const;

  // Steps both schedules (once per epoch) and sets the optimizers' LR; returns {old, new}.
  std::pair<double, double> update_learning_rate();
  double lr() const { return optimizer_G->lr(); }

  // The four networks as (name, module): G_A, G_B, D_A, D_B (the last two in training mode only).
  std::vector<std::pair<std::string, nn::Module*>> networks() const;

  Options opt;
  bool is_train;
  Device device;
  std::shared_ptr<nn::Module> netG_A, netG_B, netD_A, netD_B;
  std::unique_ptr<nn::Adam> optimizer_G, optimizer_D;
  std::unique_ptr<nn::LRSchedule> scheduler_G, scheduler_D;
  ImagePool fake_A_pool{0}, fake_B_pool{0};
  Generator pool_generator;  // the pools' random draws (saved with the training state)

  Tensor real_A, real_B, fake_A, fake_B, rec_A, rec_B, idt_A, idt_B;
  Tensor loss_D_A, loss_G_A, loss_cycle_A, loss_idt_A, loss_D_B, loss_G_B, loss_cycle_B, loss_idt_B, loss_G;

 private:
  void backward_G();
  Tensor backward_D_basic(nn::Module& netD, const Tensor& real, const Tensor& fake);
  std::unique_ptr<GANLoss> criterion_gan_;
};

}  // namespace cg::cyclegan
