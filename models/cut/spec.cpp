// CUT and FastCUT as the official code declares them (taesungp/contrastive-unpaired-translation at
// b3ac297): --model cut with CUTModel.modify_commandline_options' flags and defaults (which depend on
// --CUT_mode), the base and train options CUT has beyond CycleGAN's (--normG, --normD,
// --no_antialias, --no_antialias_up, --beta2, ...) and its training loop's ways: the schedules step
// at each epoch's end, partial batches are dropped, and the unaligned dataset stops resizing to
// --load_size once the learning rate decays.
#include "models/cut/spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "models/common/datasets.h"
#include "models/cut/cut_model.h"

namespace cg::cut {

using namespace models;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The official UnalignedDataset of CUT: CycleGAN's, except that in training, from epoch n_epochs + 1
// on (the learning rate decays, "finetuning"), images are resized to --crop_size rather than
// --load_size: no resize-and-crop augmentation.
class CutUnalignedDataset : public data::Dataset {
 public:
  CutUnalignedDataset(std::unique_ptr<data::Dataset> regular, std::unique_ptr<data::Dataset> finetuning,
                      int n_epochs)
      : regular_(std::move(regular)), finetuning_(std::move(finetuning)), n_epochs_(n_epochs) {}
  int64_t size() const override { return regular_->size(); }
  data::Sample get(int64_t index, Generator& gen) const override { return regular_->get(index, gen); }
  data::Sample get_in_epoch(int64_t index, int epoch, Generator& gen) const override {
    return (epoch > n_epochs_ ? finetuning_ : regular_)->get(index, gen);
  }
  std::string file(int64_t index) const override { return regular_->file(index); }

 private:
  std::unique_ptr<data::Dataset> regular_, finetuning_;
  int n_epochs_;
};

}  // namespace

const ModelSpec& spec() {
  static const ModelSpec s = [] {
    ModelSpec m;
    m.name = "cut";
    m.title = "CUT";
    m.description = "CUT (contrastive unpaired translation) and FastCUT";
    m.holds = "a CUT (G, F, D)";
    m.train_summary = "unpaired: trainA/trainB, one generator, PatchNCE; --CUT_mode CUT | FastCUT";
    m.test_summary = "testA/testB, the generator A -> B";
    m.programs = kBoth;
    m.dataset_mode = "unaligned";
    m.dataset_what = "two unpaired folders (unaligned)";
    m.dataroot_help = "trainA/trainB and testA/testB (cut)";
    m.without_flags = {"norm"};  // --normG and --normD instead
    m.lr_steps_after_epoch = true;
    m.drop_last = true;
    m.flags = {
        // ---- base options CUT has beyond CycleGAN's ----
        {"easy_label", Own{std::string("experiment_name")}, kBoth, "ignored",
         "an interpretable name the official code never reads"},
        {"normG", Own{std::string("instance")}, kBoth,
         "normalisation in the generator: instance | batch | none (or syncbatch, over every rank's batch)"},
        {"normD", Own{std::string("instance")}, kBoth,
         "normalisation in the discriminator: instance | batch | none (or syncbatch)"},
        {"no_antialias", Own{false}, kBoth,
         "stride-2 convolutions instead of stride-1 convolutions followed by a blur Downsample"},
        {"no_antialias_up", Own{false}, kBoth,
         "ConvTranspose2d upsampling instead of a transposed blur (Upsample) followed by a convolution"},
        {"random_scale_max", Own{3.0}, kBoth, "ignored",
         "only the official single-image dataset (SinCUT) scales images at random"},
        {"stylegan2_G_num_downsampling", Own{1}, kBoth, "ignored", "StyleGAN2 generators are not built"},
        // ---- train options ----
        {"evaluation_freq", Own{5000}, kTrain, "ignored", "the official train.py never reads it"},
        {"pretrained_name", Own{std::string()}, kTrain,
         "not built: to start from another experiment's weights, copy its <epoch>_net_*.safetensors here"},
        {"beta2", Own{0.999}, kTrain, "Adam's beta2"},
        // ---- CUTModel.modify_commandline_options ----
        {"CUT_mode", Own{std::string("CUT")}, kBoth,
         "CUT (--nce_idt, --lambda_NCE 1) or FastCUT (--lambda_NCE 10, --flip_equivariance, 150 + 50 "
         "epochs): the defaults of the flags it names"},
        {"lambda_GAN", Own{1.0}, kBoth, "weight of the GAN loss GAN(G(X))"},
        {"lambda_NCE", Own{1.0}, kBoth, "weight of the PatchNCE loss NCE(G(X), X) (FastCUT: 10)"},
        {"nce_idt", Own{false, true}, kBoth,
         "PatchNCE on the identity mapping too, NCE(G(Y), Y) (CUT: on; --nce_idt False turns it off)"},
        {"nce_layers", Own{std::string("0,4,8,12,16")}, kBoth, "the generator layers PatchNCE compares"},
        {"nce_includes_all_negatives_from_minibatch", Own{false, true}, kBoth,
         "negatives from every image of the batch, not only the query's own (for single-image training)"},
        {"netF", Own{std::string("mlp_sample")}, kBoth,
         "how features are sampled: mlp_sample (sampled positions through a 2-layer MLP per layer)"},
        {"netF_nc", Own{256}, kBoth, "channels of F's MLPs"},
        {"nce_T", Own{0.07}, kBoth, "temperature of PatchNCE"},
        {"num_patches", Own{256}, kBoth, "positions sampled per layer"},
        {"flip_equivariance", Own{false, true}, kBoth,
         "flip G's input at random and its features back, as a regulariser (FastCUT: on)"},
    };
    // set_defaults, then the mode's (the official parses --CUT_mode first)
    m.defaults = [](Options& o, bool, const GivenFlag& given) {
      o.init_type = "xavier";
      o.no_dropout = true;
      o.pool_size = 0;
      o.n_epochs = 200;  // CUT's train options
      o.n_epochs_decay = 200;
      const std::string mode = lower(given("CUT_mode").value_or("CUT"));
      if (mode == "cut") {
        o.set("nce_idt", true);
        o.set("lambda_NCE", 1.0);
      } else if (mode == "fastcut") {
        o.set("nce_idt", false);
        o.set("lambda_NCE", 10.0);
        o.set("flip_equivariance", true);
        o.n_epochs = 150;
        o.n_epochs_decay = 50;
      }  // anything else: refused by validate
    };
    m.validate = [](const Options& o, bool, const OptionCheck& need) {
      const std::string mode = o.get<std::string>("CUT_mode");
      need(mode == "CUT" || mode == "cut" || mode == "FastCUT" || mode == "fastcut",
           "--CUT_mode must be CUT or FastCUT (or cut, fastcut), got '" + mode + "'");
      for (const char* flag : {"normG", "normD"}) {
        const std::string n = o.get<std::string>(flag);
        need(n == "instance" || n == "batch" || n == "none" || n == "syncbatch",
             std::string("--") + flag + " must be instance, batch or none (or syncbatch), got '" + n + "'");
      }
      const int blocks = resnet_blocks(o.netG);
      need(blocks >= 0,
           "--netG '" + o.netG +
               "': CUT compares the features of a ResNet generator (resnet_9blocks, resnet_6blocks "
               "or resnet_<N>blocks); the official fails with the U-Nets, which return no features");
      const std::string netF = o.get<std::string>("netF");
      need(netF == "mlp_sample", "--netF '" + netF +
                                     "': only mlp_sample is built (with sample or reshape the official code "
                                     "fails at its first batch)");
      need(o.get<int>("netF_nc") >= 1, "--netF_nc must be >= 1");
      const double tau = o.get<double>("nce_T");
      need(tau > 0 && std::isfinite(tau), "--nce_T must be positive");
      need(o.get<int>("num_patches") >= 1,
           "--num_patches must be >= 1 (0, the official's whole-feature-map mode, is not built)");
      const double lambda_GAN = o.get<double>("lambda_GAN"), lambda_NCE = o.get<double>("lambda_NCE");
      need(lambda_GAN >= 0 && std::isfinite(lambda_GAN), "--lambda_GAN must be >= 0");
      need(lambda_NCE > 0 && std::isfinite(lambda_NCE),
           "--lambda_NCE must be > 0 (with 0 the official code fails: it makes no optimizer for F)");
      const double beta2 = o.get<double>("beta2");
      need(beta2 >= 0 && beta2 < 1, "--beta2 must be in [0, 1)");
      need(o.get<std::string>("pretrained_name").empty(),
           "--pretrained_name is not built: copy that experiment's <epoch>_net_G, _net_F and _net_D "
           ".safetensors into this one's folder and add --continue_train --epoch <epoch>");
      need(!o.get<bool>("nce_idt") || o.input_nc == o.output_nc,
           "--nce_idt translates real_B with G: it needs --input_nc == --output_nc (or --nce_idt False)");
      std::vector<int> layers;
      try {
        layers = parse_nce_layers(o.get<std::string>("nce_layers"));
      } catch (const Error& e) {
        need(false, e.what());
      }
      if (blocks >= 0) {
        const int count =
            generator_layers(blocks, o.get<bool>("no_antialias"), o.get<bool>("no_antialias_up"));
        bool ok = true;
        for (size_t i = 0; i < layers.size(); ++i)
          ok = ok && layers[i] >= 0 && layers[i] < count && (i == 0 || layers[i] > layers[i - 1]);
        need(ok, "--nce_layers '" + o.get<std::string>("nce_layers") + "': the generator (--netG " + o.netG +
                     ") has layers 0 to " + std::to_string(count - 1) + "; name them in increasing order");
      }
    };
    m.dataset = [](const Options& o, bool is_train) -> std::unique_ptr<data::Dataset> {
      if (!is_train || o.load_size == o.crop_size) return standard_dataset(o, is_train);
      Options finetuning = o;
      finetuning.load_size = o.crop_size;
      return std::make_unique<CutUnalignedDataset>(standard_dataset(o, true),
                                                   standard_dataset(finetuning, true), o.n_epochs);
    };
    m.network_names = [](const Options&, bool is_train) -> std::vector<std::string> {
      if (is_train) return {"G", "F", "D"};
      return {"G"};
    };
    m.load_hint = [](const Options&, const std::string& error) {
      if (error.find("filt") != std::string::npos)
        return std::string(
            "\n(CUT's networks blur with fixed 'filt' buffers unless trained with --no_antialias / "
            "--no_antialias_up: give the flags the network was trained with)");
      return std::string();
    };
    m.create = [](const Options& o, bool is_train) -> std::unique_ptr<Model> {
      return std::make_unique<CUTModel>(o, is_train);
    };
    return m;
  }();
  return s;
}

}  // namespace cg::cut
