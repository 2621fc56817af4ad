#include "models/cut/cut_model.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "ops/conv.h"  // Bf16Autocast
#include "ops/ops.h"

namespace cg::cut {

using json = nlohmann::json;

std::vector<int> parse_nce_layers(const std::string& text) {
  std::vector<int> layers;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    int v = -1;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && item[used] == ' ') ++used;  // int(' 4 ') in Python
    if (used == 0 || used != item.size())
      throw Error("--nce_layers '" + text +
                  "': expected layer numbers separated by commas, such as 0,4,8,12,16");
    layers.push_back(v);
  }
  if (layers.empty()) throw Error("--nce_layers is empty: name at least one layer of the generator");
  return layers;
}

CUTModel::CUTModel(const Options& o, bool train) : Model(o, train) {
  Generator init_gen(opt.seed);
  nce_layers_ = parse_nce_layers(opt.get<std::string>("nce_layers"));
  const bool no_antialias = opt.get<bool>("no_antialias");
  netG =
      define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.get<std::string>("normG"), !opt.no_dropout,
               no_antialias, opt.get<bool>("no_antialias_up"), opt.init_type, opt.init_gain, init_gen);
  netG->to(device);
  if (!is_train) {
    netG->eval();
    return;
  }
  netD = define_D(opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.get<std::string>("normD"),
                  no_antialias, opt.init_type, opt.init_gain, init_gen);
  std::vector<int64_t> channels;  // of G's features at the NCE layers: what F's MLPs take
  for (int l : nce_layers_) channels.push_back(netG->channels_at(l));
  netF = define_F(channels, opt.get<std::string>("netF"), opt.get<int>("netF_nc"), opt.init_type,
                  opt.init_gain, init_gen);
  netD->to(device);
  netF->to(device);
  patch_generator.seed(opt.seed + 3);  // (+1: the CUDA default generator, +2: CycleGAN's pools)
  criterion_gan_ = std::make_unique<models::GANLoss>(opt.gan_mode);
  criterion_nce_ = std::make_unique<PatchNCELoss>(opt.get<double>("nce_T"),
                                                  opt.get<bool>("nce_includes_all_negatives_from_minibatch"));
  // One Adam per network, betas (--beta1, --beta2), in the official order (F's is made last)
  const double beta2 = opt.get<double>("beta2");
  add_optimizer("G", netG->parameters(), 1e-8, beta2);
  add_optimizer("D", netD->parameters(), 1e-8, beta2);
  add_optimizer("F", netF->parameters(), 1e-8, beta2);
}

bool CUTModel::nce_idt() const { return opt.get<bool>("nce_idt"); }

std::vector<std::string> CUTModel::loss_names() const {
  std::vector<std::string> v{"G_GAN", "D_real", "D_fake", "G", "NCE"};
  if (nce_idt() && is_train) v.push_back("NCE_Y");
  return v;
}

std::vector<std::string> CUTModel::visual_names() const {
  std::vector<std::string> v{"real_A", "fake_B", "real_B"};
  if (nce_idt() && is_train) v.push_back("idt_B");
  return v;
}

std::vector<std::pair<std::string, nn::Module*>> CUTModel::networks() const {
  if (!is_train) return {{"G", netG.get()}};
  return {{"G", netG.get()}, {"F", netF.get()}, {"D", netD.get()}};
}

std::vector<std::pair<std::string, std::vector<std::string>>> CUTModel::loss_charts() const {
  std::vector<std::string> nce{"G", "NCE"};
  if (nce_idt() && is_train) nce.push_back("NCE_Y");
  return {{"adversarial losses", {"G_GAN", "D_real", "D_fake"}}, {"generator and PatchNCE losses", nce}};
}

void CUTModel::set_input(const data::Batch& batch) {
  set_input(batch.A, batch.B);
  image_paths_ = opt.direction == "AtoB" ? batch.A_paths : batch.B_paths;
}

void CUTModel::set_input(const Tensor& A, const Tensor& B) {
  if (!A.defined() || !B.defined()) throw Error("cut model: set_input needs an A and a B batch");
  const bool a_to_b = opt.direction == "AtoB";
  real_A = (a_to_b ? A : B).detach().to(device);
  real_B = (a_to_b ? B : A).detach().to(device);
}

void CUTModel::forward() {
  need_input(real_A.defined() && real_B.defined(), "forward");
  const Bf16Autocast amp(opt.amp);
  const int64_t n = real_A.size(0);
  // G translates real_B too when PatchNCE has its identity term: one pass over the pair
  const bool both = nce_idt() && is_train;
  real = both ? cat0({real_A, real_B}) : real_A;
  if (opt.get<bool>("flip_equivariance")) {
    flipped_for_equivariance = is_train && patch_generator.uniform() < 0.5;
    if (flipped_for_equivariance) real = flip(real, 3);
  }
  fake = (*netG)(real);
  fake_B = both ? slice0(fake, 0, n) : fake;
  idt_B = both ? slice0(fake, n, fake.size(0) - n) : Tensor();
}

// The discriminator on the (detached) fakes and the real images. With instance norm (or none) each
// image is judged on its own, so one pass over both as a batch is exactly the official two passes.
Tensor CUTModel::compute_D_loss() {
  const std::string normD = opt.get<std::string>("normD");
  const Tensor fake_d = fake_B.detach();
  if ((normD == "instance" || normD == "none") && fake_d.shape() == real_B.shape()) {
    const int64_t n = fake_d.size(0);
    const Tensor pred = (*netD)(cat0({fake_d, real_B}));
    loss_D_fake = (*criterion_gan_)(slice0(pred, 0, n), false);
    loss_D_real = (*criterion_gan_)(slice0(pred, n, n), true);
  } else {
    loss_D_fake = (*criterion_gan_)((*netD)(fake_d), false);
    loss_D_real = (*criterion_gan_)((*netD)(real_B), true);
  }
  loss_D = (loss_D_fake + loss_D_real) * 0.5;
  return loss_D;
}

Tensor CUTModel::compute_G_loss() {
  const double lambda_GAN = opt.get<double>("lambda_GAN"), lambda_NCE = opt.get<double>("lambda_NCE");
  const Tensor zero = Tensor::zeros({}, fake_B.dtype(), device);
  loss_G_GAN = lambda_GAN > 0 ? (*criterion_gan_)((*netD)(fake_B), true) * lambda_GAN : zero;
  loss_NCE = lambda_NCE > 0 ? calculate_NCE_loss(real_A, fake_B) : zero;
  Tensor nce_both = loss_NCE;
  if (nce_idt() && lambda_NCE > 0) {
    loss_NCE_Y = calculate_NCE_loss(real_B, idt_B);
    nce_both = (loss_NCE + loss_NCE_Y) * 0.5;
  }
  loss_G = loss_G_GAN + nce_both;
  return loss_G;
}

std::vector<int64_t> CUTModel::draw_positions(int64_t count) {
  // the first min(num_patches, count) of a random permutation of [0, count), as
  // np.random.permutation(count)[:num_patches]: a partial Fisher-Yates shuffle
  const int64_t k = std::min<int64_t>(opt.get<int>("num_patches"), count);
  std::vector<int64_t> perm(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) perm[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < k; ++i)
    std::swap(perm[static_cast<size_t>(i)],
              perm[static_cast<size_t>(
                  i + static_cast<int64_t>(patch_generator.below(static_cast<uint64_t>(count - i))))]);
  perm.resize(static_cast<size_t>(k));
  return perm;
}

Tensor CUTModel::calculate_NCE_loss(const Tensor& src, const Tensor& tgt) {
  std::vector<Tensor> feat_q = netG->encode(tgt, nce_layers_);
  if (opt.get<bool>("flip_equivariance") && flipped_for_equivariance)
    for (Tensor& f : feat_q) f = flip(f, 3);  // the output's features back in the input's orientation
  std::vector<std::vector<int64_t>> ids;
  std::vector<Tensor> k_pool;
  {
    // PatchNCE detaches the keys: no gradient reaches G or F through them, so they are made
    // without recording (the same values)
    NoGradGuard no_grad;
    const std::vector<Tensor> feat_k = netG->encode(src, nce_layers_);
    for (const Tensor& f : feat_k) ids.push_back(draw_positions(f.size(2) * f.size(3)));
    k_pool = netF->sample(feat_k, ids);
  }
  const std::vector<Tensor> q_pool = netF->sample(feat_q, ids);
  const double lambda_NCE = opt.get<double>("lambda_NCE");
  Tensor total;
  for (size_t i = 0; i < q_pool.size(); ++i) {
    const Tensor layer = mean((*criterion_nce_)(q_pool[i], k_pool[i], src.size(0)) * lambda_NCE);
    total = total.defined() ? total + layer : layer;
  }
  return total / static_cast<double>(nce_layers_.size());
}

void CUTModel::optimize_parameters() {
  if (!is_train) throw Error("optimize_parameters on a model built for testing");
  need_input(real_A.defined() && real_B.defined(), "optimize_parameters");
  const Bf16Autocast amp(opt.amp);
  nn::Adam &optimizer_G = optimizer("G"), &optimizer_D = optimizer("D"), &optimizer_F = optimizer("F");
  forward();
  // update D
  netD->set_requires_grad(true);
  optimizer_D.zero_grad();
  compute_D_loss().backward();
  optimizer_D.step();
  // update G and F, D frozen (its weights get no gradients from loss_G)
  netD->set_requires_grad(false);
  optimizer_G.zero_grad();
  optimizer_F.zero_grad();
  compute_G_loss().backward();
  optimizer_G.step();
  optimizer_F.step();
  netD->set_requires_grad(true);
  std::vector<Tensor> losses{loss_G_GAN, loss_D_real, loss_D_fake, loss_G, loss_NCE};
  if (nce_idt()) losses.push_back(loss_NCE_Y);
  record_losses(losses);
}

std::vector<std::pair<std::string, Tensor>> CUTModel::current_visuals() const {
  const std::map<std::string, const Tensor*> all{
      {"real_A", &real_A}, {"fake_B", &fake_B}, {"real_B", &real_B}, {"idt_B", &idt_B}};
  std::vector<std::pair<std::string, Tensor>> v;
  for (const std::string& n : visual_names())
    if (all.at(n)->defined()) v.emplace_back(n, *all.at(n));
  return v;
}

void CUTModel::save_state(std::map<std::string, Tensor>&, json& state) const {
  state["generators"]["patches"] = patch_generator.state();
}

void CUTModel::load_state(const safetensors::Contents&, const json& state) {
  patch_generator.set_state(state.at("generators").at("patches").get<std::string>());
}

}  // namespace cg::cut
