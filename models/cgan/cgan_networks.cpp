#include "models/cgan/cgan_networks.h"

#include "ops/ops.h"

namespace cg::cgan {

using nn::BatchNorm2d;
using nn::Conv2d;
using nn::ConvTranspose2d;
using nn::LeakyReLU;

CGANGenerator::CGANGenerator(int64_t classes, int64_t z) : num_classes(classes), z_dim(z) {
  label_emb = register_module("label_emb", std::make_shared<nn::Embedding>(num_classes, z_dim));
  fc = register_module("fc", std::make_shared<nn::Linear>(z_dim, 256 * 7 * 7));
  net = register_module("net", std::make_shared<nn::Sequential>());
  net->add(std::make_shared<ConvTranspose2d>(256, 128, 3, 2, 1, 1))  // 7 -> 14
      .add(std::make_shared<BatchNorm2d>(128, kBatchNormEps, kBatchNormMomentum))
      .add(std::make_shared<LeakyReLU>(kLeakySlope))
      .add(std::make_shared<ConvTranspose2d>(128, 64, 3, 1, 1))  // 14 -> 14
      .add(std::make_shared<BatchNorm2d>(64, kBatchNormEps, kBatchNormMomentum))
      .add(std::make_shared<LeakyReLU>(kLeakySlope))
      .add(std::make_shared<ConvTranspose2d>(64, 1, 3, 2, 1, 1))  // 14 -> 28
      .add(std::make_shared<nn::Tanh>());
}

Tensor CGANGenerator::forward(const Tensor&) {
  throw Error("CGANGenerator takes noise and labels: call forward(z, labels)");
}

Tensor CGANGenerator::forward(const Tensor& z, const Tensor& labels) {
  if (z.ndim() != 2 || z.size(1) != z_dim || labels.ndim() != 1 || labels.size(0) != z.size(0))
    throw Error("CGANGenerator: z " + z.describe() + " and labels " + labels.describe() + " must be (N, " +
                std::to_string(z_dim) + ") and (N)");
  // the label steers the noise: each class scales z's coordinates by its own learned vector
  const Tensor h = (*fc)(z * (*label_emb)(labels));  // (N, 256*7*7)
  return (*net)(h.reshape({z.size(0), 256, 7, 7}));  // (N, 1, 28, 28)
}

CGANDiscriminator::CGANDiscriminator(int64_t classes) : num_classes(classes) {
  label_emb =
      register_module("label_emb", std::make_shared<nn::Embedding>(num_classes, kImageSize * kImageSize));
  net = register_module("net", std::make_shared<nn::Sequential>());
  net->add(std::make_shared<Conv2d>(2, 64, 3, 2, 1))  // 28 -> 14
      .add(std::make_shared<LeakyReLU>(kLeakySlope))
      .add(std::make_shared<Conv2d>(64, 64, 3, 2, 1))  // 14 -> 7
      .add(std::make_shared<BatchNorm2d>(64, kBatchNormEps, kBatchNormMomentum))
      .add(std::make_shared<LeakyReLU>(kLeakySlope))
      .add(std::make_shared<Conv2d>(64, 128, 3, 2, 1))  // 7 -> 4
      .add(std::make_shared<BatchNorm2d>(128, kBatchNormEps, kBatchNormMomentum))
      .add(std::make_shared<LeakyReLU>(kLeakySlope))
      .add(std::make_shared<nn::Flatten>())
      .add(std::make_shared<nn::Linear>(128 * 4 * 4, 1));
}

Tensor CGANDiscriminator::forward(const Tensor&) {
  throw Error("CGANDiscriminator takes images and labels: call forward(images, labels)");
}

Tensor CGANDiscriminator::forward(const Tensor& images, const Tensor& labels) {
  if (images.ndim() != 4 || images.size(1) != 1 || images.size(2) != kImageSize ||
      images.size(3) != kImageSize || labels.ndim() != 1 || labels.size(0) != images.size(0))
    throw Error("CGANDiscriminator: images " + images.describe() + " and labels " + labels.describe() +
                " must be (N, 1, 28, 28) and (N)");
  // the label as a second image channel: D judges the pair (image, class), not the image alone
  const Tensor label_plane = (*label_emb)(labels).reshape({images.size(0), 1, kImageSize, kImageSize});
  return (*net)(cat1({images, label_plane}));  // (N, 1)
}

void CGANDiscriminator::freeze_statistics(bool frozen) {
  for (auto& [path, m] : named_modules())
    if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) bn->update_running_stats = !frozen;
}

}  // namespace cg::cgan
