// Every option of the official train.py and test.py (base, train and test options), with the
// official defaults, plus ours (device, seed), and a model's own options by name (`own`: the
// official modify_commandline_options' add_argument, declared in the model's folder). The member
// initialisers are the official base and train defaults; a model's own defaults (pix2pix's --norm
// batch --netG unet_256, ...) and the test program's come from default_options (models/common/
// model_spec.h). apps/ fill it from the command line through the flag tables (models/common/
// flag_table.cpp and each model's rows), the one list of names, defaults, help texts and listing
// order.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <variant>

#include "backend/types.h"  // cg::Error

#include "data/image.h"  // kMaxPixels

namespace cg::models {

// The value of a model's own option: its flag's type.
using OptionValue = std::variant<int, double, bool, std::string>;

struct Options {
  // ---- base ----
  std::string dataroot;
  std::string name = "experiment_name";
  std::string checkpoints_dir = "./checkpoints";
  std::string model;  // the --model (models/registry.cpp lists them); set by default_options
  int input_nc = 3, output_nc = 3;
  int ngf = 64, ndf = 64;
  std::string netD = "basic";           // basic | n_layers | pixel
  std::string netG = "resnet_9blocks";  // resnet_9blocks | resnet_6blocks | unet_256 | unet_128
  int n_layers_D = 3;
  std::string norm = "instance";  // instance | batch | syncbatch (statistics over every rank's batch) | none
  std::string init_type = "normal";
  double init_gain = 0.02;
  bool no_dropout = false;  // the base default: dropout on (a model may turn it off)
  std::string direction = "AtoB";
  bool serial_batches = false;
  int num_threads = 4;
  int batch_size = 1;
  int load_size = 286, crop_size = 256;
  int64_t max_dataset_size = std::numeric_limits<int64_t>::max();
  std::string preprocess = "resize_and_crop";
  bool no_flip = false;
  int64_t max_pixels = data::kMaxPixels;  // ours: larger images are refused unread (PIL's limit)
  std::string epoch = "latest";
  std::string device = "cpu";  // cpu | cuda (ours; --gpu_ids sets it the official way)
  uint64_t seed = 0;           // ours: the official is not seeded
  bool amp = false;            // ours: bfloat16 convolutions (ops/conv.h, Bf16Autocast)
  // "-1": the CPU, "0": the first GPU, "0,1": a rank on each; kept in step with `device`
  std::string gpu_ids = "-1";
  std::string dist_backend = "auto";       // ours: GPU gradients between ranks over nccl | host (MPI) | auto
  std::string dataset_mode = "unaligned";  // unaligned | aligned | single: each model sets its own
  int display_winsize = 256;               // width of the images on the web pages, in pixels
  int load_iter = 0;                       // > 0: load checkpoint iter_<load_iter> instead of --epoch
  bool verbose = false;                    // print the networks' layers
  std::string suffix;                      // appended to the name: name_<suffix with {option} filled in>
  bool use_wandb = false;                  // accepted, ignored: no Weights & Biases here
  std::string wandb_project_name = "CycleGAN-and-pix2pix";
  // ---- train ----
  int display_freq = 400, print_freq = 100;
  int update_html_freq = 1000;  // the page keeps a row of images every this many iterations
  bool no_html = false;         // no training web page
  // visdom's: accepted, ignored (the web page replaces visdom)
  int display_ncols = 4, display_id = 1, display_port = 8097;
  std::string display_server = "http://localhost", display_env = "main";
  int save_latest_freq = 5000, save_epoch_freq = 5;
  bool save_by_iter = false, continue_train = false;
  bool overwrite = false;  // ours: a new training may replace the trained weights of its experiment
  int epoch_count = 1;
  std::string phase = "train";
  int n_epochs = 100, n_epochs_decay = 100;
  double beta1 = 0.5, lr = 0.0002;
  std::string gan_mode = "lsgan";  // lsgan | vanilla | wgangp
  int pool_size = 50;
  std::string lr_policy = "linear";
  int lr_decay_iters = 50;
  // ours: validation during training (models/common/validation.h)
  int val_freq = 0;                 // epochs between validations (and after the last); 0: none
  std::string val_dataroot;         // where the validation split is; "": --dataroot
  std::string val_metric = "auto";  // what 'best' is by: auto | rmse | accuracy | psnr | ssim | fwd
  int64_t val_max = std::numeric_limits<int64_t>::max();  // images scored per validation
  bool recompute = false;  // ours: ResNet generators recompute activations in backward (ops/checkpoint.h)
  // ---- test ----
  std::string results_dir = "./results/";
  int64_t num_test = std::numeric_limits<int64_t>::max();  // ours: all images (the official: 50)
  double aspect_ratio = 1.0;  // saved results are stretched to this width/height ratio, as the official
  bool eval = false;          // test in eval mode (dropout off); the official test.py's default is train mode
  int tile_size = 0;          // ours: > 0 translates tile by tile (nn/tiled.h), equal to whole images
  int save_bits = 8;          // ours: 16 writes the results as 16-bit PNGs

  // ---- not a flag: the ranks of the data-parallel training these options run in (set by the
  //      trainer before the data is made; a model whose dataset counts optimizer steps needs it) ----
  int ranks = 1;

  // ---- a model's own options, by name: those of its flag rows (with their defaults), and values
  //      it derives (the CGAN's number of classes) ----
  std::map<std::string, OptionValue> own;
  // The value of own option `key`; an error names it when the model has no such option or it has
  // another type.
  template <class T>
  const T& get(const std::string& key) const {
    const auto it = own.find(key);
    if (it == own.end()) throw Error("--model " + model + " has no option '" + key + "'");
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    throw Error("option '" + key + "' of --model " + model + " is not of the type asked for");
  }
  // Sets own option `key`, keeping the type it has (set("lambda_A", 5) stores 5.0 in a double
  // option); a new key takes the value's type.
  template <class T>
  void set(const std::string& key, T value) {
    const auto it = own.find(key);
    if (it == own.end()) {
      if constexpr (std::is_convertible_v<T, std::string>)
        own[key] = OptionValue(std::string(value));
      else
        own[key] = OptionValue(value);
      return;
    }
    std::visit(
        [&](auto& slot) {
          using S = std::decay_t<decltype(slot)>;
          if constexpr (std::is_convertible_v<T, std::string> == std::is_same_v<S, std::string>)
            slot = static_cast<S>(value);
          else
            throw Error("option '" + key + "' of --model " + model + " is not of the type given");
        },
        it->second);
  }
};

}  // namespace cg::models
