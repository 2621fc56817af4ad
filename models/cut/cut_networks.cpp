#include "models/cut/cut_networks.h"

#include <algorithm>

#include "models/networks/networks.h"
#include "nn/init.h"
#include "ops/ops.h"

namespace cg::cut {

Tensor blur_filter(int64_t channels, int k, double scale) {
  if (k < 1 || k > 7) throw Error("blur_filter: filter size " + std::to_string(k) + " (expected 1 to 7)");
  std::vector<double> row(static_cast<size_t>(k), 1.0);  // a binomial row: 1 3 3 1 for k = 4
  for (int i = 1; i < k; ++i) row[static_cast<size_t>(i)] = row[static_cast<size_t>(i - 1)] * (k - i) / i;
  double total = 0;
  for (double a : row) total += a;
  std::vector<double> f;  // (channels, 1, k, k)
  for (int64_t c = 0; c < channels; ++c)
    for (double a : row)
      for (double b : row) f.push_back(a * b / (total * total) * scale);
  // float32, as the official's torch.Tensor; a network converted to float64 converts it exactly
  return Tensor::from_vector(f, {channels, 1, k, k}).to(DType::F32);
}

// ---- the blurs ----

Downsample::Downsample(int64_t channels) : channels_(channels) {
  filt = register_buffer("filt", blur_filter(channels, 3, 1.0));
}

Tensor Downsample::forward(const Tensor& x) {
  if (x.ndim() != 4 || x.size(1) != channels_)
    throw Error("Downsample(" + std::to_string(channels_) + "): input " + x.describe());
  return depthwise_conv2d(reflection_pad2d(x, 1, 1, 1, 1), filt, 2);  // (N, C, ceil(H/2), ceil(W/2))
}

Upsample::Upsample(int64_t channels) : channels_(channels) {
  filt = register_buffer("filt", blur_filter(channels, 4, 4.0));
}

Tensor Upsample::forward(const Tensor& x) {
  if (x.ndim() != 4 || x.size(1) != channels_)
    throw Error("Upsample(" + std::to_string(channels_) + "): input " + x.describe());
  const Tensor y = depthwise_conv_transpose2d(replication_pad2d(x, 1), filt, 2, 2);  // (N, C, 2H + 2, 2W + 2)
  return narrow(narrow(y, 2, 1, y.size(2) - 2), 3, 1, y.size(3) - 2);                // (N, C, 2H, 2W)
}

// ---- the generator ----

void ResnetGenerator::add(std::shared_ptr<nn::Module> m, int64_t out_channels) {
  const int places = m->sequential_places();
  layers_.push_back({num_layers_, places, m});
  for (int p = 0; p < places; ++p) channels_.push_back(out_channels);
  num_layers_ += places;
  model_->add(std::move(m));
}

ResnetGenerator::ResnetGenerator(int input_nc, int output_nc, int ngf, const std::string& norm,
                                 bool use_dropout, int n_blocks, bool no_antialias, bool no_antialias_up) {
  if (n_blocks < 0) throw Error("ResnetGenerator: n_blocks must be >= 0");
  const bool use_bias = models::bias_for(norm);
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  // a norm and its ReLU: one fused layer for instance norm, two otherwise (as models::add_norm_act)
  auto norm_relu = [&](int64_t c) {
    if (norm == "instance") {
      add(std::make_shared<nn::InstanceNormAct>(c, 0.0), c);
      return;
    }
    add(models::norm_layer(norm, c), c);
    add(std::make_shared<nn::ReLU>(), c);
  };
  add(std::make_shared<nn::ReflectionPad2d>(3), input_nc);
  add(std::make_shared<nn::Conv2d>(input_nc, ngf, 7, 1, 0, use_bias), ngf);
  norm_relu(ngf);
  for (int i = 0; i < 2; ++i) {  // downsampling
    const int c = ngf << (i + 1);
    add(std::make_shared<nn::Conv2d>(c / 2, c, 3, no_antialias ? 2 : 1, 1, use_bias), c);
    norm_relu(c);
    if (!no_antialias) add(std::make_shared<Downsample>(c), c);
  }
  for (int i = 0; i < n_blocks; ++i)
    add(std::make_shared<models::ResnetBlock>(ngf * 4, norm, use_dropout, use_bias), ngf * 4);
  for (int i = 0; i < 2; ++i) {  // upsampling
    const int c = ngf << (2 - i);
    if (no_antialias_up) {
      add(std::make_shared<nn::ConvTranspose2d>(c, c / 2, 3, 2, 1, 1, use_bias), c / 2);
    } else {
      add(std::make_shared<Upsample>(c), c);
      add(std::make_shared<nn::Conv2d>(c, c / 2, 3, 1, 1, use_bias), c / 2);
    }
    norm_relu(c / 2);
  }
  add(std::make_shared<nn::ReflectionPad2d>(3), ngf);
  add(std::make_shared<nn::Conv2d>(ngf, output_nc, 7, 1, 0, true), output_nc);
  add(std::make_shared<nn::Tanh>(), output_nc);
}

Tensor ResnetGenerator::forward(const Tensor& x) { return model_->forward(x); }

int64_t ResnetGenerator::channels_at(int layer) const {
  if (layer < 0 || layer >= num_layers_)
    throw Error("the generator has layers 0 to " + std::to_string(num_layers_ - 1) + ", not " +
                std::to_string(layer));
  return channels_[static_cast<size_t>(layer)];
}

std::vector<Tensor> ResnetGenerator::encode(const Tensor& x, const std::vector<int>& layers) {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i] < 0 || layers[i] >= num_layers_ || (i > 0 && layers[i] <= layers[i - 1]))
      throw Error("--nce_layers: the generator's layers are 0 to " + std::to_string(num_layers_ - 1) +
                  ", named in increasing order");
  std::vector<Tensor> feats;
  if (layers.empty()) return feats;
  const int last = layers.back();
  size_t next = 0;              // the next layer asked for
  std::vector<size_t> aliased;  // feats that are the very tensor the layer now running receives
  Tensor feat = x;
  for (const Layer& L : layers_) {
    if (L.first > last) break;
    const bool fused = L.places == 2;
    Tensor out;
    if (fused && L.first == last) {
      // The official returns between the norm and its ReLU: the norm's output, not yet overwritten
      const auto* n = dynamic_cast<const nn::InstanceNormAct*>(L.module.get());
      if (!n) throw Error("encode: a fused layer other than InstanceNormAct at " + std::to_string(L.first));
      out = instance_norm2d(feat, n->eps);
    } else {
      out = (*L.module)(feat);
    }
    const std::string type = L.module->type_name();
    for (int p = 0; p < L.places && L.first + p <= last; ++p) {
      // ReLU(True) writes its output over its input; Identity returns its input: features that are
      // that tensor take the new values. Any other layer makes a new tensor.
      const bool writes_input = (fused && p == 1) || type == "ReLU" || type == "Identity";
      if (writes_input)
        for (size_t f : aliased) feats[f] = out;
      else
        aliased.clear();
      if (next < layers.size() && layers[next] == L.first + p) {
        feats.push_back(out);
        aliased.push_back(feats.size() - 1);
        ++next;
      }
    }
    feat = out;
  }
  return feats;
}

int generator_layers(int n_blocks, bool no_antialias, bool no_antialias_up) {
  // pad, conv, norm, relu; per downsampling conv, norm, relu (+ Downsample); the blocks; per
  // upsampling (Upsample +) conv or convT, norm, relu; pad, conv, tanh
  return 4 + 2 * (no_antialias ? 3 : 4) + n_blocks + 2 * (no_antialias_up ? 3 : 4) + 3;
}

// ---- the discriminator ----

NLayerDiscriminator::NLayerDiscriminator(int input_nc, int ndf, int n_layers, const std::string& norm,
                                         bool no_antialias) {
  if (n_layers < 1) throw Error("--n_layers_D must be >= 1, got " + std::to_string(n_layers));
  const bool use_bias = models::bias_for(norm);
  const int stride = no_antialias ? 2 : 1;
  model_ = register_module("model", std::make_shared<nn::Sequential>());
  auto& m = *model_;
  m.add(std::make_shared<nn::Conv2d>(input_nc, ndf, 4, stride, 1, true));
  m.add(std::make_shared<nn::LeakyReLU>(0.2));
  if (!no_antialias) m.add(std::make_shared<Downsample>(ndf));
  int mult = 1;
  for (int n = 1; n < n_layers; ++n) {
    const int prev = mult;
    mult = std::min(1 << n, 8);
    m.add(std::make_shared<nn::Conv2d>(ndf * prev, ndf * mult, 4, stride, 1, use_bias));
    models::add_norm_act(m, norm, ndf * mult, 0.2);
    if (!no_antialias) m.add(std::make_shared<Downsample>(ndf * mult));
  }
  const int prev = mult;
  mult = std::min(1 << n_layers, 8);
  m.add(std::make_shared<nn::Conv2d>(ndf * prev, ndf * mult, 4, 1, 1, use_bias));
  models::add_norm_act(m, norm, ndf * mult, 0.2);
  m.add(std::make_shared<nn::Conv2d>(ndf * mult, 1, 4, 1, 1, true));
}

Tensor NLayerDiscriminator::forward(const Tensor& x) { return model_->forward(x); }

// ---- F ----

PatchSampleF::PatchSampleF(const std::vector<int64_t>& channels, int64_t nc, bool use_mlp)
    : use_mlp_(use_mlp) {
  if (!use_mlp) return;
  for (size_t i = 0; i < channels.size(); ++i) {
    auto mlp = std::make_shared<nn::Sequential>();
    mlp->add(std::make_shared<nn::Linear>(channels[i], nc));
    mlp->add(std::make_shared<nn::ReLU>());
    mlp->add(std::make_shared<nn::Linear>(nc, nc));
    mlps_.push_back(register_module("mlp_" + std::to_string(i), mlp));
  }
}

Tensor PatchSampleF::forward(const Tensor&) {
  throw Error("PatchSampleF takes the features of several layers: call sample()");
}

std::vector<Tensor> PatchSampleF::sample(const std::vector<Tensor>& feats,
                                         const std::vector<std::vector<int64_t>>& ids) {
  if (feats.size() != ids.size() || (use_mlp_ && feats.size() != mlps_.size()))
    throw Error("PatchSampleF: " + std::to_string(feats.size()) + " feature layers and " +
                std::to_string(ids.size()) + " sets of positions for " + std::to_string(mlps_.size()) +
                " MLPs");
  std::vector<Tensor> out;
  for (size_t i = 0; i < feats.size(); ++i) {
    const Tensor& feat = feats[i];  // (B, C, H, W)
    const int64_t B = feat.size(0), C = feat.size(1), HW = feat.size(2) * feat.size(3);
    std::vector<double> rows;  // row b HW + id of the (B HW, C) matrix, for each image b and position id
    rows.reserve(static_cast<size_t>(B) * ids[i].size());
    for (int64_t b = 0; b < B; ++b)
      for (int64_t id : ids[i]) rows.push_back(static_cast<double>(b * HW + id));
    const Tensor index =
        Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())}).to(feat.dtype()).to(feat.device());
    Tensor x = index_rows(permute(feat, {0, 2, 3, 1}).reshape({B * HW, C}), index);  // (B P, C)
    if (use_mlp_) x = mlps_[i]->forward(x);                                          // (B P, nc)
    out.push_back(l2_normalize(x, 1, 1e-7));
  }
  return out;
}

// ---- define_* ----

int resnet_blocks(const std::string& netG) {
  if (netG.rfind("resnet_", 0) == 0 && netG.size() > 13 && netG.compare(netG.size() - 6, 6, "blocks") == 0) {
    const std::string n = netG.substr(7, netG.size() - 13);
    if (!n.empty() && n.size() < 4 && n.find_first_not_of("0123456789") == std::string::npos)
      return std::stoi(n);
  }
  return -1;
}

std::shared_ptr<ResnetGenerator> define_G(int input_nc, int output_nc, int ngf, const std::string& netG,
                                          const std::string& norm, bool use_dropout, bool no_antialias,
                                          bool no_antialias_up, const std::string& init_type,
                                          double init_gain, Generator& gen) {
  const int blocks = resnet_blocks(netG);
  if (blocks < 0)
    throw Error("--netG '" + netG + "': CUT needs a ResNet generator (resnet_9blocks, resnet_6blocks, " +
                "resnet_<N>blocks)");
  auto net = std::make_shared<ResnetGenerator>(input_nc, output_nc, ngf, norm, use_dropout, blocks,
                                               no_antialias, no_antialias_up);
  nn::init_weights(*net, init_type, init_gain, gen);
  return net;
}

std::shared_ptr<nn::Module> define_D(int input_nc, int ndf, const std::string& netD, int n_layers_D,
                                     const std::string& norm, bool no_antialias, const std::string& init_type,
                                     double init_gain, Generator& gen) {
  std::shared_ptr<nn::Module> net;
  if (netD == "basic")
    net = std::make_shared<NLayerDiscriminator>(input_nc, ndf, 3, norm, no_antialias);
  else if (netD == "n_layers")
    net = std::make_shared<NLayerDiscriminator>(input_nc, ndf, n_layers_D, norm, no_antialias);
  else if (netD == "pixel")
    net = std::make_shared<models::PixelDiscriminator>(input_nc, ndf, norm);
  else
    throw Error("--netD '" + netD + "': expected basic, n_layers or pixel");
  nn::init_weights(*net, init_type, init_gain, gen);
  return net;
}

std::shared_ptr<PatchSampleF> define_F(const std::vector<int64_t>& channels, const std::string& netF,
                                       int64_t nc, const std::string& init_type, double init_gain,
                                       Generator& gen) {
  if (netF != "mlp_sample" && netF != "sample")
    throw Error("--netF '" + netF + "': expected mlp_sample or sample");
  auto net = std::make_shared<PatchSampleF>(channels, nc, netF == "mlp_sample");
  nn::init_weights(*net, init_type, init_gain, gen);
  return net;
}

}  // namespace cg::cut
