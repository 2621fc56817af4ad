#include "models/registry.h"

#include "models/cgan/cgan_model.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "models/pix2pix/pix2pix_model.h"
#include "models/test_model/test_model.h"

namespace cg::models {

std::vector<std::string> model_names(bool is_train) {
  if (is_train) return {"cycle_gan", "pix2pix"};
  return {"cycle_gan", "pix2pix", "test"};
}

Options default_options(const std::string& model, bool is_train) {
  Options o;
  // the base options (Options{} holds cycle_gan's training defaults)
  o.no_dropout = false;
  if (!is_train) {  // the official test options
    o.phase = "test";
    o.load_size = o.crop_size;  // load_size = crop_size: no random crop at test time
  }
  o.model = model;
  // each model's modify_commandline_options
  if (model == "cycle_gan") {
    o.no_dropout = true;
  } else if (model == "pix2pix") {
    o.norm = "batch";
    o.netG = "unet_256";
    o.dataset_mode = "aligned";
    if (is_train) {
      o.pool_size = 0;
      o.gan_mode = "vanilla";
    }
  } else if (model == "test") {
    o.dataset_mode = "single";
  } else if (model == "cgan") {
    // the book's settings (Keras's defaults), and the harness's counts in images, as the official
    // counts them: a page row every --sample_freq iterations, losses every 100, 'latest' every 1000
    o.dataset_mode = "classes";
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
  }
  return o;
}

std::unique_ptr<Model> create_model(const Options& opt, bool is_train) {
  if (opt.model == "cycle_gan") return std::make_unique<cyclegan::CycleGANModel>(opt, is_train);
  if (opt.model == "pix2pix") return std::make_unique<pix2pix::Pix2PixModel>(opt, is_train);
  if (opt.model == "test") return std::make_unique<TestModel>(opt, is_train);
  if (opt.model == "cgan") return std::make_unique<cgan::CGANModel>(opt, is_train);
  std::string known;
  for (const std::string& m : model_names(is_train)) known += (known.empty() ? "" : ", ") + m;
  throw Error("--model '" + opt.model + "' is not a model this program " + (is_train ? "trains" : "tests") +
              " (expected " + known + ")");
}

}  // namespace cg::models
