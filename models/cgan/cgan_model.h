// The conditional GAN of GANs in Action, chapter 8 (Mirza and Osindero's conditional GAN on
// MNIST-sized images): min_G max_D E[log D(x|y)] + E[log(1 - D(G(z|y)|y))]. Each iteration, as the
// book's train loop:
//   1. a batch of real images x with their labels y (drawn at random, with replacement);
//   2. D's step on (x, y) with target 1;
//   3. fakes G(z, y) for z ~ N(0, 1) and the same labels, made without gradients by G in training
//      mode (batch statistics; its running ones move), and D's step on them with target 0;
//   4. new z and random labels y', and G's step through D with target 1, D's weights frozen and its
//      batch norms on batch statistics without updating their running ones (Keras's trainable =
//      False inside the combined model).
// One choice differs from the book: its fakes come from generator.predict, which runs Keras's batch
// norms in inference mode (running statistics, momentum 0.99). Built that way (and PyTorch's peer
// of it too), training collapses within 50 iterations: D rejects G's inference-mode fakes, while
// G's training-mode output, which D never sees, fools it (D_real, D_fake and G all below 1e-3, the
// samples a flat grey). D here judges the same training-mode output that G's step optimises.
// Losses: binary cross-entropy on D's logits (the book's sigmoid + binary_crossentropy, computed
// stably); D's reported loss is the mean of its two. Adam(lr, (beta1, 0.999), eps 1e-7), Keras's.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/cgan/cgan_networks.h"
#include "models/common/model.h"

namespace cg::cgan {

using models::Options;

class CGANModel : public models::Model {
 public:
  // own options num_classes classes (> 0) and z_dim noise; weights from Keras's initialisers (nn/init.h)
  // drawn from a generator seeded with opt.seed. In testing only G.
  CGANModel(const Options& opt, bool is_train);

  std::string name() const override { return "cgan"; }
  std::vector<std::string> loss_names() const override;                        // D_real, D_fake, D, G
  std::vector<std::string> visual_names() const override;                      // samples
  std::vector<std::pair<std::string, nn::Module*>> networks() const override;  // G (and D in training)
  std::vector<std::pair<std::string, std::vector<std::string>>> loss_charts() const override;

  void set_input(const data::Batch& batch) override;  // real images (A) and their labels
  void set_input(const Tensor& images, const Tensor& labels);
  // The page's grid: G in inference mode on the fixed noise, one row per class.
  void forward() override;
  // One iteration of the book's loop, its noise and G's labels drawn from the model's generator.
  void optimize_parameters() override;
  // The same with the noise given: z_fake (N, z_dim) makes D's fakes (with the real labels), z_gen
  // (M, z_dim) and labels_gen (M) G's batch. For tests against PyTorch.
  void step(const Tensor& z_fake, const Tensor& z_gen, const Tensor& labels_gen);
  // G in inference mode (running statistics), no gradients: (N, 1, 28, 28) in [-1, 1].
  Tensor generate(const Tensor& z, const Tensor& labels);
  std::vector<std::pair<std::string, Tensor>> current_visuals() const override;

  // The noise and label generator, saved with the training state so that a resumed run draws
  // what an uninterrupted one would.
  void save_state(std::map<std::string, Tensor>& tensors, nlohmann::json& state) const override;
  void load_state(const safetensors::Contents& contents, const nlohmann::json& state) override;

  static constexpr int kGridColumns = 10;  // samples per class on the page
  const int num_classes, z_dim;            // the own options of those names
  std::shared_ptr<CGANGenerator> netG;
  std::shared_ptr<CGANDiscriminator> netD;
  Tensor real, labels;  // (N, 1, 28, 28), (N)
  Tensor loss_D_real, loss_D_fake, loss_D, loss_G;
  Generator noise;  // z and G's labels

 private:
  Tensor fixed_z_, fixed_labels_;  // (K * 10, z_dim), (K * 10): the page's grid
  Tensor grid_;                    // (1, 1, 28 K, 280): the last one drawn
};

// (number of classes, z_dim) of a trained G: the shape of label_emb.weight in `path`. An error
// names the file when it is not a conditional GAN's generator.
std::pair<int, int> generator_shape(const std::string& path);

}  // namespace cg::cgan
