// The official models/test_model.py's declaration: --model test, test.py's default, one generator
// G<model_suffix> over single images; testing only.
#include "models/test_model/spec.h"

#include "models/test_model/test_model.h"

namespace cg::models {

const ModelSpec& test_model_spec() {
  static const ModelSpec s = [] {
    ModelSpec m;
    m.name = "test";
    m.title = "test";
    m.holds = "one generator G";
    m.test_summary = "one generator over every image in --dataroot";
    m.programs = kTest;
    m.default_for = kTest;
    m.dataset_mode = "single";
    m.dataset_what = "one folder of images (single)";
    m.flags = {{"model_suffix", Own{std::string()}, kTest,
                "loads <epoch>_net_G<model_suffix>: '_A' for a CycleGAN's G_A, '_B' for its G_B"}};
    m.network_names = [](const Options& o, bool) -> std::vector<std::string> {
      return {"G" + o.get<std::string>("model_suffix")};
    };
    m.missing_hint = [](const Options& o, const std::string&,
                        const std::function<bool(const std::string&)>& has) {
      if (o.get<std::string>("model_suffix").empty() && has("G_A"))
        return std::string(
            "; this experiment has one generator per direction: add --model_suffix _A (A -> B) or _B (B -> "
            "A)");
      return std::string();
    };
    // The official cycle_gan trains without dropout, and dropout moves a ResNet block's keys
    m.load_hint = [](const Options& o, const std::string& error) {
      if (!o.no_dropout && o.netG.rfind("resnet_", 0) == 0 && error.find("conv_block") != std::string::npos)
        return std::string(
            "\n(a ResNet generator trained without dropout, as --model cycle_gan trains them: add "
            "--no_dropout)");
      return std::string();
    };
    m.create = [](const Options& o, bool is_train) -> std::unique_ptr<Model> {
      return std::make_unique<TestModel>(o, is_train);
    };
    return m;
  }();
  return s;
}

}  // namespace cg::models
