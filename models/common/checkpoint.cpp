#include "models/common/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "models/common/cli.h"
#include "models/common/file_set.h"
#include "models/common/model_spec.h"
#include "models/common/train_state.h"
#include "nn/json_whole.h"
#include "nn/safetensors.h"
#include "ops/ops.h"

namespace cg::models {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string new_checkpoint_id(int64_t total_iters) {
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld-%08x%08x", static_cast<long long>(total_iters), rd(), rd());
  return buf;
}

}  // namespace

std::string experiment_dir(const Options& opt) {
  // validate_options refuses such a name first; this keeps every path made here inside the folder
  check_folder_name("--name", opt.name, "the experiment's folder in --checkpoints_dir");
  return (fs::path(opt.checkpoints_dir) / opt.name).string();
}

std::string net_file(const Options& opt, const std::string& label, const std::string& net) {
  return (fs::path(experiment_dir(opt)) / (label + "_net_" + net + ".safetensors")).string();
}

std::string state_file(const Options& opt, const std::string& label) {
  return (fs::path(experiment_dir(opt)) / (label + "_train_state.safetensors")).string();
}

namespace {

// The set of files a checkpoint is: its journal is <label>_checkpoint.commit (models/common/file_set.h).
std::string set_name(const std::string& label) { return label + "_checkpoint"; }

// Whether a file in the experiment folder belongs to checkpoint `label` ("": to any checkpoint):
// its networks, its training state, or its journal.
bool of_label(const std::string& file, const std::string& label) {
  if (label.empty())
    return file.find("_net_") != std::string::npos || file.find("_train_state.") != std::string::npos ||
           file.find("_checkpoint.commit") != std::string::npos;
  return file.rfind(label + "_net_", 0) == 0 || file.rfind(label + "_train_state.", 0) == 0 ||
         file.rfind(label + "_checkpoint.commit", 0) == 0;
}

}  // namespace

void recover_checkpoint(const std::string& dir, const std::string& label) {
  if (!fs::is_directory(dir)) return;
  if (label.empty()) {  // every checkpoint: first finish each committed save, then clear the rest
    const std::string tail = "_checkpoint";
    for (const std::string& set : interrupted_file_sets(dir))
      if (set.size() > tail.size() && set.ends_with(tail))
        recover_checkpoint(dir, set.substr(0, set.size() - tail.size()));
  }
  recover_file_set(dir, set_name(label), [&](const std::string& f) { return of_label(f, label); });
}

std::string committed_file(const std::string& dir, const std::string& label, const std::string& path) {
  return committed_path(dir, set_name(label), path);
}

std::string available_checkpoints(const std::string& dir) {
  std::vector<std::string> labels;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string f = e.path().filename().string();
      const size_t at = f.find("_net_");
      if (at != std::string::npos && at > 0 && f.ends_with(".safetensors")) labels.push_back(f.substr(0, at));
    }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  // latest first, then epochs in numeric order, then the rest
  std::sort(labels.begin(), labels.end(), [](const std::string& x, const std::string& y) {
    auto rank = [](const std::string& l) {
      if (l == "latest") return std::pair<int, long long>{0, 0};
      if (!l.empty() && l.size() < 18 && std::all_of(l.begin(), l.end(), ::isdigit))
        return std::pair<int, long long>{1, std::stoll(l)};
      return std::pair<int, long long>{2, 0};
    };
    return rank(x) != rank(y) ? rank(x) < rank(y) : x < y;
  });
  std::string out;
  for (const std::string& l : labels) out += (out.empty() ? "" : ", ") + l;
  return out.empty() ? "none" : out;
}

void save_checkpoint(const Model& m, const std::string& label, const TrainPosition& pos,
                     const std::vector<std::string>& other_ranks) {
  const std::string dir = experiment_dir(m.opt);
  fs::create_directories(dir);
  recover_checkpoint(dir, label);
  const std::string id = new_checkpoint_id(pos.total_iters);
  std::vector<std::string> names;  // of the final files, for the journal
  try {
    for (const auto& [name, net] : m.networks()) {
      const std::string path = net_file(m.opt, label, name);
      safetensors::save(path + ".new", net->state_dict(), {{"checkpoint", id}, {"net", name}},
                        net->integer_buffers());
      names.push_back(fs::path(path).filename().string());
    }
    if (m.is_train) {
      const TrainState state = train_state(m, pos, id, other_ranks);
      const std::string path = state_file(m.opt, label);
      safetensors::save(path + ".new", state.tensors, state.metadata);
      names.push_back(fs::path(path).filename().string());
    }
    commit_file_set(dir, set_name(label), names);  // puts the new files in place
  } catch (const std::exception& e) {
    // A save that failed (a full disk): what it wrote goes now, not at the next resume, and the
    // message says which checkpoint is there to resume from.
    try {
      recover_checkpoint(dir, label);
    } catch (const std::exception&) {
    }
    std::vector<std::string> kept;
    for (const auto& [name, net] : m.networks())
      if (fs::exists(net_file(m.opt, label, name)))
        kept.push_back(fs::path(net_file(m.opt, label, name)).filename());
    std::string what;
    for (const std::string& k : kept) what += (what.empty() ? "" : ", ") + k;
    throw Error("checkpoint '" + label + "' was not saved (" + e.what() +
                "); the files of this save were removed. " +
                (kept.empty() ? "There was no checkpoint '" + label + "' in " + dir +
                                    " before it (checkpoints there: " + available_checkpoints(dir) + ")"
                              : "The checkpoint '" + label + "' saved before is intact in " + dir + " (" +
                                    what + "): --continue_train resumes from it"));
  }
}

std::string load_network(nn::Module& net, const std::string& path) {
  if (!fs::exists(path)) throw Error("checkpoint file '" + path + "' does not exist");
  const auto c = safetensors::load(path);
  for (const auto& [key, t] : c.tensors)
    if (!std::isfinite(sum(abs(t.to(DType::F64))).item()))
      throw Error("'" + path + "': '" + key + "' holds NaN or infinite values; these weights cannot be used");
  net.load_state_dict(c.tensors, "'" + path + "'");
  const auto it = c.metadata.find("checkpoint");
  return it == c.metadata.end() ? "" : it->second;
}

namespace {
// Why a model's network file may be missing when others of the label exist: the model's own
// words, or the files are another model's (all of its testing networks are there).
std::string missing_network_hint(const Model& m, const std::string& label) {
  const std::function<bool(const std::string&)> has = [&](const std::string& net) {
    return fs::exists(net_file(m.opt, label, net));
  };
  const ModelSpec& mine = model_spec(m.name());
  if (mine.missing_hint)
    if (std::string hint = mine.missing_hint(m.opt, label, has); !hint.empty()) return hint;
  // Of the models whose testing networks are all there, the one whose training networks are all
  // there too, the most of them (pix2pix's G and D are also a CUT's G, F and D's).
  const ModelSpec* best = nullptr;
  size_t best_score = 0;
  for (const ModelSpec* other : registered_models()) {
    if (other == &mine || !other->network_names || other->holds.empty() || !other->own_programs.empty())
      continue;
    const std::vector<std::string> nets = other->network_names(default_options(other->name, false), false);
    if (nets.empty() || !std::all_of(nets.begin(), nets.end(), has)) continue;
    const std::vector<std::string> all = other->network_names(default_options(other->name, true), true);
    const size_t score = 1 + (std::all_of(all.begin(), all.end(), has) ? all.size() : 0);
    if (score > best_score) {
      best = other;
      best_score = score;
    }
  }
  if (best) return "; this experiment holds " + best->holds + ": use --model " + best->name;
  return "";
}
}  // namespace

void load_networks(Model& m, const std::string& label) {
  const std::string dir = experiment_dir(m.opt);
  std::vector<std::pair<std::string, std::string>> files;  // (network, the file a reader takes)
  for (const auto& [name, net] : m.networks()) {
    const std::string path = net_file(m.opt, label, name);
    if (!fs::exists(committed_file(dir, label, path)))
      throw Error("checkpoint file '" + path + "' does not exist" + missing_network_hint(m, label) +
                  " (checkpoints in " + dir + ": " + available_checkpoints(dir) + ")");
    files.emplace_back(name, committed_file(dir, label, path));
  }
  std::string first_id;
  for (size_t i = 0; i < files.size(); ++i) {
    nn::Module& net = *m.networks()[i].second;
    std::string id;
    try {
      id = load_network(net, files[i].second);
    } catch (const Error& e) {
      const ModelSpec& spec = model_spec(m.name());
      if (const std::string hint = spec.load_hint ? spec.load_hint(m.opt, e.what()) : ""; !hint.empty())
        throw Error(std::string(e.what()) + hint);
      throw;
    }
    if (i == 0) first_id = id;
    if (!id.empty() && !first_id.empty() && id != first_id)
      throw Error("'" + files[0].second + "' and '" + files[i].second +
                  "' come from different saves; use one checkpoint's files (checkpoints in " + dir + ": " +
                  available_checkpoints(dir) + ")");
  }
}

std::optional<Restored> load_checkpoint(Model& m, const std::string& label, const RankOf& ranks) {
  const std::string dir = experiment_dir(m.opt);
  if (m.is_train) recover_checkpoint(dir, "");  // a resume clears up after any interrupted save
  std::string id;
  bool ids_agree = true;
  for (const auto& [name, net] : m.networks()) {
    const std::string path = committed_file(dir, label, net_file(m.opt, label, name));
    if (!fs::exists(path))
      throw Error("checkpoint file '" + path + "' does not exist" + missing_network_hint(m, label) +
                  " (checkpoints in " + dir + ": " + available_checkpoints(dir) + ")");
    const std::string this_id = load_network(*net, path);
    if (name == m.networks().front().first)
      id = this_id;
    else if (this_id != id)
      ids_agree = false;
  }
  const std::string spath = state_file(m.opt, label);
  if (!m.is_train || !fs::exists(spath)) return std::nullopt;
  if (!ids_agree)
    throw Error("the network files of checkpoint '" + label + "' in " + dir +
                " come from different saves; resume from another --epoch (checkpoints there: " +
                available_checkpoints(dir) + ")");

  return restore_train_state(m, safetensors::load(spath), "'" + spath + "'", id, ranks);
}

}  // namespace cg::models
