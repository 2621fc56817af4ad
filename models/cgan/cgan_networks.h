// The conditional GAN of GANs in Action (chapter 8), in PyTorch's conventions (NCHW; padding 1 for
// a 3x3 'same' convolution; ConvTranspose2d(3, stride 2, padding 1, output_padding 1) for a stride-2
// 'same' transposed one, which doubles the size). The state-dict keys are those of the PyTorch
// modules in scripts/cyclegan_reference.py (CGANGenerator, CGANDiscriminator).
#pragma once

#include <memory>

#include "nn/layers.h"

namespace cg::cgan {

// Batch norm as Keras's BatchNormalization(): momentum 0.99 there is PyTorch's 0.01, epsilon 1e-3.
inline constexpr double kBatchNormMomentum = 0.01, kBatchNormEps = 1e-3;
inline constexpr double kLeakySlope = 0.01;  // Keras's LeakyReLU(alpha=0.01) in the book
inline constexpr int kImageSize = 28;

// G(z, y): z (N, z_dim) times label_emb(y) (N, z_dim), then fc to (N, 256*7*7), viewed (N, 256, 7, 7),
// then net: ConvT(256->128, s2) BN LeakyReLU, ConvT(128->64, s1) BN LeakyReLU, ConvT(64->1, s2) tanh:
// (N, 1, 28, 28) in [-1, 1].
class CGANGenerator : public nn::Module {
 public:
  CGANGenerator(int64_t num_classes, int64_t z_dim);
  Tensor forward(const Tensor& x) override;  // an error: G takes (z, labels)
  Tensor forward(const Tensor& z, const Tensor& labels);
  std::string type_name() const override { return "CGANGenerator"; }
  int64_t num_classes, z_dim;
  std::shared_ptr<nn::Embedding> label_emb;  // (num_classes, z_dim)
  std::shared_ptr<nn::Linear> fc;            // z_dim -> 256*7*7
  std::shared_ptr<nn::Sequential> net;
};

// D(x, y): cat(x (N, 1, 28, 28), label_emb(y) viewed (N, 1, 28, 28)) on the channels, then net:
// Conv(2->64, s2) LeakyReLU, Conv(64->64, s2) BN LeakyReLU, Conv(64->128, s2) BN LeakyReLU
// (28 -> 14 -> 7 -> 4), flatten, Linear(128*4*4 -> 1): one logit per image, (N, 1).
class CGANDiscriminator : public nn::Module {
 public:
  explicit CGANDiscriminator(int64_t num_classes);
  Tensor forward(const Tensor& x) override;  // an error: D takes (images, labels)
  Tensor forward(const Tensor& images, const Tensor& labels);
  std::string type_name() const override { return "CGANDiscriminator"; }
  // The batch norms' running statistics follow training mode unless frozen (the G step, as
  // Keras's D with trainable = False inside the combined model: batch statistics, no updates).
  void freeze_statistics(bool frozen);
  int64_t num_classes;
  std::shared_ptr<nn::Embedding> label_emb;  // (num_classes, 28*28)
  std::shared_ptr<nn::Sequential> net;
};

}  // namespace cg::cgan
