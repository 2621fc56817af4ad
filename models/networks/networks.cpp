#include "models/networks/networks.h"

#include <algorithm>

#include "nn/init.h"
#include "ops/checkpoint.h"
#include "ops/ops.h"

namespace cg::models {

// The official norm_layer: InstanceNorm2d(affine=False), BatchNorm2d(affine=True, running
// statistics), or an identity for "none". It decides use_bias too: convolutions before an instance
// norm keep their bias; with batch norm (which has its own) and with "none" they have none.
namespace {
class Identity : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
  nn::Structure structure() const override { return nn::Structure::kChain; }  // of no children
};
}  // namespace

std::shared_ptr<nn::Module> norm_layer(const std::string& norm, int64_t channels) {
  if (norm == "instance") return std::make_shared<nn::InstanceNorm2d>(channels);
  if (norm == "batch") return std::make_shared<nn::BatchNorm2d>(channels);
  if (norm == "syncbatch") {  // the same layer and keys; its statistics span the ranks
    auto bn = std::make_shared<nn::BatchNorm2d>(channels);
    bn->sync_ranks = true;
    return bn;
  }
  if (norm == "none") return std::make_shared<Identity>();
  throw Error("--norm '" + norm + "': normalization layer [" + norm +
              "] is not found (expected instance, batch, syncbatch or none)");
}

// norm_layer(norm) followed by ReLU (slope 0) or LeakyReLU(slope). An instance norm and its
// activation are built as one fused layer, nn::InstanceNormAct: the same numbers in one pass
// fewer each way, under the same two indices.
void add_norm_act(nn::Sequential& m, const std::string& norm, int64_t channels, double slope) {
  if (norm == "instance") {
    m.add(std::make_shared<nn::InstanceNormAct>(channels, slope));
    return;
  }
  m.add(norm_layer(norm, channels));
  if (slope == 0)
    m.add(std::make_shared<nn::ReLU>());
  else
    m.add(std::make_shared<nn::LeakyReLU>(slope));
}

bool bias_for(const std::string& norm) {
  norm_layer(norm, 1);  // validates the name
  return norm == "instance";
}

ResnetBlock::ResnetBlock(int64_t dim, const std::string& norm, bool use_dropout, bool use_bias) {
  conv_block_ = register_module("conv_block", std::make_shared<nn::Sequential>());
  conv_block_->add(std::make_shared<nn::ReflectionPad2d>(1));
  conv_block_->add(std::make_shared<nn::Conv2d>(dim, dim, 3, 1, 0, use_bias));
  add_norm_act(*conv_block_, norm, dim, 0.0);
  if (use_dropout) conv_block_->add(std::make_shared<nn::Dropout>(0.5));
  conv_block_->add(std::make_shared<nn::ReflectionPad2d>(1));
  conv_block_->add(std::make_shared<nn::Conv2d>(dim, dim, 3, 1, 0, use_bias));
  conv_block_->add(norm_layer(norm, dim));
}

Tensor ResnetBlock::forward(const Tensor& x) {
  if (!recompute) return x + conv_block_->forward(x);
  std::vector<Tensor> state;  // batch norm's running statistics: updated once, not again by the rerun
  for (const auto& [name, b] : conv_block_->named_buffers()) state.push_back(b);
  return x + checkpoint([this](const Tensor& h) { return conv_block_->forward(h); }, x,
                        conv_block_->parameters(), state);
}

int recompute_resnet(nn::Module& net, bool on) {
  int n = 0;
  for (const auto& [path, m] : net.named_modules()) {
    if (auto* b = dynamic_cast<ResnetBlock*>(m)) {
      b->recompute = on;
      ++n;
    }
    if (auto* g = dynamic_cast<ResnetGenerator*>(m)) {
      g->recompute = on;
      ++n;
    }
  }
  return n;
}

ResnetGenerator::ResnetGenerator(int input_nc, int output_nc, int ngf, const std::string& norm,
                                 bool use_dropout, int n_blocks) {
  if (n_blocks < 0) throw Error("ResnetGenerator: n_blocks must be >= 0");
  const bool use_bias = bias_for(norm);
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  auto& m = *model_;
  m.add(std::make_shared<nn::ReflectionPad2d>(3));
  m.add(std::make_shared<nn::Conv2d>(input_nc, ngf, 7, 1, 0, use_bias));
  add_norm_act(m, norm, ngf, 0.0);
  for (int i = 0; i < 2; ++i) {  // downsampling
    const int mult = 1 << i;
    m.add(std::make_shared<nn::Conv2d>(ngf * mult, ngf * mult * 2, 3, 2, 1, use_bias));
    add_norm_act(m, norm, ngf * mult * 2, 0.0);
  }
  for (int i = 0; i < n_blocks; ++i)
    m.add(std::make_shared<ResnetBlock>(ngf * 4, norm, use_dropout, use_bias));
  for (int i = 0; i < 2; ++i) {  // upsampling
    const int mult = 1 << (2 - i);
    m.add(std::make_shared<nn::ConvTranspose2d>(ngf * mult, ngf * mult / 2, 3, 2, 1, 1, use_bias));
    add_norm_act(m, norm, ngf * mult / 2, 0.0);
  }
  m.add(std::make_shared<nn::ReflectionPad2d>(3));
  m.add(std::make_shared<nn::Conv2d>(ngf, output_nc, 7, 1, 0, true));
  m.add(std::make_shared<nn::Tanh>());
}

Tensor ResnetGenerator::forward(const Tensor& x) {
  if (!recompute) return model_->forward(x);
  // The layers between blocks run as one recomputed part each: of the encoder's and decoder's
  // full-resolution activations only the parts' inputs are kept. The blocks recompute themselves.
  std::vector<nn::Module*> part;
  auto run_part = [&](const Tensor& h) {
    if (part.empty()) return h;
    std::vector<Tensor> params, state;
    for (nn::Module* m : part) {
      for (const Tensor& p : m->parameters()) params.push_back(p);
      for (const auto& [name, b] : m->named_buffers()) state.push_back(b);
    }
    const Tensor y = checkpoint(
        [layers = part](const Tensor& in) {
          Tensor t = in;
          for (nn::Module* m : layers) t = m->forward(t);
          return t;
        },
        h, params, state);
    part.clear();
    return y;
  };
  Tensor h = x;
  for (const auto& [name, m] : model_->named_children()) {
    if (dynamic_cast<ResnetBlock*>(m)) {
      h = m->forward(run_part(h));
      continue;
    }
    part.push_back(m);
  }
  return run_part(h);
}

NLayerDiscriminator::NLayerDiscriminator(int input_nc, int ndf, int n_layers, const std::string& norm) {
  if (n_layers < 1) throw Error("--n_layers_D must be >= 1, got " + std::to_string(n_layers));
  const bool use_bias = bias_for(norm);
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  auto& m = *model_;
  m.add(std::make_shared<nn::Conv2d>(input_nc, ndf, 4, 2, 1, true));
  m.add(std::make_shared<nn::LeakyReLU>(0.2));
  int mult = 1;
  for (int n = 1; n < n_layers; ++n) {
    const int prev = mult;
    mult = std::min(1 << n, 8);
    m.add(std::make_shared<nn::Conv2d>(ndf * prev, ndf * mult, 4, 2, 1, use_bias));
    add_norm_act(m, norm, ndf * mult, 0.2);
  }
  const int prev = mult;
  mult = std::min(1 << n_layers, 8);
  m.add(std::make_shared<nn::Conv2d>(ndf * prev, ndf * mult, 4, 1, 1, use_bias));
  add_norm_act(m, norm, ndf * mult, 0.2);
  m.add(std::make_shared<nn::Conv2d>(ndf * mult, 1, 4, 1, 1, true));
}

Tensor NLayerDiscriminator::forward(const Tensor& x) { return model_->forward(x); }

PixelDiscriminator::PixelDiscriminator(int input_nc, int ndf, const std::string& norm) {
  const bool use_bias = bias_for(norm);
  net_ = register_module("net", std::make_shared<nn::Sequential>());
  net_->add(std::make_shared<nn::Conv2d>(input_nc, ndf, 1, 1, 0, true));
  net_->add(std::make_shared<nn::LeakyReLU>(0.2));
  net_->add(std::make_shared<nn::Conv2d>(ndf, ndf * 2, 1, 1, 0, use_bias));
  add_norm_act(*net_, norm, ndf * 2, 0.2);
  net_->add(std::make_shared<nn::Conv2d>(ndf * 2, 1, 1, 1, 0, use_bias));
}

Tensor PixelDiscriminator::forward(const Tensor& x) { return net_->forward(x); }

UnetSkipConnectionBlock::UnetSkipConnectionBlock(int outer_nc, int inner_nc, int input_nc,
                                                 std::shared_ptr<nn::Module> submodule, Position pos,
                                                 const std::string& norm, bool use_dropout)
    : outermost_(pos == Position::Outermost) {
  const bool use_bias = bias_for(norm);
  if (input_nc < 0) input_nc = outer_nc;
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  auto& m = *model_;
  auto downconv = std::make_shared<nn::Conv2d>(input_nc, inner_nc, 4, 2, 1, use_bias);
  if (pos == Position::Outermost) {  // [downconv, submodule, ReLU, upconv (bias), Tanh]
    m.add(downconv);
    m.add(std::move(submodule));
    m.add(std::make_shared<nn::ReLU>());
    m.add(std::make_shared<nn::ConvTranspose2d>(inner_nc * 2, outer_nc, 4, 2, 1, 0, true));
    m.add(std::make_shared<nn::Tanh>());
  } else if (pos == Position::Innermost) {  // [LeakyReLU, downconv, ReLU, upconv, upnorm]
    m.add(std::make_shared<nn::LeakyReLU>(0.2));
    m.add(downconv);
    m.add(std::make_shared<nn::ReLU>());
    m.add(std::make_shared<nn::ConvTranspose2d>(inner_nc, outer_nc, 4, 2, 1, 0, use_bias));
    m.add(norm_layer(norm, outer_nc));
  } else {  // [LeakyReLU, downconv, downnorm, submodule, ReLU, upconv, upnorm, (Dropout 0.5)]
    m.add(std::make_shared<nn::LeakyReLU>(0.2));
    m.add(downconv);
    m.add(norm_layer(norm, inner_nc));
    m.add(std::move(submodule));
    m.add(std::make_shared<nn::ReLU>());
    m.add(std::make_shared<nn::ConvTranspose2d>(inner_nc * 2, outer_nc, 4, 2, 1, 0, use_bias));
    m.add(norm_layer(norm, outer_nc));
    if (use_dropout) m.add(std::make_shared<nn::Dropout>(0.5));
  }
}

Tensor UnetSkipConnectionBlock::forward(const Tensor& x) {
  return outermost_ ? model_->forward(x) : cat1({x, model_->forward(x)});
}

UnetGenerator::UnetGenerator(int input_nc, int output_nc, int num_downs, int ngf, const std::string& norm,
                             bool use_dropout)
    : num_downs_(num_downs) {
  if (num_downs < 5) throw Error("UnetGenerator: num_downs must be >= 5, got " + std::to_string(num_downs));
  using P = UnetSkipConnectionBlock::Position;
  // built from the innermost block out, as the official
  auto block =
      std::make_shared<UnetSkipConnectionBlock>(ngf * 8, ngf * 8, -1, nullptr, P::Innermost, norm, false);
  for (int i = 0; i < num_downs - 5; ++i)
    block =
        std::make_shared<UnetSkipConnectionBlock>(ngf * 8, ngf * 8, -1, block, P::Middle, norm, use_dropout);
  block = std::make_shared<UnetSkipConnectionBlock>(ngf * 4, ngf * 8, -1, block, P::Middle, norm, false);
  block = std::make_shared<UnetSkipConnectionBlock>(ngf * 2, ngf * 4, -1, block, P::Middle, norm, false);
  block = std::make_shared<UnetSkipConnectionBlock>(ngf, ngf * 2, -1, block, P::Middle, norm, false);
  model_ = register_module("model", std::make_shared<UnetSkipConnectionBlock>(output_nc, ngf, input_nc, block,
                                                                              P::Outermost, norm, false));
}

void UnetGenerator::check_input(const Shape& x) const {
  // Each block halves H and W and its skip joins them back: the sides must divide by 2^num_downs
  // (the official fails inside torch.cat otherwise; this names the sizes)
  const int64_t unit = int64_t{1} << num_downs_;
  if (x.size() != 4 || x[2] % unit != 0 || x[3] % unit != 0)
    throw Error("a U-Net generator with " + std::to_string(num_downs_) +
                " downsamplings needs height and width " + "that are multiples of " + std::to_string(unit) +
                ", got " + shape_str(x));
}

Tensor UnetGenerator::forward(const Tensor& x) {
  check_input(x.shape());
  return model_->forward(x);
}

namespace {
// The N of resnet_<N>blocks (resnet_9blocks and resnet_6blocks are the official names; any N is
// accepted, for small models in tests and quick experiments), or -1.
int resnet_blocks(const std::string& netG) {
  if (netG.rfind("resnet_", 0) == 0 && netG.size() > 13 && netG.compare(netG.size() - 6, 6, "blocks") == 0) {
    const std::string n = netG.substr(7, netG.size() - 13);
    if (!n.empty() && n.size() < 4 && n.find_first_not_of("0123456789") == std::string::npos)
      return std::stoi(n);
  }
  return -1;
}
}  // namespace

int unet_downsamplings(const std::string& netG) {
  return netG == "unet_128" ? 7 : netG == "unet_256" ? 8 : 0;
}

bool known_generator(const std::string& netG) {
  return unet_downsamplings(netG) > 0 || resnet_blocks(netG) >= 0;
}

bool known_discriminator(const std::string& netD) {
  return netD == "basic" || netD == "n_layers" || netD == "pixel";
}

std::shared_ptr<nn::Module> define_G(int input_nc, int output_nc, int ngf, const std::string& netG,
                                     const std::string& norm, bool use_dropout, const std::string& init_type,
                                     double init_gain, Generator& gen) {
  if (const int downs = unet_downsamplings(netG)) {
    auto net = std::make_shared<UnetGenerator>(input_nc, output_nc, downs, ngf, norm, use_dropout);
    nn::init_weights(*net, init_type, init_gain, gen);
    return net;
  }
  const int blocks = resnet_blocks(netG);
  if (blocks < 0)
    throw Error("--netG '" + netG +
                "': generator model name is not recognized (expected resnet_9blocks, resnet_6blocks, "
                "resnet_<N>blocks, unet_128 or unet_256)");
  auto net = std::make_shared<ResnetGenerator>(input_nc, output_nc, ngf, norm, use_dropout, blocks);
  nn::init_weights(*net, init_type, init_gain, gen);
  return net;
}

std::shared_ptr<nn::Module> define_D(int input_nc, int ndf, const std::string& netD, int n_layers_D,
                                     const std::string& norm, const std::string& init_type, double init_gain,
                                     Generator& gen) {
  std::shared_ptr<nn::Module> net;
  if (netD == "basic")
    net = std::make_shared<NLayerDiscriminator>(input_nc, ndf, 3, norm);
  else if (netD == "n_layers")
    net = std::make_shared<NLayerDiscriminator>(input_nc, ndf, n_layers_D, norm);
  else if (netD == "pixel")
    net = std::make_shared<PixelDiscriminator>(input_nc, ndf, norm);
  else
    throw Error("--netD '" + netD +
                "': discriminator model name is not recognized (expected basic, n_layers or pixel)");
  nn::init_weights(*net, init_type, init_gain, gen);
  return net;
}

}  // namespace cg::models
