// The pix2pix model (the official models/pix2pix_model.py at 2a7afba, Isola et al. 2017): a
// generator G (by default the U-Net unet_256 with batch norm and dropout) that maps A to B, and a
// conditional PatchGAN D that judges (input, output) pairs, joined on the channels, so it takes
// input_nc + output_nc channels. Trained on paired data with a GAN loss (vanilla by default) plus
// lambda_L1 times L1(G(A), B).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/common/model.h"
#include "models/networks/gan_loss.h"

namespace cg::pix2pix {

using models::Options;

class Pix2PixModel : public models::Model {
 public:
  // Builds and initialises G (and in training D, the GAN loss and one Adam per network) from a
  // generator seeded with opt.seed, on opt.device.
  Pix2PixModel(const Options& opt, bool is_train);

  std::string name() const override { return "pix2pix"; }
  std::vector<std::string> loss_names() const override;    // G_GAN, G_L1, D_real, D_fake
  std::vector<std::string> visual_names() const override;  // real_A, fake_B, real_B
  // G, and D in training (the official model_names)
  std::vector<std::pair<std::string, nn::Module*>> networks() const override;
  std::vector<std::pair<std::string, std::vector<std::string>>> loss_charts() const override;

  void set_input(const data::Batch& batch) override;
  void set_input(const Tensor& A, const Tensor& B);  // A and B as the dataset delivers them
  void forward() override;                           // fake_B = G(real_A)
  // forward; the D step on cat(A, G(A)).detach() (fake) and cat(A, B) (real), loss (fake +
  // real) * 0.5; then the G step with D frozen: GAN(D(cat(A, G(A))), real) + lambda_L1 * L1(G(A), B).
  // One piece of the captured step (nn/captured_step.h) on cuda, when dropout is off.
  void optimize_parameters() override;
  std::vector<std::pair<std::string, Tensor>> current_visuals() const override;

  std::shared_ptr<nn::Module> netG, netD;
  Tensor real_A, real_B, fake_B;
  Tensor loss_D_fake, loss_D_real, loss_D, loss_G_GAN, loss_G_L1, loss_G;

 private:
  void backward_D();
  void backward_G();
  std::unique_ptr<models::GANLoss> criterion_gan_;
};

}  // namespace cg::pix2pix
