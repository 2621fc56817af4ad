#include "models/common/model.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "backend/device.h"
#include "models/common/cli.h"
#include "ops/conv.h"  // Bf16Autocast
#include "ops/ops.h"

namespace cg::models {

Device options_device(const Options& o) {
  if (o.device == "cpu") return Device::CPU;
  // both spellings: the user gave one of them (--gpu_ids 0 is the official one)
  const std::string asked = "--device cuda (--gpu_ids " + o.gpu_ids + ")";
  if (!kHaveCuda)
    throw Error(
        asked +
        ": this build has no CUDA backend (rebuild with -DCYCLEGAN_CUDA=ON on a machine with the CUDA "
        "toolkit and cuDNN); --gpu_ids -1 runs on the CPU");
  if (!cuda_available())
    throw Error(asked + ": no CUDA device is available on this machine; --gpu_ids -1 runs on the CPU");
  return Device::CUDA;
}

void select_gpu(const Options& o) {
  if (o.device != "cuda" || !kHaveCuda || !cuda_available()) return;  // the device's own errors come later
  const std::vector<int> ids = gpu_id_list(o);
  const int gpu = ids.empty() ? 0 : ids[0], count = backend::gpu_count();
  if (gpu >= count)
    throw Error("--gpu_ids names GPU " + std::to_string(gpu) + ", but this machine has " +
                std::to_string(count) + " (0 to " + std::to_string(count - 1) + ")");
  backend::set_gpu(gpu);
}

namespace {
// Options are checked in one place, validate_options (cli.cpp): here too, for programs that build
// a model from an Options of their own rather than from the command line.
Device checked_device(const Options& o, bool train) {
  validate_options(o, train);
  return options_device(o);
}
}  // namespace

Model::Model(const Options& o, bool train)
    : opt(o), is_train(train), device(checked_device(o, train)), step_(device, o.no_dropout) {
  loss_health_ = Tensor::zeros({}, DType::F32, device);
}

Model::~Model() = default;

std::vector<std::pair<std::string, std::vector<std::string>>> Model::loss_charts() const {
  return {{"losses", loss_names()}};
}

void Model::test() {
  NoGradGuard no_grad;
  forward();
}

Tensor Model::generate(nn::Module& net, const Tensor& x) {
  if (!tiling_) return net(x);
  ++tiled_translations_;
  return nn::tiled_forward(net, x, *tiling_);
}

void Model::need_input(bool ok, const char* what) const {
  if (!ok) throw Error(name() + " model: " + what + " before set_input");
}

std::vector<std::pair<std::string, double>> Model::current_losses() const {
  const std::vector<std::string> names = loss_names();
  std::vector<double> v(names.size(), 0.0);
  if (loss_values_.defined()) v = loss_values_.to_vector<double>();  // one copy from the device
  std::vector<std::pair<std::string, double>> out;
  for (size_t k = 0; k < names.size(); ++k) out.emplace_back(names[k], k < v.size() ? v[k] : 0.0);
  return out;
}

bool Model::losses_finite() const { return std::isfinite(loss_health_.item()); }

void Model::record_losses(const std::vector<Tensor>& losses) {
  NoGradGuard no_grad;
  std::vector<Tensor> v;
  for (const Tensor& t : losses) v.push_back(t.detach().reshape({1}));
  loss_values_ = cat0(v);  // (number of losses)
  // 0 * x is 0 for every finite x and NaN for NaN and the infinities, and NaN stays NaN.
  axpy_(loss_health_, 0.0, sum(loss_values_).to(loss_health_.dtype()));
}

void Model::add_optimizer(const std::string& optimizer_name, std::vector<Tensor> params, double eps,
                          double beta2) {
  const nn::Adam::Options adam{opt.lr, opt.beta1, beta2, eps};
  const nn::LRSchedule::Options sched{opt.lr_policy,      opt.lr,          opt.n_epochs,
                                      opt.n_epochs_decay, opt.epoch_count, opt.lr_decay_iters};
  Optimizer o{optimizer_name, std::make_unique<nn::Adam>(std::move(params), adam),
              std::make_unique<nn::LRSchedule>(sched)};
  o.adam->set_lr(o.schedule->lr());
  optimizers_.push_back(std::move(o));
}

nn::Adam& Model::optimizer(const std::string& n) const {
  for (const Optimizer& o : optimizers_)
    if (o.name == n) return *o.adam;
  throw Error(name() + " model has no optimizer_" + n);
}

nn::LRSchedule& Model::schedule(const std::string& n) const {
  for (const Optimizer& o : optimizers_)
    if (o.name == n) return *o.schedule;
  throw Error(name() + " model has no scheduler_" + n);
}

std::pair<double, double> Model::update_learning_rate() {
  if (optimizers_.empty()) throw Error(name() + " model: update_learning_rate without optimizers (testing?)");
  const double old_lr = optimizers_[0].adam->lr();
  for (Optimizer& o : optimizers_) {
    o.schedule->step();
    o.adam->set_lr(o.schedule->lr());
  }
  return {old_lr, optimizers_[0].adam->lr()};
}

double Model::lr() const {
  if (optimizers_.empty()) throw Error(name() + " model has no optimizers (built for testing)");
  return optimizers_[0].adam->lr();
}

void Model::save_state(std::map<std::string, Tensor>&, nlohmann::json&) const {}
void Model::load_state(const safetensors::Contents&, const nlohmann::json&) {}

void Model::run_step(const std::vector<Tensor*>& inputs, const std::vector<StepPiece>& pieces) {
  if (!is_train) throw Error("optimize_parameters on a model built for testing");
  std::vector<Shape> shapes;
  for (const Tensor* t : inputs) {
    need_input(t->defined(), "optimize_parameters");
    shapes.push_back(t->shape());
  }
  const Bf16Autocast amp(opt.amp);
  std::vector<Tensor> given;  // the inputs as set_input left them
  for (Tensor* t : inputs) given.push_back(*t);
  step_.begin(shapes, fingerprint());
  for (Tensor* t : inputs) *t = step_.input(*t);
  for (const StepPiece& p : pieces) {
    if (p.before) p.before();
    step_.run(
        [&](bool capturing) {
          capturing_ = capturing;
          p.body();
          capturing_ = false;
        },
        p.optimizers, p.written);
  }
  step_.end();
  for (size_t i = 0; i < inputs.size(); ++i)
    *inputs[i] = given[i];  // the visuals show the input, not the step's copy
}

void Model::update(nn::Adam& o) const { nn::CapturedStep::update(o, capturing_); }

Tensor Model::stage(const Tensor& t) { return step_.input(t); }

std::vector<const void*> Model::fingerprint() const {
  std::vector<const void*> f;
  for (const auto& [n, net] : networks())
    for (const Tensor& p : net->parameters()) f.push_back(p.raw());
  for (const Optimizer& o : optimizers_)
    for (const auto& s : o.adam->state()) {
      f.push_back(s.exp_avg.defined() ? s.exp_avg.raw() : nullptr);
      f.push_back(s.exp_avg_sq.defined() ? s.exp_avg_sq.raw() : nullptr);
    }
  return f;
}

}  // namespace cg::models
