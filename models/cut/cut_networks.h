// CUT's networks (models/networks.py of taesungp/contrastive-unpaired-translation at b3ac297), layer
// for layer, so that state-dict keys and shapes are the official ones: the antialiased ResNet
// generator with its encoder features, the antialiased PatchGAN, and PatchSampleF (the projection
// head F). The blurs' fixed filters are `filt` buffers, saved with the weights as the official saves
// them. ResnetBlock, the pixel discriminator and the norm layers are the harness's
// (models/networks/), which equal the official CycleGAN's and CUT's alike.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/module.h"

namespace cg::cut {

// networks.py's get_filter(k) times `scale`, one copy per channel: the outer product of the
// binomial row of length k (1 <= k <= 7), summed to scale; (channels, 1, k, k).
Tensor blur_filter(int64_t channels, int k, double scale);

// Downsample(channels) with its defaults (pad_type 'reflect', filt_size 3, stride 2): reflection
// pad 1 on every side, then the depthwise blur at stride 2: (N, C, H, W) -> (N, C, ceil(H/2),
// ceil(W/2)). Buffer `filt` (C, 1, 3, 3), the binomial [1, 2, 1] x [1, 2, 1] / 16.
class Downsample : public nn::Module {
 public:
  explicit Downsample(int64_t channels);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Downsample"; }
  Tensor filt;

 private:
  int64_t channels_;
};

// Upsample(channels) with its defaults (pad_type 'repl', filt_size 4, stride 2): replication pad 1,
// the transposed depthwise blur at stride 2 with padding 2, then [1:, 1:] and, the filter being
// even, [:-1, :-1]: (N, C, H, W) -> (N, C, 2H, 2W). Buffer `filt` (C, 1, 4, 4), the binomial
// [1, 3, 3, 1] x [1, 3, 3, 1] / 64 times stride^2 = 4.
class Upsample : public nn::Module {
 public:
  explicit Upsample(int64_t channels);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Upsample"; }
  Tensor filt;

 private:
  int64_t channels_;
};

// CUT's ResnetGenerator: ReflectionPad(3), Conv7x7 (in -> ngf), Norm, ReLU; two downsamplings,
// each Conv3x3 stride 1 + Norm + ReLU + Downsample (--no_antialias: Conv3x3 stride 2 + Norm + ReLU);
// n_blocks ResnetBlocks; two upsamplings, each Upsample + Conv3x3 + Norm + ReLU (--no_antialias_up:
// ConvTranspose3x3 stride 2 + Norm + ReLU); ReflectionPad(3), Conv7x7 (ngf -> out), Tanh. Children:
// one Sequential named "model", indexed as PyTorch's (32 layers at 9 blocks, antialiased).
class ResnetGenerator : public nn::Module {
 public:
  ResnetGenerator(int input_nc, int output_nc, int ngf, const std::string& norm, bool use_dropout,
                  int n_blocks, bool no_antialias, bool no_antialias_up);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResnetGenerator"; }

  // forward(x, layers, encode_only=True): the features at the layers `layers` (PyTorch indices,
  // strictly increasing, each < num_layers()), the forward stopping after the last of them. A
  // feature is what the official's list holds when it returns: its ReLU(inplace=True) layers
  // overwrite the tensor before them (and an Identity norm passes that same tensor on), so the
  // feature of a norm layer (or, with --normG none, of the convolution before it) is its ReLU's
  // output unless the forward stopped there.
  std::vector<Tensor> encode(const Tensor& x, const std::vector<int>& layers);
  int num_layers() const { return num_layers_; }  // len(self.model)
  int64_t channels_at(int layer) const;           // channels of layer `layer`'s output

 private:
  // One child of the Sequential: the PyTorch indices it covers (a fused norm + ReLU covers two).
  struct Layer {
    int first, places;
    std::shared_ptr<nn::Module> module;
  };
  void add(std::shared_ptr<nn::Module> m, int64_t out_channels);
  std::shared_ptr<nn::Sequential> model_;
  std::vector<Layer> layers_;
  std::vector<int64_t> channels_;  // per PyTorch index
  int num_layers_ = 0;
};

// The number of layers of the generator above (len(self.model)), for checking --nce_layers.
int generator_layers(int n_blocks, bool no_antialias, bool no_antialias_up);

// CUT's NLayerDiscriminator: Conv4x4 stride 1 (in -> ndf) + LeakyReLU 0.2 + Downsample; for n in
// 1..n_layers-1: Conv4x4 stride 1 (-> ndf min(2^n, 8)) + Norm + LeakyReLU + Downsample; Conv4x4
// stride 1 + Norm + LeakyReLU; Conv4x4 stride 1 -> 1. All padding 1. --no_antialias: stride-2
// convolutions and no Downsample (CycleGAN's PatchGAN). 30x30 output at 256x256, as CycleGAN's.
class NLayerDiscriminator : public nn::Module {
 public:
  NLayerDiscriminator(int input_nc, int ndf, int n_layers, const std::string& norm, bool no_antialias);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "NLayerDiscriminator"; }

 private:
  std::shared_ptr<nn::Sequential> model_;
};

// PatchSampleF (--netF mlp_sample; `sample` without the MLPs): for each feature layer i,
// mlp_<i> = Sequential(Linear(C_i, nc), ReLU, Linear(nc, nc)) (keys mlp_<i>.0.weight, mlp_<i>.2.bias,
// ...), built here from the known channels where the official builds them at its first batch.
class PatchSampleF : public nn::Module {
 public:
  PatchSampleF(const std::vector<int64_t>& channels, int64_t nc, bool use_mlp);
  // F takes a list of features: sample() is its forward.
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PatchSampleF"; }

  // feats[i] (B, C_i, H_i, W_i) and positions ids[i] (P_i indices into H_i W_i, the same for every
  // image) -> (B P_i, nc) per layer: the rows feat[b, :, id] in (b, id) order, through mlp_<i>, then
  // L2-normalised (x / (|x| + 1e-7)).
  std::vector<Tensor> sample(const std::vector<Tensor>& feats, const std::vector<std::vector<int64_t>>& ids);

 private:
  std::vector<std::shared_ptr<nn::Sequential>> mlps_;
  bool use_mlp_;
};

// As the official define_G / define_D / define_F for CUT, initialised with init_type / init_gain
// (the official init_net): netG resnet_<N>blocks; netD basic | n_layers | pixel; F over the feature
// channels of the NCE layers.
std::shared_ptr<ResnetGenerator> define_G(int input_nc, int output_nc, int ngf, const std::string& netG,
                                          const std::string& norm, bool use_dropout, bool no_antialias,
                                          bool no_antialias_up, const std::string& init_type,
                                          double init_gain, Generator& gen);
std::shared_ptr<nn::Module> define_D(int input_nc, int ndf, const std::string& netD, int n_layers_D,
                                     const std::string& norm, bool no_antialias, const std::string& init_type,
                                     double init_gain, Generator& gen);
std::shared_ptr<PatchSampleF> define_F(const std::vector<int64_t>& channels, const std::string& netF,
                                       int64_t nc, const std::string& init_type, double init_gain,
                                       Generator& gen);

// The N of resnet_<N>blocks, or -1 for another name.
int resnet_blocks(const std::string& netG);

}  // namespace cg::cut
