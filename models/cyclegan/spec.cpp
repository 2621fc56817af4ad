// CycleGAN as the official models/cycle_gan_model.py declares it: --model cycle_gan, the default of
// train.py, on unaligned data, with its own flags and defaults (modify_commandline_options).
#include "models/cyclegan/spec.h"

#include "models/cyclegan/cycle_gan_model.h"

namespace cg::cyclegan {

using namespace models;

const ModelSpec& spec() {
  static const ModelSpec s = [] {
    ModelSpec m;
    m.name = "cycle_gan";
    m.title = "CycleGAN";
    m.holds = "a CycleGAN (G_A, G_B)";
    m.train_summary = "unpaired: trainA/trainB";
    m.test_summary = "testA/testB, both generators";
    m.programs = kBoth;
    m.default_for = kTrain;
    m.dataset_mode = "unaligned";
    m.dataset_what = "two unpaired folders (unaligned)";
    m.dataroot_help = "trainA/trainB and testA/testB (cycle_gan)";
    // one row at a time: gcc 12 warns (a false -Wmaybe-uninitialized) on a braced list of these rows
    m.flags.push_back({"lambda_A", Own{10.0}, kTrain, "weight of the cycle loss A -> B -> A"});
    m.flags.push_back({"lambda_B", Own{10.0}, kTrain, "weight of the cycle loss B -> A -> B"});
    m.flags.push_back({"lambda_identity", Own{0.5}, kTrain,
                       "weight of the identity loss, relative to lambda_A/B (0 disables it)"});
    m.defaults = [](Options& o, bool, const GivenFlag&) { o.no_dropout = true; };
    m.validate = [](const Options& o, bool is_train, const OptionCheck& need) {
      if (!is_train) return;
      const double a = o.get<double>("lambda_A"), b = o.get<double>("lambda_B"),
                   idt = o.get<double>("lambda_identity");
      need(a >= 0 && b >= 0 && idt >= 0, "--lambda_A, --lambda_B and --lambda_identity must be >= 0");
      need(idt == 0 || o.input_nc == o.output_nc,
           "--lambda_identity > 0 needs --input_nc == --output_nc; set --lambda_identity 0");
    };
    m.network_names = [](const Options&, bool is_train) -> std::vector<std::string> {
      if (is_train) return {"G_A", "G_B", "D_A", "D_B"};
      return {"G_A", "G_B"};
    };
    m.create = [](const Options& o, bool is_train) -> std::unique_ptr<Model> {
      return std::make_unique<CycleGANModel>(o, is_train);
    };
    return m;
  }();
  return s;
}

}  // namespace cg::cyclegan
