// The CUT and FastCUT model (models/cut_model.py of taesungp/contrastive-unpaired-translation at
// b3ac297): one generator G (A -> B), one discriminator D judging domain B, and the projection head
// F; the loss is the GAN loss plus PatchNCE between the encoder features of G's input and of its
// output (and, with --nce_idt, of real_B and G(real_B)). --CUT_mode FastCUT: a stronger PatchNCE
// (--lambda_NCE 10), no identity term, and flip equivariance.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/common/model.h"
#include "models/cut/cut_networks.h"
#include "models/cut/patchnce.h"
#include "models/networks/gan_loss.h"

namespace cg::cut {

using models::Options;

class CUTModel : public models::Model {
 public:
  // Builds G on opt.device from a generator seeded with opt.seed; in training also D and F (F from
  // the channels of G's features at --nce_layers, where the official builds it at its first batch),
  // the losses and the three Adams (G, D, F), each with its LR schedule.
  CUTModel(const Options& opt, bool is_train);

  std::string name() const override { return "cut"; }
  // G_GAN, D_real, D_fake, G, NCE, and NCE_Y in training with --nce_idt
  std::vector<std::string> loss_names() const override;
  // real_A, fake_B, real_B, and idt_B in training with --nce_idt
  std::vector<std::string> visual_names() const override;
  // G, F, D in training (the official model_names); G alone in testing
  std::vector<std::pair<std::string, nn::Module*>> networks() const override;
  std::vector<std::pair<std::string, std::vector<std::string>>> loss_charts() const override;

  void set_input(const data::Batch& batch) override;
  void set_input(const Tensor& A, const Tensor& B);  // A and B as the dataset delivers them
  // real = real_A (and real_B after it with --nce_idt, in training), flipped along the width with
  // probability 1/2 under --flip_equivariance (training only); fake_B = G(real)[:N], idt_B the rest.
  void forward() override;
  // The official optimize_parameters: forward; D's Adam step on (fake_B detached, real_B); then G's
  // and F's together on the GAN and PatchNCE losses, D frozen. Eager on every device: the patch
  // positions and class numbers are read on the host.
  void optimize_parameters() override;
  std::vector<std::pair<std::string, Tensor>> current_visuals() const override;

  // The generator of the flips and patch positions.
  void save_state(std::map<std::string, Tensor>& tensors, nlohmann::json& state) const override;
  void load_state(const safetensors::Contents& contents, const nlohmann::json& state) override;

  std::shared_ptr<ResnetGenerator> netG;
  std::shared_ptr<PatchSampleF> netF;
  std::shared_ptr<nn::Module> netD;
  Generator patch_generator;  // flip draws and patch positions, in that order (saved with the state)
  bool flipped_for_equivariance = false;  // the last forward's draw

  Tensor real_A, real_B, real, fake, fake_B, idt_B;
  Tensor loss_D_fake, loss_D_real, loss_D, loss_G_GAN, loss_NCE, loss_NCE_Y, loss_G;

 private:
  bool nce_idt() const;
  Tensor compute_D_loss();
  Tensor compute_G_loss();
  // PatchNCE between G's features of src (the keys) and of tgt (the queries), averaged over the
  // NCE layers: each layer's positions drawn once (a random permutation's first --num_patches) and
  // used for both.
  Tensor calculate_NCE_loss(const Tensor& src, const Tensor& tgt);
  std::vector<int64_t> draw_positions(int64_t count);
  std::vector<int> nce_layers_;
  std::unique_ptr<models::GANLoss> criterion_gan_;
  std::unique_ptr<PatchNCELoss> criterion_nce_;
};

// --nce_layers "0,4,8,12,16" as numbers; an error naming the flag for anything else.
std::vector<int> parse_nce_layers(const std::string& text);

}  // namespace cg::cut
