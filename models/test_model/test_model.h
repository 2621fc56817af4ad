// The official test model (models/test_model.py): one generator, <epoch>_net_G<model_suffix>,
// run over single images (--dataset_mode single), for one direction of a CycleGAN or a pix2pix
// generator. Testing only; its visuals are real and fake.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/common/model.h"

namespace cg::models {

class TestModel : public Model {
 public:
  TestModel(const Options& opt, bool is_train);  // is_train must be false

  std::string name() const override { return "test"; }
  std::vector<std::string> loss_names() const override { return {}; }
  std::vector<std::string> visual_names() const override { return {"real", "fake"}; }
  std::vector<std::pair<std::string, nn::Module*>> networks() const override;  // G<model_suffix>

  void set_input(const data::Batch& batch) override;  // A only
  void forward() override;                            // fake = G(real)
  void optimize_parameters() override;                // an error: nothing to train
  std::vector<std::pair<std::string, Tensor>> current_visuals() const override;

  std::shared_ptr<nn::Module> netG;
  Tensor real, fake;
};

}  // namespace cg::models
