#include "models/common/model_spec.h"

#include <algorithm>

#include "models/common/model.h"
#include "models/networks/networks.h"

namespace cg::models {

namespace {

std::vector<const ModelSpec*>& registry() {
  static std::vector<const ModelSpec*> r = builtin_models();
  return r;
}

// "a, b or c"
std::string known_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

}  // namespace

const std::vector<const ModelSpec*>& registered_models() { return registry(); }

void register_model(const ModelSpec& spec) {
  if (spec.name.empty()) throw Error("register_model: a model needs a name");
  if (find_model(spec.name)) throw Error("register_model: --model " + spec.name + " is registered already");
  if (!spec.create) throw Error("register_model: --model " + spec.name + " has no factory");
  registry().push_back(&spec);
}

void unregister_model(const std::string& name) {
  auto& r = registry();
  r.erase(std::remove_if(r.begin(), r.end(), [&](const ModelSpec* s) { return s->name == name; }), r.end());
}

const ModelSpec* find_model(const std::string& name) {
  for (const ModelSpec* s : registry())
    if (s->name == name) return s;
  return nullptr;
}

const ModelSpec& model_spec(const std::string& name) {
  if (const ModelSpec* s = find_model(name)) return *s;
  std::vector<std::string> names;
  for (const ModelSpec* s : registry()) names.push_back(s->name);
  throw Error("--model '" + name + "' is not a model of this build (expected " + known_list(names) + ")");
}

std::vector<std::string> model_names(const Program& program) {
  std::vector<std::string> out;
  for (const ModelSpec* s : registry()) {
    if (!program.model.empty() ? s->name == program.model : (s->programs & program.kind()) != 0)
      out.push_back(s->name);
  }
  return out;
}

std::string default_model(const Program& program) {
  if (!program.model.empty()) return program.model;
  for (const ModelSpec* s : registry())
    if (s->default_for & program.kind()) return s->name;
  const std::vector<std::string> names = model_names(program);
  return names.empty() ? std::string() : names.front();
}

Options default_options(const std::string& model, bool is_train, const GivenFlag& given) {
  Options o;
  if (!is_train) {  // the official test options
    o.phase = "test";
    o.load_size = o.crop_size;  // load_size = crop_size: no random crop at test time
  }
  o.model = model;
  const ModelSpec* spec = find_model(model);
  if (!spec) return o;  // validate_options names the models there are
  for (const Flag& f : spec->flags)
    if (const Own* own = std::get_if<Own>(&f.member)) o.own[f.name] = own->def;
  o.dataset_mode = spec->dataset_mode;
  if (spec->defaults)
    spec->defaults(
        o, is_train, given ? given : [](const std::string&) { return std::optional<std::string>(); });
  return o;
}

std::unique_ptr<Model> create_model(const Options& opt, bool is_train) {
  const ModelSpec& spec = model_spec(opt.model);
  const unsigned kind = is_train ? kTrain : kTest;
  const bool serves =
      (spec.programs & kind) || std::any_of(spec.own_programs.begin(), spec.own_programs.end(),
                                            [&](const Program* p) { return p->is_train == is_train; });
  if (!serves) {
    const std::vector<std::string> names = model_names(is_train ? train_program() : test_program());
    throw Error("--model '" + opt.model + "' is not a model this program " + (is_train ? "trains" : "tests") +
                " (expected " + known_list(names) + ")");
  }
  std::unique_ptr<Model> model = spec.create(opt, is_train);
  if (is_train &&
      opt.recompute) {  // every network's ResNet generators and blocks, whichever model built them
    int found = 0;
    for (const auto& [name, net] : model->networks()) found += recompute_resnet(*net, true);
    if (found == 0)
      throw Error("--recompute: the networks of --model " + opt.model +
                  " have no ResNet generator to recompute");
  }
  return model;
}

}  // namespace cg::models
