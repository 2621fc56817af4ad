#include "models/cgan/cgan_model.h"

#include <nlohmann/json.hpp>

#include "nn/init.h"
#include "ops/ops.h"

namespace cg::cgan {

CGANModel::CGANModel(const Options& o, bool train)
    : Model(o, train),
      num_classes(opt.get<int>("num_classes")),
      z_dim(opt.get<int>("z_dim")),
      noise(opt.seed ^ 0x9e3779b97f4a7c15ULL) {
  if (num_classes < 1)
    throw Error("cgan model: needs the number of classes (from the data or the checkpoint)");
  Generator init_gen(opt.seed);
  netG = std::make_shared<CGANGenerator>(num_classes, z_dim);
  nn::init_keras(*netG, init_gen);
  netG->to(device);
  // the page's noise: fixed for the whole run (and the same after a resume), one row per class
  Generator grid_gen(opt.seed + 7);
  const int64_t n = int64_t{num_classes} * kGridColumns;
  std::vector<float> grid_labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) grid_labels[static_cast<size_t>(i)] = static_cast<float>(i / kGridColumns);
  fixed_z_ = Tensor::randn({n, z_dim}, DType::F32, Device::CPU, &grid_gen).to(device);
  fixed_labels_ = Tensor::from_vector(grid_labels, {n}).to(device);
  if (!is_train) {
    netG->eval();
    return;
  }
  netD = std::make_shared<CGANDiscriminator>(num_classes);
  nn::init_keras(*netD, init_gen);
  netD->to(device);
  add_optimizer("G", netG->parameters(), 1e-7);  // Keras's Adam epsilon
  add_optimizer("D", netD->parameters(), 1e-7);
}

std::vector<std::string> CGANModel::loss_names() const { return {"D_real", "D_fake", "D", "G"}; }

std::vector<std::string> CGANModel::visual_names() const { return {"samples"}; }

std::vector<std::pair<std::string, nn::Module*>> CGANModel::networks() const {
  std::vector<std::pair<std::string, nn::Module*>> v{{"G", netG.get()}};
  if (is_train) v.emplace_back("D", netD.get());
  return v;
}

std::vector<std::pair<std::string, std::vector<std::string>>> CGANModel::loss_charts() const {
  return {{"discriminator (binary cross-entropy)", {"D_real", "D_fake", "D"}},
          {"generator (binary cross-entropy)", {"G"}}};
}

void CGANModel::set_input(const data::Batch& batch) {
  if (!batch.label.defined()) throw Error("cgan model: the batch has no labels (use class folders)");
  set_input(batch.A, batch.label);
  image_paths_ = batch.A_paths;
}

void CGANModel::set_input(const Tensor& images, const Tensor& y) {
  const DType dt = netG->fc->weight.dtype();
  real = images.detach().to(dt).to(device);
  labels = y.detach().to(dt).to(device);
}

Tensor CGANModel::generate(const Tensor& z, const Tensor& y) {
  NoGradGuard no_grad;
  const bool was_training = netG->is_training();
  netG->eval();
  Tensor out = netG->forward(z, y);
  netG->train(was_training);
  return out;
}

void CGANModel::forward() {
  const DType dt = netG->fc->weight.dtype();
  const Tensor s = generate(fixed_z_.to(dt), fixed_labels_.to(dt));  // (K*10, 1, 28, 28)
  // one row per class: (K, 10, 28, 28) -> (K, 28, 10, 28) as one (1, 1, 28 K, 280) image
  const int64_t K = num_classes, C = kGridColumns, S = kImageSize;
  const std::vector<float> v = s.to_vector<float>();
  std::vector<float> g(v.size());
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < S; ++y)
        for (int64_t x = 0; x < S; ++x)
          g[static_cast<size_t>(((k * S + y) * C + c) * S + x)] =
              v[static_cast<size_t>(((k * C + c) * S + y) * S + x)];
  grid_ = Tensor::from_vector(g, {1, 1, K * S, C * S});
}

void CGANModel::step(const Tensor& z_fake, const Tensor& z_gen, const Tensor& labels_gen) {
  need_input(real.defined() && labels.defined(), "optimize_parameters");
  const int64_t N = real.size(0);
  nn::Adam &optimizer_D = optimizer("D"), &optimizer_G = optimizer("G");
  const Tensor ones = Tensor::ones({N, 1}, real.dtype(), device),
               zeros = Tensor::zeros({N, 1}, real.dtype(), device);
  // 2. D on the real batch, target 1: its own Adam step (the book's first train_on_batch)
  netD->set_requires_grad(true);
  optimizer_D.zero_grad();
  loss_D_real = bce_with_logits(netD->forward(real, labels), ones);
  loss_D_real.backward();
  optimizer_D.step();
  // 3. fakes from G in training mode without gradients (see the header), then D on them, target 0:
  // a second Adam step
  Tensor fake;
  {
    NoGradGuard no_grad;
    fake = netG->forward(z_fake, labels);
  }
  optimizer_D.zero_grad();
  loss_D_fake = bce_with_logits(netD->forward(fake, labels), zeros);
  loss_D_fake.backward();
  optimizer_D.step();
  {
    NoGradGuard no_grad;
    loss_D = (loss_D_real + loss_D_fake) * 0.5;
  }
  // 4. G through the frozen D, target 1
  netD->set_requires_grad(false);
  netD->freeze_statistics(true);
  optimizer_G.zero_grad();
  const int64_t M = z_gen.size(0);
  loss_G = bce_with_logits(netD->forward(netG->forward(z_gen, labels_gen), labels_gen),
                           Tensor::ones({M, 1}, real.dtype(), device));
  loss_G.backward();
  optimizer_G.step();
  netD->freeze_statistics(false);
  netD->set_requires_grad(true);
  record_losses({loss_D_real, loss_D_fake, loss_D, loss_G});
}

void CGANModel::optimize_parameters() {
  if (!is_train) throw Error("optimize_parameters on a model built for testing");
  need_input(real.defined() && labels.defined(), "optimize_parameters");
  const int64_t N = real.size(0);
  const DType dt = real.dtype();
  // drawn on the host from one generator, in this order, so that a run is the same on every device
  const Tensor z_fake = Tensor::randn({N, z_dim}, DType::F64, Device::CPU, &noise);
  const Tensor z_gen = Tensor::randn({N, z_dim}, DType::F64, Device::CPU, &noise);
  std::vector<double> y(static_cast<size_t>(N));
  for (double& v : y) v = static_cast<double>(noise.below(static_cast<uint64_t>(num_classes)));
  step(z_fake.to(dt).to(device), z_gen.to(dt).to(device), Tensor::from_vector(y, {N}).to(dt).to(device));
}

std::vector<std::pair<std::string, Tensor>> CGANModel::current_visuals() const {
  // the harness asks after a step: draw the grid now (cheap: K * 10 images, no gradients)
  const_cast<CGANModel*>(this)->forward();
  return {{"samples", grid_}};
}

void CGANModel::save_state(std::map<std::string, Tensor>&, nlohmann::json& state) const {
  state["generators"]["noise"] = noise.state();
}

void CGANModel::load_state(const safetensors::Contents&, const nlohmann::json& state) {
  noise.set_state(state.at("generators").at("noise").get<std::string>());
}

std::pair<int, int> generator_shape(const std::string& path) {
  const safetensors::Contents c = safetensors::load(path);
  const auto it = c.tensors.find("label_emb.weight");
  if (it == c.tensors.end() || it->second.ndim() != 2 || c.tensors.find("fc.weight") == c.tensors.end())
    throw Error("'" + path + "' is not a conditional GAN's generator (no label_emb.weight and fc.weight)");
  return {static_cast<int>(it->second.size(0)), static_cast<int>(it->second.size(1))};
}

}  // namespace cg::cgan
