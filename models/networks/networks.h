// The official networks (models/networks.py of pytorch-CycleGAN-and-pix2pix), layer for layer, so
// that state-dict keys and shapes are the official ones (model.1.weight,
// model.10.conv_block.1.weight, ...). CycleGAN, pix2pix and the test model build theirs from here.
#pragma once

#include <memory>
#include <string>

#include "nn/layers.h"
#include "nn/module.h"

namespace cg::models {

// The official get_norm_layer(norm)(channels): InstanceNorm2d (affine=False), BatchNorm2d (affine,
// running statistics; "syncbatch": over every rank's batch) or an identity for "none".
std::shared_ptr<nn::Module> norm_layer(const std::string& norm, int64_t channels);
// Appends norm_layer(norm) and ReLU (slope 0) or LeakyReLU(slope) to `m`; an instance norm and its
// activation as one fused layer (nn::InstanceNormAct) under the same two indices.
void add_norm_act(nn::Sequential& m, const std::string& norm, int64_t channels, double slope);
// The official use_bias: convolutions before an instance norm have a bias, before batch norm (which
// has its own) or none they have none.
bool bias_for(const std::string& norm);

// [ReflectionPad(1), Conv3x3, Norm, ReLU, (Dropout 0.5), ReflectionPad(1), Conv3x3, Norm] + skip.
class ResnetBlock : public nn::Module {
 public:
  ResnetBlock(int64_t dim, const std::string& norm, bool use_dropout, bool use_bias);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResnetBlock"; }
  nn::Structure structure() const override { return nn::Structure::kResidual; }
  // --recompute: the block keeps only its input for backward and runs conv_block again there
  // (ops/checkpoint.h): the same gradients, less memory, more time.
  bool recompute = false;

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
  nn::Structure structure() const override { return nn::Structure::kChain; }
  // --recompute: the layers before the first ResNet block (the encoder) and those after the last
  // (the decoder) each run as one recomputed part (ops/checkpoint.h), the blocks as their own.
  bool recompute = false;

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

// The official U-Net block: a downsampling, `submodule`, an upsampling, and (except outermost) the
// block's input joined to its output along the channels. Children: one Sequential named "model",
// so keys nest as model.model.1.model.3.model.1.weight.
class UnetSkipConnectionBlock : public nn::Module {
 public:
  enum class Position { Outermost, Middle, Innermost };
  // input_nc < 0: the same as outer_nc.
  UnetSkipConnectionBlock(int outer_nc, int inner_nc, int input_nc, std::shared_ptr<nn::Module> submodule,
                          Position pos, const std::string& norm, bool use_dropout);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "UnetSkipConnectionBlock"; }
  nn::Structure structure() const override {
    return outermost_ ? nn::Structure::kChain : nn::Structure::kConcat;
  }
  bool outermost() const { return outermost_; }  // the outermost block returns no skip (ONNX export)

 private:
  bool outermost_;
  std::shared_ptr<nn::Sequential> model_;
};

// The official UnetGenerator: num_downs blocks (7: unet_128, 8: unet_256) with channels ngf, 2ngf,
// 4ngf, then 8ngf for the rest; dropout (when on) in the 8ngf blocks between the innermost and the
// three outer ones. Input sides must be multiples of 2^num_downs.
class UnetGenerator : public nn::Module {
 public:
  UnetGenerator(int input_nc, int output_nc, int num_downs, int ngf, const std::string& norm,
                bool use_dropout);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "UnetGenerator"; }
  nn::Structure structure() const override { return nn::Structure::kChain; }
  void check_input(const Shape& x) const override;

 private:
  int num_downs_;
  std::shared_ptr<UnetSkipConnectionBlock> model_;
};

// As the official define_G / define_D: builds the network (netG resnet_9blocks | resnet_6blocks |
// unet_128 | unet_256; netD basic | n_layers | pixel) and initialises it with init_type /
// init_gain. An unknown name is an error that names the flag (--netG, --netD).
std::shared_ptr<nn::Module> define_G(int input_nc, int output_nc, int ngf, const std::string& netG,
                                     const std::string& norm, bool use_dropout, const std::string& init_type,
                                     double init_gain, Generator& gen);
std::shared_ptr<nn::Module> define_D(int input_nc, int ndf, const std::string& netD, int n_layers_D,
                                     const std::string& norm, const std::string& init_type, double init_gain,
                                     Generator& gen);

// --recompute: sets `recompute` on every ResNet generator and ResNet block under `net`; returns
// how many generators and blocks there are.
int recompute_resnet(nn::Module& net, bool on);

// Whether define_G / define_D know the name; the U-Nets' number of downsamplings (0 for others).
bool known_generator(const std::string& netG);
bool known_discriminator(const std::string& netD);
int unet_downsamplings(const std::string& netG);

}  // namespace cg::models
