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

// The device --device names (checked by validate_options), after checking that this build and this
// machine can run it: an error that says which is missing otherwise.
Device options_device(const Options& opt);

class CycleGANModel {
 public:
  // Builds and initialises the networks (from a generator seeded with opt.seed) on opt.device; in
  // training mode also the discriminators, losses, pools, optimizers and LR schedules.
  CycleGANModel(const Options& opt, bool is_train);

  // A and B as the dataset delivers them; --direction BtoA swaps them.
  void set_input(const Tensor& A, const Tensor& B);
  void forward();  // fake_B = G_A(real_A), rec_A = G_B(fake_B), fake_A = G_B(real_B), rec_B = G_A(fake_A)
  // forward, the G step with D frozen, then the D step on pooled fakes. On cuda the step after the
  // first of each input shape is captured as two CUDA graphs (generators, discriminators) and then
  // replayed; the image pool draws between them on the host, as in the eager step, so a replayed
  // step equals an eager one bit for bit (with deterministic cuDNN engines). A new input shape, or
  // weights or optimizer state that moved, runs eagerly (and a moved state captures anew).
  void optimize_parameters();
  void test();  // forward without recording

  // Losses by their official names, in the official order:
  // D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B. One copy from the device.
  std::vector<std::pair<std::string, double>> current_losses() const;
  // False once any loss of any step since the model was built was NaN or infinite. The check runs
  // on the device (no copy per step); asking copies one value.
  bool losses_finite() const;
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

  // CUDA graphs for the training step (on cuda only): on unless CG_CUDA_GRAPHS=0 is set.
  bool cuda_graphs = true;
  int graph_replays() const { return graph_replays_; }  // steps run from graphs so far

  struct CapturedStep;  // the graphs and the buffers they read and write (cycle_gan_model.cpp)
  ~CycleGANModel();

 private:
  // Whether every image is normalised on its own (instance norm, or none), so that images joined
  // into one batch give exactly what separate passes give.
  bool per_image_norm() const { return opt.norm == "instance" || opt.norm == "none"; }
  void forward_train();  // forward, with each generator's two independent passes as one batch
  void backward_G();
  Tensor backward_D_basic(nn::Module& netD, const Tensor& real, const Tensor& fake);
  void g_part(bool capturing);  // forward, backward_G and the generators' Adam step
  void d_part(const Tensor& pooled_B, const Tensor& pooled_A, bool capturing);  // both discriminators
  void record_losses();  // the losses into loss_values_, their health into loss_health_
  void eager_step();
  void capture_step();
  void replay_step();
  std::vector<const void*> fingerprint() const;  // every address a captured step baked in
  std::unique_ptr<GANLoss> criterion_gan_;
  Tensor loss_values_;  // (8): the losses of the last step, in current_losses' order
  Tensor loss_health_;  // (): 0 while every loss so far was finite, NaN after
  std::unique_ptr<CapturedStep> captured_;
  Shape warm_A_, warm_B_;  // input shapes an eager step has run at (cuDNN plans, Adam moments)
  bool graphs_failed_ = false;
  int graph_replays_ = 0;
};

}  // namespace cg::cyclegan
