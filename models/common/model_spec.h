// How a model declares itself to the harness: its name, the programs it serves, its defaults and
// own flags (the official modify_commandline_options), its option checks, its data, the networks its
// checkpoints hold, its hints, and its factory. A model's folder defines one ModelSpec;
// models/registry.cpp lists them, a line each. The harness (the flags, the training loop, the
// tester, checkpoints, the page) knows models only through their specs and the Model interface.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "models/common/flags.h"
#include "models/common/options.h"

namespace cg::models {

class Model;

// The options' checks: `need(ok, message)` throws cg::Error(message) when !ok.
using OptionCheck = std::function<void(bool ok, const std::string& message)>;

// The last value given on the command line for a flag (for defaults that depend on another flag,
// as the official parse_known_args before set_defaults); nothing when not given.
using GivenFlag = std::function<std::optional<std::string>(const std::string& flag)>;

struct ModelSpec {
  std::string name;         // its --model
  std::string title;        // the pages' name of it ("CycleGAN")
  std::string description;  // in sentences ("the conditional GAN"); the title when empty
  // What its checkpoints hold, for a hint when another model's files are asked for ("a CycleGAN
  // (G_A, G_B)").
  std::string holds;
  // For --model's help: what it trains on / translates ("unpaired: trainA/trainB").
  std::string train_summary, test_summary;
  // The harness programs that take it (kTrain: cyclegan_train, kTest: cyclegan_test), and those of
  // which it is the default --model (the official: cycle_gan in train.py, test in test.py).
  unsigned programs = 0;
  unsigned default_for = 0;
  // Programs of its own (cgan_train, cgan_sample) instead of the harness's; `programs` is then 0.
  std::vector<const Program*> own_programs;
  // The data it reads: one of the standard modes (unaligned, aligned, single) and what that means
  // for messages ("two unpaired folders"), or `dataset` for a dataset of its own.
  std::string dataset_mode = "unaligned";
  std::string dataset_what;
  std::function<std::unique_ptr<data::Dataset>(const Options&, bool is_train)> dataset;
  std::string dataroot_help;  // what --dataroot holds for it
  // Its own flags (values in Options::own), in listing order.
  std::vector<Flag> flags;
  // Harness flags it has no use for, which cyclegan_train and cyclegan_test then refuse with it
  // (the official CUT has --normG and --normD where the harness has --norm).
  std::vector<std::string> without_flags;
  // Its defaults over the harness's (set_defaults in modify_commandline_options).
  std::function<void(Options&, bool is_train, const GivenFlag& given)> defaults;
  // After the command line was read (e.g. counts given in the model's units made the harness's).
  std::function<void(Options&, bool is_train)> after_parse;
  // Its own checks (the harness checks the flags it owns); messages name the flag.
  std::function<void(const Options&, bool is_train, const OptionCheck& need)> validate;
  // After the checks, before the model is built for training (e.g. the classes of the data).
  std::function<void(Options&)> prepare_training;
  // How its official train.py loops: whether the learning-rate schedules step at the end of each
  // epoch (the official CUT's) rather than at its start (the official CycleGAN's), and whether an
  // epoch's last partial batch is dropped (the official CUT's DataLoader has drop_last=True).
  bool lr_steps_after_epoch = false;
  bool drop_last = false;
  // The networks its checkpoints hold (<label>_net_<name>), without building the model.
  std::function<std::vector<std::string>(const Options&, bool is_train)> network_names;
  // Why a network file of `label` may be missing, given which files exist (`has(network)`), or "".
  std::function<std::string(const Options&, const std::string& label,
                            const std::function<bool(const std::string&)>& has)>
      missing_hint;
  // More words for an error loading one of its network files, or "".
  std::function<std::string(const Options&, const std::string& error)> load_hint;
  // Builds it for training or testing.
  std::function<std::unique_ptr<Model>(const Options&, bool is_train)> create;
};

// ---- the registry: the models this build has (models/registry.cpp), and any added at run time ----

// Every model, in registration order.
const std::vector<const ModelSpec*>& registered_models();
// Adds a model (a test's, a plugin's); an error when its name is taken. The spec must outlive its
// registration.
void register_model(const ModelSpec& spec);
// Takes it out again (nothing when there is no such model).
void unregister_model(const std::string& name);
// The model of that --model name, or nullptr.
const ModelSpec* find_model(const std::string& name);
// The model of that --model name; an error naming the known ones otherwise.
const ModelSpec& model_spec(const std::string& name);
// The names --model takes in `program`.
std::vector<std::string> model_names(const Program& program);
// The default --model of a harness program.
std::string default_model(const Program& program);

// The options of train.py (is_train) or test.py with `model`'s defaults (its own flags' defaults
// and the official modify_commandline_options). `given` lets a model's defaults depend on flags
// given on the command line.
Options default_options(const std::string& model, bool is_train, const GivenFlag& given = {});
// The model --model names, built for training (is_train) or testing.
std::unique_ptr<Model> create_model(const Options& opt, bool is_train);

// Defined in models/registry.cpp: the built-in models, a line each.
std::vector<const ModelSpec*> builtin_models();

}  // namespace cg::models
