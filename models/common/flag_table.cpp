#include "models/common/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "models/common/model_spec.h"

namespace cg::models {

// Python's str() of a float: the shortest digits that round-trip, written fixed when the decimal
// exponent is in [-4, 16) ("0.0002", "10.0") and scientific otherwise ("1e-05").
std::string py_float(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, end);  // "-1.2345e-04"
  const size_t e = sci.find('e');
  const int exp = std::stoi(sci.substr(e + 1));
  if (exp < -4 || exp >= 16) return sci;
  std::string digits;
  for (char c : sci.substr(0, e))
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  const std::string sign = v < 0 ? "-" : "";
  if (exp < 0) return sign + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  if (static_cast<int>(digits.size()) <= exp + 1)
    return sign + digits + std::string(static_cast<size_t>(exp + 1) - digits.size(), '0') + ".0";
  return sign + digits.substr(0, static_cast<size_t>(exp + 1)) + "." +
         digits.substr(static_cast<size_t>(exp + 1));
}
namespace {

std::string py_bool(bool b) { return b ? "True" : "False"; }

constexpr const char* kVisdom =
    "visdom display; the training page CHECKPOINTS/NAME/web/index.html replaces it";
// For the rows whose help lists what each model does (--model, --dataroot): made in parse.cpp.
constexpr const char* kModelsSay = "";

}  // namespace

const std::vector<Flag>& base_flags() {
  using O = Options;
  static const std::vector<Flag> t = {
      // ---- base: both programs ----
      {"dataroot", &O::dataroot, kBoth, kModelsSay},
      {"name", &O::name, kBoth, "experiment name: checkpoints and results go to folders of this name"},
      {"gpu_ids", &O::gpu_ids, kBoth,
       "-1: the CPU; 0: the first GPU; 0,1,2,3 (training): one rank per GPU, started with mpirun; "
       "the same as --device, the official way"},
      {"checkpoints_dir", &O::checkpoints_dir, kBoth, "where experiments keep their checkpoints"},
      {"model", &O::model, kBoth, kModelsSay},
      {"input_nc", &O::input_nc, kBoth, "channels of domain A images: 3 (RGB) or 1 (gray)"},
      {"output_nc", &O::output_nc, kBoth, "channels of domain B images: 3 (RGB) or 1 (gray)"},
      {"ngf", &O::ngf, kBoth, "filters in the generators' first convolution"},
      {"ndf", &O::ndf, kBoth, "filters in the discriminators' first convolution"},
      {"netD", &O::netD, kBoth, "discriminator: basic (70x70 PatchGAN) | n_layers | pixel"},
      {"netG", &O::netG, kBoth,
       "generator: resnet_9blocks | resnet_6blocks (or resnet_<N>blocks) | unet_256 | unet_128"},
      {"n_layers_D", &O::n_layers_D, kBoth, "discriminator depth when --netD n_layers"},
      {"norm", &O::norm, kBoth,
       "normalisation layer: instance | batch | syncbatch (batch norm whose statistics span every rank's "
       "batch; batch when alone) | none"},
      {"init_type", &O::init_type, kBoth, "weight init: normal | xavier | kaiming | orthogonal"},
      {"init_gain", &O::init_gain, kBoth, "scale of the normal, xavier and orthogonal inits"},
      {"no_dropout", &O::no_dropout, kBoth, "no dropout in the generators (each --model sets its default)"},
      {"dataset_mode", &O::dataset_mode, kBoth,
       "unaligned (two folders, unpaired) | aligned (AB images) | single (one folder); chosen from --model "
       "when not given"},
      {"direction", &O::direction, kBoth, "AtoB or BtoA: which folder is the generator's input"},
      {"serial_batches", &O::serial_batches, kBoth,
       "take images in order (otherwise shuffled, B drawn at random)"},
      {"num_threads", &O::num_threads, kBoth, "threads decoding and preprocessing images in the background"},
      {"batch_size", &O::batch_size, kBoth, "images per step"},
      {"load_size", &O::load_size, kBoth, "images are scaled to this size first"},
      {"crop_size", &O::crop_size, kBoth, "then cropped to this size"},
      {"max_dataset_size", Count{&O::max_dataset_size, "inf"}, kBoth,
       "use at most this many images per domain ('inf' for all)"},
      {"preprocess", &O::preprocess, kBoth,
       "resize_and_crop | crop | scale_width | scale_width_and_crop | none (keep the size, rounded to a "
       "multiple of 4)"},
      {"no_flip", &O::no_flip, kBoth, "no random horizontal flips"},
      {"amp", &O::amp, kBoth,
       "bfloat16 convolutions with fp32 accumulation; norms, losses and Adam stay fp32 (PyTorch autocast's "
       "policy for them). Numerics only so far: it is not faster yet"},
      {"max_pixels", Count{&O::max_pixels, "none"}, kBoth,
       "refuse images whose header claims more pixels than this, before decoding ('none': no limit; the "
       "default is PIL's)"},
      {"display_winsize", &O::display_winsize, kBoth, "width of the images on the web pages, in pixels"},
      {"epoch", &O::epoch, kBoth, "which checkpoint to load: 'latest', an epoch number, or iter_<N>"},
      {"load_iter", &O::load_iter, kBoth, "when > 0, load checkpoint iter_<load_iter> instead of --epoch"},
      {"verbose", &O::verbose, kBoth, "print every layer of the networks"},
      {"suffix", &O::suffix, kBoth,
       "appended to --name as _<suffix>, with {option} replaced by its value, e.g. {netG}_size{load_size}"},
      {"use_wandb", &O::use_wandb, kBoth, "ignored",
       "Weights & Biases logging; the loss logs and the page "
       "are in CHECKPOINTS/NAME"},
      {"wandb_project_name", &O::wandb_project_name, kBoth, "ignored", "Weights & Biases logging"},
      {"device", &O::device, kBoth, "cpu or cuda"},
      {"dist_backend", &O::dist_backend, kTrain,
       "how ranks on GPUs average gradients: nccl, host (copied to host memory, MPI; ranks may share a GPU) "
       "or auto (nccl unless two ranks share a GPU)"},
      {"seed", &O::seed, kBoth,
       "seed of every random generator (weights, data order, crops, flips, image pool)"},
      // ---- training ----
      {"display_freq", &O::display_freq, kTrain, "iterations between updates of the training web page"},
      {"display_ncols", &O::display_ncols, kTrain, "ignored", kVisdom},
      {"display_id", &O::display_id, kTrain, "ignored", kVisdom},
      {"display_server", &O::display_server, kTrain, "ignored", kVisdom},
      {"display_env", &O::display_env, kTrain, "ignored", kVisdom},
      {"display_port", &O::display_port, kTrain, "ignored", kVisdom},
      {"update_html_freq", &O::update_html_freq, kTrain,
       "the page keeps the images of an update every this many iterations (and the first of each epoch)"},
      {"print_freq", &O::print_freq, kTrain, "iterations between loss reports"},
      {"no_html", &O::no_html, kTrain, "write no training web page"},
      {"save_latest_freq", &O::save_latest_freq, kTrain, "iterations between 'latest' checkpoints"},
      {"save_epoch_freq", &O::save_epoch_freq, kTrain, "epochs between numbered checkpoints"},
      {"save_by_iter", &O::save_by_iter, kTrain,
       "name the periodic checkpoints iter_<N> instead of 'latest'"},
      {"continue_train", &O::continue_train, kTrain,
       "resume from the checkpoint --epoch (exactly where it stopped when its training state is there)"},
      {"overwrite", &O::overwrite, kTrain,
       "start a new training in an experiment folder that holds trained weights (<label>_net_*), replacing "
       "them as it saves; without it such a start is refused"},
      {"epoch_count", &O::epoch_count, kTrain,
       "number of the first epoch (when starting from weights only; see the README on resuming)"},
      {"phase", &O::phase, kBoth, "dataset split: reads DATAROOT/<phase>A and <phase>B"},
      {"n_epochs", &O::n_epochs, kTrain, "epochs at the initial learning rate"},
      {"n_epochs_decay", &O::n_epochs_decay, kTrain, "epochs of linear decay to zero after those"},
      {"beta1", &O::beta1, kTrain, "Adam's beta1"},
      {"lr", &O::lr, kTrain, "initial learning rate of Adam"},
      {"gan_mode", &O::gan_mode, kTrain, "adversarial loss: lsgan | vanilla | wgangp"},
      {"pool_size", &O::pool_size, kTrain, "size of the buffer of generated images the discriminators see"},
      {"lr_policy", &O::lr_policy, kTrain, "learning-rate schedule: linear | step | plateau | cosine"},
      {"lr_decay_iters", &O::lr_decay_iters, kTrain, "epochs between x0.1 steps when --lr_policy step"},
      // ---- validation during training (ours) ----
      {"val_freq", &O::val_freq, kTrain,
       "validate every this many epochs and after the last: translate the validation images in eval mode, "
       "score them, log val_log.csv, keep the best checkpoint as 'best' (0: no validation)"},
      {"val_dataroot", &O::val_dataroot, kTrain,
       "where the validation split is (default: --dataroot): its val split (valA and valB, or val of AB "
       "images), else its test split"},
      {"val_metric", &O::val_metric, kTrain,
       "what 'best' is by: auto (psnr when the validation images pair up, fwd when not) | rmse | accuracy | "
       "psnr | ssim | fwd"},
      {"val_max", Count{&O::val_max, "all"}, kTrain,
       "validate on at most this many images per domain, the first in sorted order ('all' or a number)"},
      {"recompute", &O::recompute, kTrain,
       "ResNet generators keep only the inputs of their residual blocks, encoder and decoder and run them "
       "again during backward (activation checkpointing): less memory at high resolution, the same losses "
       "and weights, more time"},
      // ---- testing ----
      {"results_dir", &O::results_dir, kTest, "where results are written"},
      {"aspect_ratio", &O::aspect_ratio, kTest,
       "saved images are stretched as the official's (> 1: taller, < 1: wider; bicubic)"},
      {"eval", &O::eval, kTest, "eval mode: dropout off (the official test.py keeps train mode without it)"},
      {"num_test", Count{&O::num_test, "all"}, kTest,
       "how many images to translate ('all', the default, or a number)"},
      {"tile_size", &O::tile_size, kTest,
       "> 0: translate tile by tile in memory bounded by this size (pixels), with every normalisation's "
       "statistics taken over the whole image, so the result equals translating it whole; values that do not "
       "fit in memory go to temporary files under $TMPDIR (or the results folder). 0: whole images"},
      {"save_bits", &O::save_bits, kTest,
       "8 or 16: bits per sample of the saved results (16: 16-bit PNGs, gray results stay gray)"},
  };
  return t;
}

const Program& train_program() {
  static const Program p{"cyclegan_train", true, "", "", {}};
  return p;
}

const Program& test_program() {
  static const Program p{"cyclegan_test", false, "", "", {}};
  return p;
}

bool takes_flag(const Program& program, const std::string& model, const std::string& name) {
  for (const Flag* f : program_flags(program, model))
    if (name == f->name) return true;
  return false;
}

std::vector<const Flag*> program_flags(const Program& program, const std::string& model) {
  std::vector<const Flag*> out;
  const ModelSpec* spec = find_model(model);
  for (const Flag& f : base_flags()) {
    if (!(f.scope & program.kind())) continue;
    // a model's own program takes the harness flags it lists, and no --model
    if (!program.model.empty() &&
        std::find(program.base_flags.begin(), program.base_flags.end(), f.name) == program.base_flags.end())
      continue;
    // the harness's programs take every harness flag but those the model has none of
    if (program.model.empty() && spec &&
        std::find(spec->without_flags.begin(), spec->without_flags.end(), f.name) !=
            spec->without_flags.end())
      continue;
    out.push_back(&f);
  }
  if (spec)
    for (const Flag& f : spec->flags)
      if (f.scope & program.kind()) out.push_back(&f);
  return out;
}

const Program& program_of(const Options& opt, bool is_train) {
  if (const ModelSpec* spec = find_model(opt.model))
    for (const Program* p : spec->own_programs)
      if (p->is_train == is_train) return *p;
  return is_train ? train_program() : test_program();
}

std::string value_text(const Options& o, const Member& m) {
  return std::visit(
      [&](auto&& p) -> std::string {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, Count>) {
          return o.*p.m == std::numeric_limits<int64_t>::max() ? p.word : std::to_string(o.*p.m);
        } else if constexpr (std::is_same_v<P, Own>) {
          return "";  // by name: own_text below
        } else if constexpr (std::is_same_v<P, double Options::*>) {
          return py_float(o.*p);
        } else if constexpr (std::is_same_v<P, bool Options::*>) {
          return py_bool(o.*p);
        } else if constexpr (std::is_same_v<P, std::string Options::*>) {
          return o.*p;
        } else {
          return std::to_string(o.*p);
        }
      },
      m);
}

std::string value_text(const Options& o, const Flag& f) {
  if (!std::holds_alternative<Own>(f.member)) return value_text(o, f.member);
  const auto it = o.own.find(f.name);
  if (it == o.own.end()) return "None";
  return std::visit(
      [](auto&& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, double>)
          return py_float(v);
        else if constexpr (std::is_same_v<V, bool>)
          return py_bool(v);
        else if constexpr (std::is_same_v<V, std::string>)
          return v;
        else
          return std::to_string(v);
      },
      it->second);
}

}  // namespace cg::models
