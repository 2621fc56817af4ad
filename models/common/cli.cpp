#include "models/common/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <variant>
#include <vector>

#include "backend/types.h"
#include "data/dataset.h"
#include "dist/collectives.h"
#include "dist/comm.h"
#include "models/common/model.h"
#include "models/networks/networks.h"
#include "nn/init.h"

namespace cg::models {

namespace {

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
std::string py_bool(bool b) { return b ? "True" : "False"; }

// ---- the flag table: every flag of both programs, once ----

// cyclegan_train, cyclegan_test, cgan_train and cgan_sample: a flag may serve any of them
enum Scope : unsigned { kTrain = 1, kTest = 2, kBoth = 3, kCganTrain = 4, kCganSample = 8, kCgan = 12 };

// The program a filled-in Options belongs to.
unsigned program_scope(const Options& o, bool is_train) {
  if (o.model == "cgan") return is_train ? kCganTrain : kCganSample;
  return is_train ? kTrain : kTest;
}

// A count that may be unlimited: INT64_MAX, written and read as `word`.
struct Count {
  int64_t Options::*m;
  const char* word;
};
using Member = std::variant<int Options::*, double Options::*, bool Options::*, std::string Options::*,
                            uint64_t Options::*, Count>;

struct Flag {
  const char* name;  // without the dashes, as the official listing prints it
  Member member;
  unsigned scope;
  const char* help;
  const char* ignored = nullptr;  // for official flags with no meaning here: why (printed when given)
  const char* models = nullptr;   // a model's own flag: the --model names that have it ("" = every model)
};

// Whether flag f belongs to the programs of `scope` with --model `model`.
bool has_flag(const Flag& f, unsigned scope, const std::string& model) {
  if (!(f.scope & scope)) return false;
  if (!f.models) return true;
  std::stringstream in(f.models);
  for (std::string m; in >> m;)
    if (m == model) return true;
  return false;
}

constexpr const char* kVisdom =
    "visdom display; the training page CHECKPOINTS/NAME/web/index.html replaces it";

const std::vector<Flag>& flag_table() {
  using O = Options;
  static const std::vector<Flag> t = {
      // ---- base: both programs ----
      {"dataroot", &O::dataroot, kBoth | kCganTrain,
       "folder of the images: trainA/trainB and testA/testB (cycle_gan), AB images in train/ and test/ "
       "(pix2pix), one folder per class (cgan_train)"},
      {"name", &O::name, kBoth | kCgan,
       "experiment name: checkpoints and results go to folders of this name"},
      {"gpu_ids", &O::gpu_ids, kBoth | kCgan,
       "-1: the CPU; 0: the first GPU; 0,1,2,3 (training): one rank per GPU, started with mpirun; "
       "the same as --device, the official way"},
      {"checkpoints_dir", &O::checkpoints_dir, kBoth | kCgan, "where experiments keep their checkpoints"},
      {"model", &O::model, kTrain,
       "cycle_gan (unpaired: trainA/trainB) | pix2pix (paired: AB images in DATAROOT/train); each sets its "
       "own defaults"},
      {"model", &O::model, kTest,
       "cycle_gan (testA/testB, both generators) | pix2pix (AB images in DATAROOT/test) | test (one "
       "generator over every image in --dataroot)"},
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
      {"no_dropout", &O::no_dropout, kBoth,
       "no dropout in the generators (set by --model cycle_gan; pix2pix and test use dropout)"},
      {"dataset_mode", &O::dataset_mode, kBoth,
       "unaligned (two folders, unpaired) | aligned (AB images, pix2pix) | single (one folder, --model "
       "test); "
       "chosen from --model when not given"},
      {"direction", &O::direction, kBoth, "AtoB or BtoA: which folder is the generator's input"},
      {"serial_batches", &O::serial_batches, kBoth,
       "take images in order (otherwise shuffled, B drawn at random)"},
      {"num_threads", &O::num_threads, kBoth | kCganTrain,
       "threads decoding and preprocessing images in the background"},
      {"batch_size", &O::batch_size, kBoth | kCganTrain, "images per step"},
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
      {"max_pixels", Count{&O::max_pixels, "none"}, kBoth | kCganTrain,
       "refuse images whose header claims more pixels than this, before decoding ('none': no limit; the "
       "default is PIL's)"},
      {"display_winsize", &O::display_winsize, kBoth, "width of the images on the web pages, in pixels"},
      {"epoch", &O::epoch, kBoth | kCgan, "which checkpoint to load: 'latest', an epoch number, or iter_<N>"},
      {"load_iter", &O::load_iter, kBoth, "when > 0, load checkpoint iter_<load_iter> instead of --epoch"},
      {"verbose", &O::verbose, kBoth | kCganTrain, "print every layer of the networks"},
      {"suffix", &O::suffix, kBoth,
       "appended to --name as _<suffix>, with {option} replaced by its value, e.g. {netG}_size{load_size}"},
      {"use_wandb", &O::use_wandb, kBoth, "ignored",
       "Weights & Biases logging; the loss logs and the page "
       "are in CHECKPOINTS/NAME"},
      {"wandb_project_name", &O::wandb_project_name, kBoth, "ignored", "Weights & Biases logging"},
      {"device", &O::device, kBoth | kCgan, "cpu or cuda"},
      {"dist_backend", &O::dist_backend, kTrain | kCganTrain,
       "how ranks on GPUs average gradients: nccl, host (copied to host memory, MPI; ranks may share a GPU) "
       "or auto (nccl unless two ranks share a GPU)"},
      {"seed", &O::seed, kBoth | kCgan,
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
      {"no_html", &O::no_html, kTrain | kCganTrain, "write no training web page"},
      {"save_latest_freq", &O::save_latest_freq, kTrain, "iterations between 'latest' checkpoints"},
      {"save_epoch_freq", &O::save_epoch_freq, kTrain, "epochs between numbered checkpoints"},
      {"save_by_iter", &O::save_by_iter, kTrain,
       "name the periodic checkpoints iter_<N> instead of 'latest'"},
      {"continue_train", &O::continue_train, kTrain | kCganTrain,
       "resume from the checkpoint --epoch (exactly where it stopped when its training state is there)"},
      {"epoch_count", &O::epoch_count, kTrain,
       "number of the first epoch (when starting from weights only; see the README on resuming)"},
      {"phase", &O::phase, kBoth, "dataset split: reads DATAROOT/<phase>A and <phase>B"},
      {"n_epochs", &O::n_epochs, kTrain, "epochs at the initial learning rate"},
      {"n_epochs_decay", &O::n_epochs_decay, kTrain, "epochs of linear decay to zero after those"},
      {"beta1", &O::beta1, kTrain | kCganTrain, "Adam's beta1"},
      {"lr", &O::lr, kTrain | kCganTrain, "initial learning rate of Adam"},
      {"gan_mode", &O::gan_mode, kTrain, "adversarial loss: lsgan | vanilla | wgangp"},
      {"pool_size", &O::pool_size, kTrain, "size of the buffer of generated images the discriminators see"},
      {"lr_policy", &O::lr_policy, kTrain, "learning-rate schedule: linear | step | plateau | cosine"},
      {"lr_decay_iters", &O::lr_decay_iters, kTrain, "epochs between x0.1 steps when --lr_policy step"},
      {"lambda_A", &O::lambda_A, kTrain, "weight of the cycle loss A -> B -> A", nullptr, "cycle_gan"},
      {"lambda_B", &O::lambda_B, kTrain, "weight of the cycle loss B -> A -> B", nullptr, "cycle_gan"},
      {"lambda_identity", &O::lambda_identity, kTrain,
       "weight of the identity loss, relative to lambda_A/B (0 disables it)", nullptr, "cycle_gan"},
      {"lambda_L1", &O::lambda_L1, kTrain, "weight of the L1 loss between G(A) and B", nullptr, "pix2pix"},
      // ---- the conditional GAN's ----
      {"n_iters", &O::n_iters, kCganTrain, "training iterations, each on --batch_size random real images"},
      {"z_dim", &O::z_dim, kCganTrain, "length of the noise vector z"},
      {"sample_freq", &O::sample_freq, kCganTrain,
       "iterations between rows of samples on the page (one row per class) and 'latest' checkpoints"},
      {"label", &O::label, kCganSample,
       "the class to draw: 0 .. K-1, K the number of class folders trained on"},
      {"num", &O::num, kCganSample, "how many images to write"},
      // ---- testing ----
      {"results_dir", &O::results_dir, kTest | kCganSample, "where results are written"},
      {"aspect_ratio", &O::aspect_ratio, kTest,
       "saved images are stretched as the official's (> 1: taller, < 1: wider; bicubic)"},
      {"eval", &O::eval, kTest, "eval mode: dropout off (the official test.py keeps train mode without it)"},
      {"num_test", Count{&O::num_test, "all"}, kTest,
       "how many images to translate ('all', the default, or a number)"},
      {"model_suffix", &O::model_suffix, kTest,
       "loads <epoch>_net_G<model_suffix>: '_A' for a CycleGAN's G_A, '_B' for its G_B", nullptr, "test"},
  };
  return t;
}

std::string value_text(const Options& o, const Member& m) {
  return std::visit(
      [&](auto&& p) -> std::string {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, Count>)
          return o.*p.m == std::numeric_limits<int64_t>::max() ? p.word : std::to_string(o.*p.m);
        else if constexpr (std::is_same_v<P, double Options::*>)
          return py_float(o.*p);
        else if constexpr (std::is_same_v<P, bool Options::*>)
          return py_bool(o.*p);
        else if constexpr (std::is_same_v<P, std::string Options::*>)
          return o.*p;
        else
          return std::to_string(o.*p);
      },
      m);
}

// Every option as (name, Python-style value), the way the official prints vars(opt), sorted.
std::vector<std::pair<std::string, std::string>> values(const Options& o, bool is_train) {
  std::vector<std::pair<std::string, std::string>> v = {{"isTrain", py_bool(is_train)}};
  const unsigned scope = program_scope(o, is_train);
  for (const Flag& f : flag_table())
    if (has_flag(f, scope, o.model)) {
      std::string text = value_text(o, f.member);
      if (std::string(f.name) == "dataroot" && text.empty()) text = "None";
      v.emplace_back(f.name, text);
    }
  std::sort(v.begin(), v.end());
  return v;
}

// Reads a Count's text: its word, or a whole number >= 0.
bool parse_count(const std::string& text, const char* word, int64_t& out) {
  if (text == word) {
    out = std::numeric_limits<int64_t>::max();
    return true;
  }
  try {
    size_t used = 0;
    out = std::stoll(text, &used);
    return used == text.size() && out >= 0;
  } catch (const std::exception&) {
    return false;
  }
}

// "{netG}_size{load_size}" with every {option} replaced by its listed value.
std::string fill_suffix(const Options& o, bool is_train) {
  const auto vals = values(o, is_train);
  std::string out;
  for (size_t i = 0; i < o.suffix.size(); ++i) {
    if (o.suffix[i] != '{') {
      out += o.suffix[i];
      continue;
    }
    const size_t close = o.suffix.find('}', i);
    if (close == std::string::npos) throw Error("--suffix '" + o.suffix + "': a '{' without its '}'");
    const std::string key = o.suffix.substr(i + 1, close - i - 1);
    const auto it = std::find_if(vals.begin(), vals.end(), [&](const auto& kv) { return kv.first == key; });
    if (it == vals.end()) throw Error("--suffix '" + o.suffix + "': no option named '" + key + "'");
    out += it->second;
    i = close;
  }
  return out;
}

// The value of the last --model (or --model=) on the command line, or the program's default.
std::string model_of(int argc, char** argv, bool is_train) {
  std::string model = is_train ? "cycle_gan" : "test";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc)
      model = argv[++i];
    else if (a.rfind("--model=", 0) == 0)
      model = a.substr(8);
  }
  return model;
}

const char* program_name(unsigned scope) {
  return scope == kTrain       ? "cyclegan_train"
         : scope == kTest      ? "cyclegan_test"
         : scope == kCganTrain ? "cgan_train"
                               : "cgan_sample";
}

const char* program_about(unsigned scope) {
  switch (scope) {
    case kTrain:
      return "Trains a model: CycleGAN on unpaired images (DATAROOT/trainA, trainB) or pix2pix on paired "
             "ones (AB "
             "images in DATAROOT/train).";
    case kTest:
      return "Translates images with trained generators (CycleGAN, pix2pix, or one generator).";
    case kCganTrain:
      return "Trains the conditional GAN of GANs in Action on 28x28 gray images in class folders "
             "(DATAROOT/<class>/, "
             "the sorted folder names being the classes 0..K-1).";
    default:
      return "Draws images of one class from a trained conditional GAN.";
  }
}

Parsed parse(int argc, char** argv, unsigned scope) {
  const bool is_train = scope & (kTrain | kCganTrain);
  const std::string model = scope & kCgan ? "cgan" : model_of(argc, argv, is_train);
  if (!(scope & kCgan) && model == "cgan") {
    std::fprintf(stderr,
                 "--model cgan: the conditional GAN has programs of its own, cgan_train and cgan_sample\n");
    return Parsed{default_options("cycle_gan", is_train), 2};
  }
  Options o = default_options(model, is_train);
  CLI::App app(program_about(scope), program_name(scope));
  app.get_formatter()->column_width(34);
  std::map<std::string, std::string> counts;  // Count flags are read as text first
  for (const Flag& f : flag_table()) {
    if (!has_flag(f, scope, model)) continue;
    const std::string name = std::string("--") + f.name;
    CLI::Option* opt = std::visit(
        [&](auto&& p) -> CLI::Option* {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, Count>) {
            counts[f.name] = value_text(o, f.member);
            return app.add_option(name, counts[f.name], f.help)->capture_default_str();
          } else if constexpr (std::is_same_v<P, bool Options::*>) {
            return app.add_flag(name, o.*p, f.help);
          } else {
            return app.add_option(name, o.*p, f.help)->capture_default_str();
          }
        },
        f.member);
    // argparse's rule, which scripts that append an override rely on: the last one wins
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  Parsed p;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    p.exit_code = app.exit(e);
    // a flag of another model: say whose it is
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      for (const Flag& f : flag_table())
        if (a == std::string("--") + f.name && f.models && (f.scope & scope) && !has_flag(f, scope, model)) {
          std::fprintf(stderr, "%s is an option of --model %s, not of --model %s\n", a.c_str(), f.models,
                       model.c_str());
          break;
        }
    }
    if (*p.exit_code != 0) p.exit_code = 2;  // a usage error, as argparse's exit status
    p.opt = o;
    return p;
  }
  auto usage_error = [&](const std::string& msg) {
    std::fprintf(stderr, "%s\n", msg.c_str());
    p.exit_code = 2;
    p.opt = o;
    return p;
  };
  for (const Flag& f : flag_table()) {
    if (!has_flag(f, scope, model)) continue;
    if (const Count* c = std::get_if<Count>(&f.member))
      if (!parse_count(counts[f.name], c->word, o.*c->m))
        return usage_error(std::string("--") + f.name + ": expected '" + c->word +
                           "' or a whole number >= 0, got '" + counts[f.name] + "'");
    if (f.ignored && app.count(std::string("--") + f.name))
      std::printf("--%s: accepted and ignored (%s)\n", f.name, f.ignored);
  }
  // --gpu_ids is the official spelling of --device; both given must agree.
  if (app.count("--gpu_ids")) {
    std::vector<int> ids;
    std::stringstream in(o.gpu_ids);
    for (std::string item; std::getline(in, item, ',');) {
      try {
        size_t used = 0;
        const int id = std::stoi(item, &used);
        if (used != item.size()) throw std::invalid_argument("");
        if (id >= 0) ids.push_back(id);
      } catch (const std::exception&) {
        return usage_error("--gpu_ids: expected -1 or GPU numbers such as 0, got '" + o.gpu_ids + "'");
      }
    }
    if (ids.size() > 1 && !(scope & (kTrain | kCganTrain)))
      return usage_error("--gpu_ids " + o.gpu_ids + ": testing and sampling run on one GPU; give one id");
    if (ids.size() > 1 && std::set<int>(ids.begin(), ids.end()).size() != ids.size() &&
        dist::launched_size() == 1)
      return usage_error("--gpu_ids " + o.gpu_ids +
                         ": a GPU named twice (ranks that share a GPU: start them "
                         "with mpirun and --dist_backend host)");
    const std::string dev = ids.empty() ? "cpu" : "cuda";
    if (app.count("--device") && o.device != dev)
      return usage_error("--gpu_ids " + o.gpu_ids + " means --device " + dev + ", but --device " + o.device +
                         " was given too");
    o.device = dev;
  }
  if (o.device == "cpu")
    o.gpu_ids = "-1";
  else if (!app.count("--gpu_ids"))
    o.gpu_ids = "0";
  else {  // normalised: "0,1" for " 0, 1"
    std::string list;
    for (int id : gpu_id_list(o)) list += (list.empty() ? "" : ",") + std::to_string(id);
    o.gpu_ids = list;
  }
  if (scope == kCganTrain && o.batch_size >= 1 && o.sample_freq >= 1) {
    // the harness counts images, as the official's total_iters: the book's counts are iterations
    o.display_freq = o.update_html_freq = o.save_latest_freq = o.sample_freq * o.batch_size;
    o.print_freq = std::min(100, o.sample_freq) * o.batch_size;
  }
  if (!o.suffix.empty()) {
    try {
      o.name += "_" + fill_suffix(o, is_train);
    } catch (const Error& e) {
      return usage_error(e.what());
    }
  }
  p.opt = o;
  return p;
}

}  // namespace

Parsed parse_train_args(int argc, char** argv) { return parse(argc, argv, kTrain); }

Parsed parse_test_args(int argc, char** argv) { return parse(argc, argv, kTest); }

Parsed parse_cgan_train_args(int argc, char** argv) { return parse(argc, argv, kCganTrain); }

Parsed parse_cgan_sample_args(int argc, char** argv) { return parse(argc, argv, kCganSample); }

std::vector<int> gpu_id_list(const Options& opt) {
  std::vector<int> ids;
  std::stringstream in(opt.gpu_ids);
  for (std::string item; std::getline(in, item, ',');) {
    const int id = std::atoi(item.c_str());
    if (id >= 0) ids.push_back(id);
  }
  return ids;
}

void select_gpu(const Options& opt) {
  if (opt.device != "cuda" || !kHaveCuda || !cuda_available()) return;  // the device's own errors come later
  dist::setup_gpu(gpu_id_list(opt), "auto");
}

std::string load_label(const Options& opt) {
  return opt.load_iter > 0 ? "iter_" + std::to_string(opt.load_iter) : opt.epoch;
}

std::string options_text(const Options& opt, bool is_train) {
  const Options defaults = default_options(opt.model, is_train);
  const auto now = values(opt, is_train), def = values(defaults, is_train);
  std::string msg = "----------------- Options ---------------\n";
  for (size_t i = 0; i < now.size(); ++i) {
    char line[512];
    std::snprintf(line, sizeof line, "%25s: %-30s", now[i].first.c_str(), now[i].second.c_str());
    msg += line;
    if (now[i].second != def[i].second) msg += "\t[default: " + def[i].second + "]";
    msg += "\n";
  }
  msg += "----------------- End -------------------";
  return msg;
}

void write_options_file(const Options& opt, bool is_train, const std::string& folder) {
  std::filesystem::create_directories(folder);
  const std::string path = folder + "/" + opt.phase + "_opt.txt";
  std::ofstream f(path);
  f << options_text(opt, is_train) << "\n";
  if (!f) throw Error("cannot write '" + path + "'");
}

namespace {

// The conditional GAN's programs have their own few flags.
template <class Need>
void validate_cgan_options(const Options& o, bool is_train, const Need& need) {
  need(o.device == "cpu" || o.device == "cuda", "--device must be cpu or cuda, got '" + o.device + "'");
  if (is_train) {
    need(o.n_iters >= 1, "--n_iters must be >= 1, got " + std::to_string(o.n_iters));
    need(o.batch_size >= 1, "--batch_size must be >= 1, got " + std::to_string(o.batch_size));
    need(o.z_dim >= 1, "--z_dim must be >= 1, got " + std::to_string(o.z_dim));
    need(o.sample_freq >= 1, "--sample_freq must be >= 1, got " + std::to_string(o.sample_freq));
    need(o.lr > 0 && std::isfinite(o.lr), "--lr must be positive");
    need(o.beta1 >= 0 && o.beta1 < 1, "--beta1 must be in [0, 1)");
    need(o.num_threads >= 0, "--num_threads must be >= 0");
    need(o.max_pixels >= 1, "--max_pixels must be >= 1 (or 'none')");
  } else {
    need(o.num >= 1, "--num must be >= 1, got " + std::to_string(o.num));
    need(o.label >= 0, "--label is required: the class to draw (0 .. K-1), got " + std::to_string(o.label));
  }
}

}  // namespace

void validate_options(const Options& o, bool is_train) {
  auto need = [](bool ok, const std::string& msg) {
    if (!ok) throw Error(msg);
  };
  if (o.model == "cgan") return validate_cgan_options(o, is_train, need);
  // ---- the model, and the data it reads ----
  const std::vector<std::string> models = model_names(is_train);
  std::string known;  // "a, b or c"
  for (size_t i = 0; i < models.size(); ++i)
    known += (i == 0 ? "" : i + 1 == models.size() ? " or " : ", ") + models[i];
  need(std::find(models.begin(), models.end(), o.model) != models.end(),
       std::string("--model must be ") + known + (is_train ? " in cyclegan_train" : " in cyclegan_test") +
           ", got '" + o.model + "'");
  const std::string mode = o.model == "cycle_gan" ? "unaligned" : o.model == "pix2pix" ? "aligned" : "single";
  const char* what = o.model == "cycle_gan" ? "two unpaired folders (unaligned)"
                     : o.model == "pix2pix" ? "paired AB images (aligned)"
                                            : "one folder of images (single)";
  need(o.dataset_mode == mode,
       "--dataset_mode: --model " + o.model + " reads " + what + ", got '" + o.dataset_mode + "'");
  // ---- networks ----
  need(o.input_nc == 1 || o.input_nc == 3, "--input_nc must be 1 or 3");
  need(o.output_nc == 1 || o.output_nc == 3, "--output_nc must be 1 or 3");
  need(o.ngf > 0 && o.ndf > 0, "--ngf and --ndf must be positive");
  need(known_generator(o.netG), "--netG '" + o.netG +
                                    "' is not recognized (expected resnet_9blocks, resnet_6blocks, "
                                    "resnet_<N>blocks, unet_128 or unet_256)");
  need(o.norm == "instance" || o.norm == "batch" || o.norm == "syncbatch" || o.norm == "none",
       "--norm must be instance, batch, syncbatch or none, got '" + o.norm + "'");
  need(o.dist_backend == "auto" || o.dist_backend == "nccl" || o.dist_backend == "host",
       "--dist_backend must be auto, nccl or host, got '" + o.dist_backend + "'");
  need(nn::known_init_type(o.init_type),
       "--init_type '" + o.init_type + "' is not known (expected normal, xavier, kaiming or orthogonal)");
  need(std::isfinite(o.init_gain), "--init_gain must be a finite number");
  if (is_train) {
    need(known_discriminator(o.netD),
         "--netD '" + o.netD + "' is not recognized (expected basic, n_layers or pixel)");
    need(o.n_layers_D >= 1, "--n_layers_D must be >= 1, got " + std::to_string(o.n_layers_D));
  }
  // ---- data ----
  need(o.direction == "AtoB" || o.direction == "BtoA",
       "--direction must be AtoB or BtoA, got '" + o.direction + "'");
  need(o.batch_size >= 1, "--batch_size must be >= 1");
  need(o.num_threads >= 0, "--num_threads must be >= 0");
  need(o.device == "cpu" || o.device == "cuda", "--device must be cpu or cuda, got '" + o.device + "'");
  need(o.max_dataset_size >= 1, "--max_dataset_size must be >= 1");
  data::validate(
      data::Preprocess{o.preprocess, o.load_size, o.crop_size});  // names --preprocess or the sizes
  // The ResNet generator halves the size twice and doubles it twice, the U-Nets 7 or 8 times: other
  // sizes come back changed (or fail in a skip connection) mid-training, so the crop is checked
  // here, before anything is written.
  const bool crops =
      o.preprocess == "resize_and_crop" || o.preprocess == "crop" || o.preprocess == "scale_width_and_crop";
  const int downs = unet_downsamplings(o.netG);
  const int unit = downs ? 1 << downs : 4;
  need(!crops || (o.crop_size >= unit && o.crop_size % unit == 0),
       "--crop_size must be a positive multiple of " + std::to_string(unit) + " (--netG " + o.netG +
           " halves the size " + (unit == 4 ? "twice" : std::to_string(downs) + " times") + "), got " +
           std::to_string(o.crop_size));
  // resized to --load_size, then cropped: every image would be refused
  need(!(o.preprocess == "resize_and_crop" || o.preprocess == "scale_width_and_crop") ||
           o.load_size >= o.crop_size,
       "--load_size " + std::to_string(o.load_size) + " is smaller than --crop_size " +
           std::to_string(o.crop_size) + ": --preprocess " + o.preprocess +
           " resizes to --load_size, then crops");
  need(o.preprocess != "scale_width" || (o.load_size >= 4 && o.load_size % 4 == 0),
       "--load_size must be a positive multiple of 4 with --preprocess scale_width, got " +
           std::to_string(o.load_size));
  need(o.display_winsize >= 1, "--display_winsize must be >= 1");
  need(o.max_pixels >= 1, "--max_pixels must be >= 1 (or 'none')");
  need(o.load_iter >= 0, "--load_iter must be >= 0");
  if (is_train) {
    need(o.update_html_freq >= 1, "--update_html_freq must be >= 1");
    need(o.n_epochs >= 0 && o.n_epochs_decay >= 0, "--n_epochs and --n_epochs_decay must be >= 0");
    need(o.epoch_count >= 1, "--epoch_count must be >= 1");
    need(o.print_freq >= 1 && o.display_freq >= 1 && o.save_latest_freq >= 1 && o.save_epoch_freq >= 1,
         "--print_freq, --display_freq, --save_latest_freq and --save_epoch_freq must be >= 1");
    need(o.pool_size >= 0, "--pool_size must be >= 0");
    need(o.lr > 0 && std::isfinite(o.lr), "--lr must be positive");
    need(o.beta1 >= 0 && o.beta1 < 1, "--beta1 must be in [0, 1)");
    need(o.gan_mode == "lsgan" || o.gan_mode == "vanilla" || o.gan_mode == "wgangp",
         "--gan_mode '" + o.gan_mode + "' is not implemented (expected lsgan, vanilla or wgangp)");
    need(o.lr_policy == "linear" || o.lr_policy == "step" || o.lr_policy == "plateau" ||
             o.lr_policy == "cosine",
         "--lr_policy '" + o.lr_policy + "' is not known (expected linear, step, plateau or cosine)");
    need(o.lr_policy != "step" || o.lr_decay_iters > 0,
         "--lr_decay_iters must be > 0 with --lr_policy step, got " + std::to_string(o.lr_decay_iters));
    if (o.model == "cycle_gan") {
      need(o.lambda_A >= 0 && o.lambda_B >= 0 && o.lambda_identity >= 0,
           "--lambda_A, --lambda_B and --lambda_identity must be >= 0");
      need(o.lambda_identity == 0 || o.input_nc == o.output_nc,
           "--lambda_identity > 0 needs --input_nc == --output_nc; set --lambda_identity 0");
    }
    if (o.model == "pix2pix")
      need(o.lambda_L1 >= 0 && std::isfinite(o.lambda_L1), "--lambda_L1 must be >= 0");
  } else {
    need(o.aspect_ratio > 0, "--aspect_ratio must be positive");
  }
}

}  // namespace cg::models
