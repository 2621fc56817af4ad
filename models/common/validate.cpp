#include <algorithm>
#include <cmath>
#include <limits>

#include "data/dataset.h"
#include "models/common/cli.h"
#include "models/common/flags.h"
#include "models/common/model_spec.h"
#include "models/common/validation.h"
#include "models/networks/networks.h"
#include "nn/init.h"

namespace cg::models {

namespace {
// Counts that size memory or threads at once, bounded so that a typo is an error naming its flag
// rather than an abort or an allocation of the whole machine.
constexpr int kMaxThreads = 256;      // --num_threads: loader threads
constexpr int kMaxBatch = 65536;      // --batch_size: samples per rank and step
constexpr int kMaxFilters = 4096;     // --ngf, --ndf: 64 by default; a ResNet G at 4096 is 9.6 GB
constexpr int kMaxPool = 65536;       // --pool_size: images each pool may hold
constexpr double kMaxAspect = 1e4;    // --aspect_ratio: a saved image stretched this far at most
constexpr int kMaxEpochs = 10000000;  // --n_epochs, --n_epochs_decay, --epoch_count: their sum fits an int
}  // namespace

void check_folder_name(const std::string& flag, const std::string& value, const std::string& what) {
  std::string why;
  if (value.empty())
    why = "is empty";
  else if (value == "." || value == "..")
    why = "is '" + value + "'";
  else if (value.find('/') != std::string::npos)
    why = "holds a '/'";
  else if (value.find('\0') != std::string::npos)
    why = "holds a NUL";
  if (!why.empty())
    throw Error(flag + " '" + value + "' " + why + ": it names " + what +
                ", one folder name (no '/', not '.' or '..'), so that nothing is written outside its folder");
}

// The harness checks the flags the program takes (a model's own program takes few), then the
// model checks its own.
void validate_options(const Options& o, bool is_train) {
  const OptionCheck need = [](bool ok, const std::string& msg) {
    if (!ok) throw Error(msg);
  };
  const Program& program = program_of(o, is_train);
  auto has = [&](const char* flag) { return takes_flag(program, o.model, flag); };
  // ---- the model, and the data it reads ----
  const std::vector<std::string> models = model_names(program);
  std::string known;  // "a, b or c"
  for (size_t i = 0; i < models.size(); ++i)
    known += (i == 0 ? "" : i + 1 == models.size() ? " or " : ", ") + models[i];
  need(std::find(models.begin(), models.end(), o.model) != models.end(),
       "--model must be " + known + " in " + program.name + ", got '" + o.model + "'");
  const ModelSpec& spec = model_spec(o.model);
  if (has("dataset_mode"))
    need(o.dataset_mode == spec.dataset_mode, "--dataset_mode: --model " + o.model + " reads " +
                                                  spec.dataset_what + ", got '" + o.dataset_mode + "'");
  need(o.device == "cpu" || o.device == "cuda", "--device must be cpu or cuda, got '" + o.device + "'");
  // ---- names that become folders and files: each is one name, so nothing lands outside its folder ----
  if (has("name"))
    check_folder_name(o.suffix.empty() ? "--name" : "--name (with --suffix)", o.name,
                      "the experiment's folder in --checkpoints_dir" +
                          std::string(has("results_dir") ? " and --results_dir" : ""));
  if (has("phase") && (o.phase.empty() || o.phase.find('/') != std::string::npos))
    throw Error("--phase '" + o.phase +
                "' must be a name without '/' (train, test, ...): it names folders and files");
  if (has("epoch") && (o.epoch.empty() || o.epoch.find('/') != std::string::npos))
    throw Error(
        "--epoch '" + o.epoch +
        "' must be a checkpoint label without '/' (latest, an epoch number, iter_<N>): it names files");
  // ---- networks ----
  if (has("input_nc")) {
    need(o.input_nc == 1 || o.input_nc == 3, "--input_nc must be 1 or 3");
    need(o.output_nc == 1 || o.output_nc == 3, "--output_nc must be 1 or 3");
  }
  if (has("ngf"))
    need(o.ngf > 0 && o.ndf > 0 && o.ngf <= kMaxFilters && o.ndf <= kMaxFilters,
         "--ngf and --ndf must be positive and at most " + std::to_string(kMaxFilters) + ", got " +
             std::to_string(o.ngf) + " and " + std::to_string(o.ndf));
  if (has("netG"))
    need(known_generator(o.netG), "--netG '" + o.netG +
                                      "' is not recognized (expected resnet_9blocks, resnet_6blocks, "
                                      "resnet_<N>blocks, unet_128 or unet_256)");
  if (has("norm"))
    need(o.norm == "instance" || o.norm == "batch" || o.norm == "syncbatch" || o.norm == "none",
         "--norm must be instance, batch, syncbatch or none, got '" + o.norm + "'");
  if (has("dist_backend"))
    need(o.dist_backend == "auto" || o.dist_backend == "nccl" || o.dist_backend == "host",
         "--dist_backend must be auto, nccl or host, got '" + o.dist_backend + "'");
  if (has("init_type")) {
    need(nn::known_init_type(o.init_type),
         "--init_type '" + o.init_type + "' is not known (expected normal, xavier, kaiming or orthogonal)");
    need(std::isfinite(o.init_gain), "--init_gain must be a finite number");
  }
  if (has("netD")) {
    need(known_discriminator(o.netD),
         "--netD '" + o.netD + "' is not recognized (expected basic, n_layers or pixel)");
    need(o.n_layers_D >= 1, "--n_layers_D must be >= 1, got " + std::to_string(o.n_layers_D));
  }
  // ---- data ----
  if (has("direction"))
    need(o.direction == "AtoB" || o.direction == "BtoA",
         "--direction must be AtoB or BtoA, got '" + o.direction + "'");
  if (has("batch_size"))
    need(o.batch_size >= 1 && o.batch_size <= kMaxBatch, "--batch_size must be >= 1 and at most " +
                                                             std::to_string(kMaxBatch) + ", got " +
                                                             std::to_string(o.batch_size));
  if (has("num_threads"))
    need(o.num_threads >= 0 && o.num_threads <= kMaxThreads,
         "--num_threads must be >= 0 and at most " + std::to_string(kMaxThreads) +
             " (threads decoding images), got " + std::to_string(o.num_threads));
  if (has("max_dataset_size")) need(o.max_dataset_size >= 1, "--max_dataset_size must be >= 1");
  if (has("preprocess")) {
    data::validate(
        data::Preprocess{o.preprocess, o.load_size, o.crop_size});  // names --preprocess or the sizes
    // The ResNet generator halves the size twice and doubles it twice, the U-Nets 7 or 8 times:
    // other sizes come back changed (or fail in a skip connection) mid-training, so the crop is
    // checked here, before anything is written.
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
    // every image is resized to load_size x load_size (or that wide): no bigger than an image may be
    const int64_t pixels = int64_t{o.load_size} * o.load_size;
    const bool resizes = o.preprocess.find("resize") != std::string::npos ||
                         o.preprocess.find("scale_width") != std::string::npos;
    need(!resizes || pixels <= o.max_pixels,
         "--load_size " + std::to_string(o.load_size) + " would resize every image to " +
             std::to_string(pixels) + " pixels or more, beyond --max_pixels " + std::to_string(o.max_pixels));
  }
  if (has("display_winsize")) need(o.display_winsize >= 1, "--display_winsize must be >= 1");
  if (has("max_pixels")) need(o.max_pixels >= 1, "--max_pixels must be >= 1 (or 'none')");
  if (has("load_iter")) need(o.load_iter >= 0, "--load_iter must be >= 0");
  // ---- training ----
  if (has("update_html_freq")) need(o.update_html_freq >= 1, "--update_html_freq must be >= 1");
  if (has("n_epochs"))
    need(o.n_epochs >= 0 && o.n_epochs_decay >= 0 && o.n_epochs <= kMaxEpochs &&
             o.n_epochs_decay <= kMaxEpochs,
         "--n_epochs and --n_epochs_decay must be >= 0 and at most " + std::to_string(kMaxEpochs) + ", got " +
             std::to_string(o.n_epochs) + " and " + std::to_string(o.n_epochs_decay));
  if (has("epoch_count"))
    need(o.epoch_count >= 1 && o.epoch_count <= kMaxEpochs, "--epoch_count must be >= 1 and at most " +
                                                                std::to_string(kMaxEpochs) + ", got " +
                                                                std::to_string(o.epoch_count));
  if (has("print_freq"))
    need(o.print_freq >= 1 && o.display_freq >= 1 && o.save_latest_freq >= 1 && o.save_epoch_freq >= 1,
         "--print_freq, --display_freq, --save_latest_freq and --save_epoch_freq must be >= 1");
  if (has("pool_size"))
    need(o.pool_size >= 0 && o.pool_size <= kMaxPool, "--pool_size must be >= 0 and at most " +
                                                          std::to_string(kMaxPool) + ", got " +
                                                          std::to_string(o.pool_size));
  if (has("lr")) need(o.lr > 0 && std::isfinite(o.lr), "--lr must be positive");
  if (has("beta1")) need(o.beta1 >= 0 && o.beta1 < 1, "--beta1 must be in [0, 1)");
  if (has("gan_mode"))
    need(o.gan_mode == "lsgan" || o.gan_mode == "vanilla" || o.gan_mode == "wgangp",
         "--gan_mode '" + o.gan_mode + "' is not implemented (expected lsgan, vanilla or wgangp)");
  if (has("lr_policy")) {
    need(o.lr_policy == "linear" || o.lr_policy == "step" || o.lr_policy == "plateau" ||
             o.lr_policy == "cosine",
         "--lr_policy '" + o.lr_policy + "' is not known (expected linear, step, plateau or cosine)");
    need(o.lr_policy != "step" || o.lr_decay_iters > 0,
         "--lr_decay_iters must be > 0 with --lr_policy step, got " + std::to_string(o.lr_decay_iters));
  }
  // ---- validation ----
  if (has("val_freq")) {
    need(o.val_freq >= 0,
         "--val_freq must be >= 0 (epochs between validations; 0: none), got " + std::to_string(o.val_freq));
    need(o.val_max >= 1, "--val_max must be >= 1 (or 'all')");
    need(is_validation_metric(o.val_metric),
         "--val_metric must be auto, rmse, accuracy, psnr, ssim or fwd, got '" + o.val_metric + "'");
    // validation is off: a validation flag given alone would silently do nothing
    need(o.val_freq > 0 || (o.val_dataroot.empty() && o.val_metric == "auto" &&
                            o.val_max == std::numeric_limits<int64_t>::max()),
         "--val_dataroot, --val_metric and --val_max need --val_freq N > 0 (validation is off)");
  }
  // ---- testing ----
  if (has("aspect_ratio"))
    need(o.aspect_ratio >= 1 / kMaxAspect && o.aspect_ratio <= kMaxAspect,
         "--aspect_ratio must be positive (from 0.0001 to 10000: a saved image is stretched by it), got " +
             py_float(o.aspect_ratio));
  if (has("tile_size"))
    need(o.tile_size == 0 || o.tile_size >= 16,
         "--tile_size must be 0 (whole images) or at least 16 pixels, got " + std::to_string(o.tile_size));
  if (has("save_bits"))
    need(o.save_bits == 8 || o.save_bits == 16,
         "--save_bits must be 8 or 16, got " + std::to_string(o.save_bits));
  if (has("recompute") && o.recompute)
    need(unet_downsamplings(o.netG) == 0,
         "--recompute recomputes ResNet generators, and --netG " + o.netG + " is a U-Net");
  // ---- the model's own ----
  if (spec.validate) spec.validate(o, is_train, need);
}

}  // namespace cg::models
