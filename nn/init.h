// Weight initialisation as the official CycleGAN's --init_type: every Conv2d, ConvTranspose2d and
// Linear weight drawn by the chosen rule, every bias set to 0.
#pragma once

#include <string>

#include "nn/module.h"

namespace cg::nn {

// type: "normal" (N(0, gain)), "xavier" (xavier_normal, gain), "kaiming" (kaiming_normal, a=0,
// fan_in) or "orthogonal" (gain). Fans follow PyTorch: fan_in = size(1) * kh * kw, also for the
// transposed convolution's (in, out, kh, kw) weight.
void init_weights(Module& net, const std::string& type, double gain, Generator& gen);
// Keras's defaults, which the conditional GAN of GANs in Action trains from: glorot_uniform
// weights and zero biases for Conv2d, ConvTranspose2d and Linear, U(-0.05, 0.05) for Embedding,
// batch norm's weight 1 and bias 0.
void init_keras(Module& net, Generator& gen);
// Whether init_weights knows `type` (normal, xavier, kaiming, orthogonal).
bool known_init_type(const std::string& type);

}  // namespace cg::nn
