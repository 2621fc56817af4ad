// The conditional GAN of GANs in Action: --model cgan, served by programs of its own (cgan_train,
// cgan_sample) with the book's settings (Keras's defaults) and a few flags, on class folders drawn
// at random.
#include "models/cgan/spec.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "data/class_folders.h"
#include "models/cgan/cgan_model.h"

namespace cg::cgan {

using namespace models;

namespace {
// The longest noise vector: the book's is 100; beyond this G's first layer alone would take
// gigabytes (z_dim x 12544 weights).
constexpr int kMaxZDim = 4096;
// The most images cgan_sample writes in one run (one file each).
constexpr int kMaxNum = 1000000;
}  // namespace

const Program& train_program() {
  static const Program p{
      "cgan_train",
      true,
      "Trains the conditional GAN of GANs in Action on 28x28 gray images in class folders "
      "(DATAROOT/<class>/, "
      "the sorted folder names being the classes 0..K-1).",
      "cgan",
      {"dataroot", "name", "gpu_ids", "checkpoints_dir", "num_threads", "batch_size", "max_pixels", "epoch",
       "verbose", "device", "dist_backend", "seed", "no_html", "continue_train", "overwrite", "beta1", "lr"}};
  return p;
}

const Program& sample_program() {
  static const Program p{"cgan_sample",
                         false,
                         "Draws images of one class from a trained conditional GAN.",
                         "cgan",
                         {"name", "gpu_ids", "checkpoints_dir", "epoch", "device", "seed", "results_dir"}};
  return p;
}

const ModelSpec& spec() {
  static const ModelSpec s = [] {
    ModelSpec m;
    m.name = "cgan";
    m.title = "cgan";
    m.description = "the conditional GAN";
    m.holds = "a conditional GAN (G, D)";
    m.own_programs = {&train_program(), &sample_program()};
    m.dataset_mode = "classes";
    m.dataset_what = "class folders";
    m.dataroot_help = "one folder per class (cgan_train)";
    // n_iters optimizer steps of random draws (with replacement) from the class folders: each step
    // takes --batch_size draws on every rank
    m.dataset = [](const Options& o, bool) -> std::unique_ptr<data::Dataset> {
      return std::make_unique<data::RandomDraws>(
          std::make_unique<data::ClassFolderDataset>(o.dataroot, 28, o.max_pixels),
          int64_t{o.get<int>("n_iters")} * o.batch_size * o.ranks);
    };
    m.flags = {
        {"n_iters", Own{12000}, kTrain,
         "training iterations (optimizer steps), each on --batch_size random real images per rank"},
        {"z_dim", Own{100}, kTrain, "length of the noise vector z"},
        {"sample_freq", Own{1000}, kTrain,
         "iterations between rows of samples on the page (one row per class) and 'latest' checkpoints"},
        {"label", Own{-1}, kTest, "the class to draw: 0 .. K-1, K the number of class folders trained on"},
        {"num", Own{10}, kTest, "how many images to write"},
    };
    // the book's settings (Keras's defaults), and the harness's counts in images, as the official
    // counts them: a page row every --sample_freq iterations, losses every 100, 'latest' every 1000
    m.defaults = [](Options& o, bool, const GivenFlag&) {
      o.set("num_classes", 0);  // from the data (training) or the checkpoint (sampling)
      o.input_nc = o.output_nc = 1;
      o.batch_size = 32;
      o.lr = 0.001;
      o.beta1 = 0.9;
      o.lr_policy = "constant";
      o.n_epochs = 1;  // one pass over n_iters * batch_size random draws
      o.n_epochs_decay = 0;
      o.serial_batches = true;  // the draws are random already
      o.no_flip = true;
      o.display_winsize = 560;
      o.num_test = 10;
    };
    // the harness counts images, as the official's total_iters: the book's counts are iterations
    m.after_parse = [](Options& o, bool is_train) {
      const int freq = o.get<int>("sample_freq");
      if (!is_train || o.batch_size < 1 || freq < 1) return;
      const auto images = [&](int iters) {  // saturated: a huge count means "never", not a wrap
        return static_cast<int>(std::min<int64_t>(INT_MAX, int64_t{iters} * o.batch_size));
      };
      o.display_freq = o.update_html_freq = o.save_latest_freq = images(freq);
      o.print_freq = images(std::min(100, freq));
    };
    m.validate = [](const Options& o, bool is_train, const OptionCheck& need) {
      if (is_train) {
        const int n_iters = o.get<int>("n_iters"), z_dim = o.get<int>("z_dim"),
                  freq = o.get<int>("sample_freq");
        need(n_iters >= 1, "--n_iters must be >= 1, got " + std::to_string(n_iters));
        need(z_dim >= 1 && z_dim <= kMaxZDim, "--z_dim must be >= 1 and at most " + std::to_string(kMaxZDim) +
                                                  ", got " + std::to_string(z_dim));
        need(freq >= 1, "--sample_freq must be >= 1, got " + std::to_string(freq));
      } else {
        const int num = o.get<int>("num"), label = o.get<int>("label");
        need(num >= 1 && num <= kMaxNum,
             "--num must be >= 1 and at most " + std::to_string(kMaxNum) + ", got " + std::to_string(num));
        need(label >= 0, "--label is required: the class to draw (0 .. K-1), got " + std::to_string(label));
      }
    };
    // the classes G and D are built for: the data's (the flags first, then the folders)
    m.prepare_training = [](Options& o) {
      o.set("num_classes", static_cast<int>(data::class_folder_names(o.dataroot).size()));
      // the harness counts the samples of every rank: an iteration is --batch_size x ranks of them
      for (int* freq : {&o.display_freq, &o.update_html_freq, &o.save_latest_freq, &o.print_freq})
        *freq = static_cast<int>(std::min<int64_t>(INT_MAX, int64_t{*freq} * o.ranks));
    };
    m.network_names = [](const Options&, bool is_train) -> std::vector<std::string> {
      if (is_train) return {"G", "D"};
      return {"G"};
    };
    m.create = [](const Options& o, bool is_train) -> std::unique_ptr<Model> {
      return std::make_unique<CGANModel>(o, is_train);
    };
    return m;
  }();
  return s;
}

}  // namespace cg::cgan
