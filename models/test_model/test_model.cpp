#include "models/test_model/test_model.h"

#include "models/networks/networks.h"
#include "ops/ops.h"

namespace cg::models {

namespace {
const Options& test_only(const Options& o, bool is_train) {
  if (is_train) throw Error("--model test is for testing only (cyclegan_test), not for training");
  return o;
}
}  // namespace

TestModel::TestModel(const Options& o, bool train) : Model(test_only(o, train), train) {
  Generator init_gen(opt.seed);
  netG = define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, !opt.no_dropout, opt.init_type,
                  opt.init_gain, init_gen);
  netG->to(device);
  netG->eval();
}

std::vector<std::pair<std::string, nn::Module*>> TestModel::networks() const {
  return {{"G" + opt.get<std::string>("model_suffix"), netG.get()}};
}

void TestModel::set_input(const data::Batch& batch) {
  if (!batch.A.defined()) throw Error("test model: set_input needs an A batch");
  real = batch.A.detach().to(device);
  image_paths_ = batch.A_paths;
}

void TestModel::forward() {
  need_input(real.defined(), "forward");
  const Bf16Autocast amp(opt.amp);
  fake = generate(*netG, real);
}

void TestModel::optimize_parameters() { throw Error("the test model has nothing to train"); }

std::vector<std::pair<std::string, Tensor>> TestModel::current_visuals() const {
  return {{"real", real}, {"fake", fake}};
}

}  // namespace cg::models
