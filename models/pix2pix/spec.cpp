// pix2pix as the official models/pix2pix_model.py declares it: --model pix2pix on aligned AB
// images, U-Net and batch norm by default, and in training no image pool and the vanilla GAN loss.
#include "models/pix2pix/spec.h"

#include <cmath>

#include "models/pix2pix/pix2pix_model.h"

namespace cg::pix2pix {

using namespace models;

const ModelSpec& spec() {
  static const ModelSpec s = [] {
    ModelSpec m;
    m.name = "pix2pix";
    m.title = "pix2pix";
    m.holds = "one generator G (pix2pix)";
    m.train_summary = "paired: AB images in DATAROOT/train";
    m.test_summary = "AB images in DATAROOT/test";
    m.programs = kBoth;
    m.dataset_mode = "aligned";
    m.dataset_what = "paired AB images (aligned)";
    m.dataroot_help = "AB images in train/ and test/ (pix2pix)";
    m.flags = {{"lambda_L1", Own{100.0}, kTrain, "weight of the L1 loss between G(A) and B"}};
    m.defaults = [](Options& o, bool is_train, const GivenFlag&) {
      o.norm = "batch";
      o.netG = "unet_256";
      if (is_train) {
        o.pool_size = 0;
        o.gan_mode = "vanilla";
      }
    };
    m.validate = [](const Options& o, bool is_train, const OptionCheck& need) {
      if (!is_train) return;
      const double l1 = o.get<double>("lambda_L1");
      need(l1 >= 0 && std::isfinite(l1), "--lambda_L1 must be >= 0");
    };
    m.network_names = [](const Options&, bool is_train) -> std::vector<std::string> {
      if (is_train) return {"G", "D"};
      return {"G"};
    };
    m.create = [](const Options& o, bool is_train) -> std::unique_ptr<Model> {
      return std::make_unique<Pix2PixModel>(o, is_train);
    };
    return m;
  }();
  return s;
}

}  // namespace cg::pix2pix
