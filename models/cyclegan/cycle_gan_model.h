// The CycleGAN model (the official models/cycle_gan_model.py): two generators (G_A: A -> B, G_B:
// B -> A), two discriminators (D_A judges domain B, D_B judges domain A), their losses and
// optimizers, and the official training step.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/common/model.h"
#include "models/cyclegan/image_pool.h"
#include "models/networks/gan_loss.h"

namespace cg::cyclegan {

using models::Options;

class CycleGANModel : public models::Model {
 public:
  // Builds and initialises the networks (from a generator seeded with opt.seed) on opt.device; in
  // training mode also the discriminators, losses, pools, optimizers and LR schedules.
  CycleGANModel(const Options& opt, bool is_train);

  std::string name() const override { return "cycle_gan"; }
  // D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B
  std::vector<std::string> loss_names() const override;
  // real_A, fake_B, rec_A, (idt_B), real_B, fake_A, rec_B, (idt_A): idt_* in training with
  // --lambda_identity > 0
  std::vector<std::string> visual_names() const override;
  // G_A, G_B, D_A, D_B (the discriminators in training only)
  std::vector<std::pair<std::string, nn::Module*>> networks() const override;
  std::vector<std::pair<std::string, std::vector<std::string>>> loss_charts() const override;

  void set_input(const data::Batch& batch) override;
  void set_input(const Tensor& A, const Tensor& B);  // A and B as the dataset delivers them
  // fake_B = G_A(real_A), rec_A = G_B(fake_B), fake_A = G_B(real_B), rec_B = G_A(fake_A)
  void forward() override;
  // forward, the G step with D frozen, then the D step on pooled fakes. On cuda the step after the
  // first of each input shape is captured as two graphs (generators, discriminators) and then
  // replayed; the image pool draws between them on the host, as in the eager step, so a replayed
  // step equals an eager one bit for bit (with deterministic cuDNN engines).
  void optimize_parameters() override;
  std::vector<std::pair<std::string, Tensor>> current_visuals() const override;

  // Both image pools and their random generator.
  void save_state(std::map<std::string, Tensor>& tensors, nlohmann::json& state) const override;
  void load_state(const safetensors::Contents& contents, const nlohmann::json& state) override;

  std::shared_ptr<nn::Module> netG_A, netG_B, netD_A, netD_B;
  ImagePool fake_A_pool{0}, fake_B_pool{0};
  Generator pool_generator;  // the pools' random draws (saved with the training state)

  Tensor real_A, real_B, fake_A, fake_B, rec_A, rec_B, idt_A, idt_B;
  Tensor loss_D_A, loss_G_A, loss_cycle_A, loss_idt_A, loss_D_B, loss_G_B, loss_cycle_B, loss_idt_B, loss_G;

 private:
  // Whether every image is normalised on its own (instance norm, or none), so that images joined
  // into one batch give exactly what separate passes give.
  bool per_image_norm() const { return opt.norm == "instance" || opt.norm == "none"; }
  void forward_train();  // forward, with each generator's two independent passes as one batch
  void backward_G();
  Tensor backward_D_basic(nn::Module& netD, const Tensor& real, const Tensor& fake);
  void g_part();                // forward, backward_G and the generators' Adam step
  void d_part();                // both discriminators, on pooled_B_ and pooled_A_
  Tensor pooled_A_, pooled_B_;  // the pools' answers for this step's discriminator piece
  std::unique_ptr<models::GANLoss> criterion_gan_;
};

}  // namespace cg::cyclegan
