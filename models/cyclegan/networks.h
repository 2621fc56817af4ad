// The official CycleGAN networks, layer for layer, so that state-dict keys and shapes are the
// official ones (model.1.weight, model.10.conv_block.1.weight, ...).
#pragma once

#include <memory>
#include <string>

#include "nn/layers.h"
#include "nn/module.h"

namespace cg::cyclegan {

// [ReflectionPad(1), Conv3x3, Norm, ReLU, (Dropout 0.5), ReflectionPad(1), Conv3x3, Norm] + skip.
class ResnetBlock : public nn::Module {
 public:
  ResnetBlock(int64_t dim, const std::string& norm, bool use_dropout, bool use_bias);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResnetBlock"; }

 private:
  std::shared_ptr<nn::Sequential> conv_block_;
};

// ReflectionPad(3), Conv7x7 (in -> ngf), Norm, ReLU; two stride-2 Conv3x3 down (ngf -> 2ngf ->
// 4ngf) + Norm + ReLU; n_blocks ResnetBlocks; two ConvTranspose3x3 up + Norm + ReLU; ReflectionPad(3),
// Conv7x7 (ngf -> out), Tanh. Children: one Sequential named "model".
class ResnetGenerator : public nn::Module {
 public:
  ResnetGenerator(int input_nc, int output_nc, int ngf, const std::string& norm, bool use_dropout,
                  int n_blocks);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResnetGenerator"; }

 private:
  std::shared_ptr<nn::Sequential> model_;
};

// PatchGAN: Conv4x4 s2 (in -> ndf) + LeakyReLU 0.2; n_layers-1 of Conv4x4 s2 + Norm + LeakyReLU with
// channels ndf * min(2^n, 8); Conv4x4 s1 + Norm + LeakyReLU; Conv4x4 s1 -> 1. All padding 1.
class NLayerDiscriminator : public nn::Module {
 public:
  NLayerDiscriminator(int input_nc, int ndf, int n_layers, const std::string& norm);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "NLayerDiscriminator"; }

 private:
  std::shared_ptr<nn::Sequential> model_;
};

// 1x1 PatchGAN: Conv1x1 (in -> ndf) + LeakyReLU, Conv1x1 (-> 2ndf) + Norm + LeakyReLU, Conv1x1 (-> 1).
// Children: one Sequential named "net".
class PixelDiscriminator : public nn::Module {
 public:
  PixelDiscriminator(int input_nc, int ndf, const std::string& norm);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PixelDiscriminator"; }

 private:
  std::shared_ptr<nn::Sequential> net_;
};

// As the official define_G / define_D: builds the network (netG resnet_9blocks | resnet_6blocks;
// netD basic | n_layers | pixel) and initialises it with init_type / init_gain.
std::shared_ptr<nn::Module> define_G(int input_nc, int output_nc, int ngf, const std::string& netG,
                                     const std::string& norm, bool use_dropout, const std::string& init_type,
                                     double init_gain, Generator& gen);
std::shared_ptr<nn::Module> define_D(int input_nc, int ndf, const std::string& netD, int n_layers_D,
                                     const std::string& norm, const std::string& init_type, double init_gain,
                                     Generator& gen);

}  // namespace cg::cyclegan
