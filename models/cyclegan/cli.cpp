#include "models/cyclegan/cli.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "backend/types.h"

namespace cg::cyclegan {

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

// Every option as (name, Python-style value), the way the official prints vars(opt).
std::vector<std::pair<std::string, std::string>> values(const Options& o, bool is_train) {
  std::vector<std::pair<std::string, std::string>> v = {
      {"batch_size", std::to_string(o.batch_size)},
      {"checkpoints_dir", o.checkpoints_dir},
      {"crop_size", std::to_string(o.crop_size)},
      {"dataroot", o.dataroot.empty() ? "None" : o.dataroot},
      {"device", o.device},
      {"direction", o.direction},
      {"epoch", o.epoch},
      {"init_gain", py_float(o.init_gain)},
      {"init_type", o.init_type},
      {"input_nc", std::to_string(o.input_nc)},
      {"isTrain", py_bool(is_train)},
      {"load_size", std::to_string(o.load_size)},
      {"max_dataset_size", o.max_dataset_size == std::numeric_limits<int64_t>::max()
                               ? "inf"
                               : std::to_string(o.max_dataset_size)},
      {"model", o.model},
      {"n_layers_D", std::to_string(o.n_layers_D)},
      {"name", o.name},
      {"ndf", std::to_string(o.ndf)},
      {"netD", o.netD},
      {"netG", o.netG},
      {"ngf", std::to_string(o.ngf)},
      {"no_dropout", py_bool(o.no_dropout)},
      {"no_flip", py_bool(o.no_flip)},
      {"norm", o.norm},
      {"num_threads", std::to_string(o.num_threads)},
      {"output_nc", std::to_string(o.output_nc)},
      {"phase", o.phase},
      {"preprocess", o.preprocess},
      {"seed", std::to_string(o.seed)},
      {"serial_batches", py_bool(o.serial_batches)},
  };
  if (is_train) {
    v.insert(v.end(), {{"beta1", py_float(o.beta1)},
                       {"continue_train", py_bool(o.continue_train)},
                       {"display_freq", std::to_string(o.display_freq)},
                       {"epoch_count", std::to_string(o.epoch_count)},
                       {"gan_mode", o.gan_mode},
                       {"lambda_A", py_float(o.lambda_A)},
                       {"lambda_B", py_float(o.lambda_B)},
                       {"lambda_identity", py_float(o.lambda_identity)},
                       {"lr", py_float(o.lr)},
                       {"lr_decay_iters", std::to_string(o.lr_decay_iters)},
                       {"lr_policy", o.lr_policy},
                       {"n_epochs", std::to_string(o.n_epochs)},
                       {"n_epochs_decay", std::to_string(o.n_epochs_decay)},
                       {"pool_size", std::to_string(o.pool_size)},
                       {"print_freq", std::to_string(o.print_freq)},
                       {"save_by_iter", py_bool(o.save_by_iter)},
                       {"save_epoch_freq", std::to_string(o.save_epoch_freq)},
                       {"save_latest_freq", std::to_string(o.save_latest_freq)}});
  } else {
    v.insert(
        v.end(),
        {{"model_suffix", o.model_suffix},
         {"num_test", o.num_test == std::numeric_limits<int64_t>::max() ? "all" : std::to_string(o.num_test)},
         {"results_dir", o.results_dir}});
  }
  std::sort(v.begin(), v.end());
  return v;
}

// The options both programs share.
void add_base_options(CLI::App& app, Options& o, std::string& max_size) {
  app.add_option("--dataroot", o.dataroot,
                 "folder of the images: trainA/trainB (training), testA/testB (testing)");
  app.add_option("--name", o.name, "experiment name: checkpoints and results go to folders of this name")
      ->capture_default_str();
  app.add_option("--checkpoints_dir", o.checkpoints_dir, "where experiments keep their checkpoints")
      ->capture_default_str();
  app.add_option("--input_nc", o.input_nc, "channels of domain A images: 3 (RGB) or 1 (gray)")
      ->capture_default_str();
  app.add_option("--output_nc", o.output_nc, "channels of domain B images: 3 (RGB) or 1 (gray)")
      ->capture_default_str();
  app.add_option("--ngf", o.ngf, "filters in the generators' first convolution")->capture_default_str();
  app.add_option("--netG", o.netG, "generator: resnet_9blocks | resnet_6blocks (or resnet_<N>blocks)")
      ->capture_default_str();
  app.add_option("--norm", o.norm, "normalisation layer: instance | none")->capture_default_str();
  app.add_option("--init_type", o.init_type, "weight init: normal | xavier | kaiming | orthogonal")
      ->capture_default_str();
  app.add_option("--init_gain", o.init_gain, "scale of the normal, xavier and orthogonal inits")
      ->capture_default_str();
  app.add_flag("--no_dropout", o.no_dropout,
               "no dropout in the generators (the cycle_gan default: always on)");
  app.add_option("--direction", o.direction, "AtoB or BtoA: which folder is the generator's input")
      ->capture_default_str();
  app.add_flag("--serial_batches", o.serial_batches,
               "take images in order (otherwise shuffled, B drawn at random)");
  app.add_option("--num_threads", o.num_threads,
                 "threads decoding and preprocessing images in the background")
      ->capture_default_str();
  app.add_option("--batch_size", o.batch_size, "images per step")->capture_default_str();
  app.add_option("--load_size", o.load_size, "images are scaled to this size first")->capture_default_str();
  app.add_option("--crop_size", o.crop_size, "then cropped to this size")->capture_default_str();
  app.add_option("--max_dataset_size", max_size, "use at most this many images per domain ('inf' for all)")
      ->capture_default_str();
  app.add_option(
         "--preprocess", o.preprocess,
         "resize_and_crop | crop | scale_width | scale_width_and_crop | none (keep the size, rounded to a "
         "multiple of 4)")
      ->capture_default_str();
  app.add_flag("--no_flip", o.no_flip, "no random horizontal flips");
  app.add_option("--epoch", o.epoch, "which checkpoint to load: 'latest', an epoch number, or iter_<N>")
      ->capture_default_str();
  app.add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  app.add_option("--seed", o.seed,
                 "seed of every random generator (weights, data order, crops, flips, image pool)")
      ->capture_default_str();
}

Parsed finish(CLI::App& app, int argc, char** argv, Options& o, const std::string& max_size) {
  Parsed p;
  try {
    app.parse(argc, argv);
    if (max_size == "inf")
      o.max_dataset_size = std::numeric_limits<int64_t>::max();
    else {
      size_t used = 0;
      o.max_dataset_size = std::stoll(max_size, &used);
      if (used != max_size.size()) throw std::invalid_argument("trailing characters");
    }
  } catch (const CLI::ParseError& e) {
    p.exit_code = app.exit(e);
  } catch (const std::exception&) {
    std::fprintf(stderr, "--max_dataset_size: expected a whole number or 'inf', got '%s'\n",
                 max_size.c_str());
    p.exit_code = 2;
  }
  p.opt = o;
  return p;
}

}  // namespace

Parsed parse_train_args(int argc, char** argv) {
  Options o;
  std::string max_size = "inf";
  CLI::App app("Trains CycleGAN on unpaired images from DATAROOT/trainA and DATAROOT/trainB.",
               "cyclegan_train");
  app.get_formatter()->column_width(34);
  add_base_options(app, o, max_size);
  app.add_option("--model", o.model, "cycle_gan (the only model this program trains)")->capture_default_str();
  app.add_option("--ndf", o.ndf, "filters in the discriminators' first convolution")->capture_default_str();
  app.add_option("--netD", o.netD, "discriminator: basic (70x70 PatchGAN) | n_layers | pixel")
      ->capture_default_str();
  app.add_option("--n_layers_D", o.n_layers_D, "discriminator depth when --netD n_layers")
      ->capture_default_str();
  app.add_option("--display_freq", o.display_freq, "iterations between updates of the training web page")
      ->capture_default_str();
  app.add_option("--print_freq", o.print_freq, "iterations between loss reports")->capture_default_str();
  app.add_option("--save_latest_freq", o.save_latest_freq, "iterations between 'latest' checkpoints")
      ->capture_default_str();
  app.add_option("--save_epoch_freq", o.save_epoch_freq, "epochs between numbered checkpoints")
      ->capture_default_str();
  app.add_flag("--save_by_iter", o.save_by_iter,
               "name the periodic checkpoints iter_<N> instead of 'latest'");
  app.add_flag(
      "--continue_train", o.continue_train,
      "resume from the checkpoint --epoch (exactly where it stopped when its training state is there)");
  app.add_option("--epoch_count", o.epoch_count,
                 "number of the first epoch (when starting from weights only)")
      ->capture_default_str();
  app.add_option("--phase", o.phase, "dataset split: reads DATAROOT/<phase>A and <phase>B")
      ->capture_default_str();
  app.add_option("--n_epochs", o.n_epochs, "epochs at the initial learning rate")->capture_default_str();
  app.add_option("--n_epochs_decay", o.n_epochs_decay, "epochs of linear decay to zero after those")
      ->capture_default_str();
  app.add_option("--beta1", o.beta1, "Adam's beta1")->capture_default_str();
  app.add_option("--lr", o.lr, "initial learning rate of Adam")->capture_default_str();
  app.add_option("--gan_mode", o.gan_mode, "adversarial loss: lsgan | vanilla | wgangp")
      ->capture_default_str();
  app.add_option("--pool_size", o.pool_size, "size of the buffer of generated images the discriminators see")
      ->capture_default_str();
  app.add_option("--lr_policy", o.lr_policy, "learning-rate schedule: linear | step | plateau | cosine")
      ->capture_default_str();
  app.add_option("--lr_decay_iters", o.lr_decay_iters, "epochs between x0.1 steps when --lr_policy step")
      ->capture_default_str();
  app.add_option("--lambda_A", o.lambda_A, "weight of the cycle loss A -> B -> A")->capture_default_str();
  app.add_option("--lambda_B", o.lambda_B, "weight of the cycle loss B -> A -> B")->capture_default_str();
  app.add_option("--lambda_identity", o.lambda_identity,
                 "weight of the identity loss, relative to lambda_A/B (0 disables it)")
      ->capture_default_str();
  return finish(app, argc, argv, o, max_size);
}

Options test_defaults() {
  Options o;
  o.phase = "test";
  o.model = "test";   // the official test options' default
  o.load_size = 256;  // ... and load_size = crop_size
  return o;
}

Parsed parse_test_args(int argc, char** argv) {
  Options o = test_defaults();
  std::string max_size = "inf";
  CLI::App app("Translates images with trained CycleGAN generators.", "cyclegan_test");
  app.get_formatter()->column_width(34);
  add_base_options(app, o, max_size);
  app.add_option(
         "--model", o.model,
         "cycle_gan (testA/testB, both generators) | test (one generator over every image in --dataroot)")
      ->capture_default_str();
  app.add_option("--model_suffix", o.model_suffix,
                 "with --model test, loads <epoch>_net_G<model_suffix>: '_A' for G_A, '_B' for G_B")
      ->capture_default_str();
  app.add_option("--results_dir", o.results_dir, "where results are written")->capture_default_str();
  app.add_option("--phase", o.phase, "dataset split: reads DATAROOT/<phase>A and <phase>B")
      ->capture_default_str();
  std::string num_test = "all";
  app.add_option("--num_test", num_test, "how many images to translate ('all', the default, or a number)")
      ->capture_default_str();
  Parsed p = finish(app, argc, argv, o, max_size);
  if (!p.exit_code && num_test != "all") {
    try {
      size_t used = 0;
      p.opt.num_test = std::stoll(num_test, &used);
      if (used != num_test.size() || p.opt.num_test < 0) throw std::invalid_argument("");
    } catch (const std::exception&) {
      std::fprintf(stderr, "--num_test: expected 'all' or a number >= 0, got '%s'\n", num_test.c_str());
      p.exit_code = 2;
    }
  }
  return p;
}

std::string options_text(const Options& opt, bool is_train) {
  const Options defaults = is_train ? Options{} : test_defaults();
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

void validate_options(const Options& o, bool is_train) {
  auto need = [](bool ok, const std::string& msg) {
    if (!ok) throw Error(msg);
  };
  need(o.input_nc == 1 || o.input_nc == 3, "--input_nc must be 1 or 3");
  need(o.output_nc == 1 || o.output_nc == 3, "--output_nc must be 1 or 3");
  need(o.ngf > 0 && o.ndf > 0, "--ngf and --ndf must be positive");
  need(o.direction == "AtoB" || o.direction == "BtoA",
       "--direction must be AtoB or BtoA, got '" + o.direction + "'");
  need(o.batch_size >= 1, "--batch_size must be >= 1");
  need(o.num_threads >= 0, "--num_threads must be >= 0");
  need(o.device == "cpu" || o.device == "cuda", "--device must be cpu or cuda, got '" + o.device + "'");
  need(o.max_dataset_size >= 1, "--max_dataset_size must be >= 1");
  need(o.norm == "instance" || o.norm == "none",
       "--norm must be instance or none (batch is not supported), got '" + o.norm + "'");
  if (is_train) {
    need(o.model == "cycle_gan", "cyclegan_train trains --model cycle_gan only, got '" + o.model + "'");
    need(o.n_epochs >= 0 && o.n_epochs_decay >= 0, "--n_epochs and --n_epochs_decay must be >= 0");
    need(o.epoch_count >= 1, "--epoch_count must be >= 1");
    need(o.print_freq >= 1 && o.display_freq >= 1 && o.save_latest_freq >= 1 && o.save_epoch_freq >= 1,
         "--print_freq, --display_freq, --save_latest_freq and --save_epoch_freq must be >= 1");
    need(o.pool_size >= 0, "--pool_size must be >= 0");
    need(o.lr > 0, "--lr must be positive");
    need(o.beta1 >= 0 && o.beta1 < 1, "--beta1 must be in [0, 1)");
    need(o.lambda_identity == 0 || o.input_nc == o.output_nc,
         "--lambda_identity > 0 needs --input_nc == --output_nc; set --lambda_identity 0");
  } else {
    need(o.model == "cycle_gan" || o.model == "test",
         "--model must be cycle_gan or test, got '" + o.model + "'");
  }
}

}  // namespace cg::cyclegan
