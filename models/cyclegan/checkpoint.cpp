#include "models/cyclegan/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "nn/safetensors.h"

namespace cg::cyclegan {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "cyclegan-cpp train state";
constexpr int kVersion = 1;

std::string new_checkpoint_id(int64_t total_iters) {
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld-%08x%08x", static_cast<long long>(total_iters), rd(), rd());
  return buf;
}

json schedule_json(const nn::LRSchedule& s) {
  // JSON has no infinity: the plateau's "best so far" starts at +inf, kept as a string
  return {{"last_epoch", s.last_epoch()},
          {"lr", s.lr()},
          {"bad_epochs", s.plateau_bad_epochs()},
          {"best", std::isinf(s.plateau_best()) ? json("inf") : json(s.plateau_best())}};
}

void restore_schedule(nn::LRSchedule& s, const json& j) {
  const double best = j.at("best").is_string() ? INFINITY : j.at("best").get<double>();
  s.restore(j.at("last_epoch").get<int>(), j.at("lr").get<double>(), j.at("bad_epochs").get<int>(), best);
}

}  // namespace

std::string experiment_dir(const Options& opt) { return (fs::path(opt.checkpoints_dir) / opt.name).string(); }

std::string net_file(const Options& opt, const std::string& label, const std::string& net) {
  return (fs::path(experiment_dir(opt)) / (label + "_net_" + net + ".safetensors")).string();
}

std::string state_file(const Options& opt, const std::string& label) {
  return (fs::path(experiment_dir(opt)) / (label + "_train_state.safetensors")).string();
}

void save_checkpoint(const CycleGANModel& m, const std::string& label, const TrainPosition& pos) {
  fs::create_directories(experiment_dir(m.opt));
  const std::string id = new_checkpoint_id(pos.total_iters);
  // Networks first, the state last: a crash in between leaves ids that disagree, which loading detects.
  for (const auto& [name, net] : m.networks())
    safetensors::save(net_file(m.opt, label, name), net->state_dict(), {{"checkpoint", id}, {"net", name}});
  if (!m.is_train) return;

  std::map<std::string, Tensor> t;
  for (auto& [k, v] : m.optimizer_G->state_dict("optimizer_G.")) t[k] = v;
  for (auto& [k, v] : m.optimizer_D->state_dict("optimizer_D.")) t[k] = v;
  const auto& pa = m.fake_A_pool.images();
  const auto& pb = m.fake_B_pool.images();
  for (size_t i = 0; i < pa.size(); ++i) t["fake_A_pool." + std::to_string(i)] = pa[i];
  for (size_t i = 0; i < pb.size(); ++i) t["fake_B_pool." + std::to_string(i)] = pb[i];
  const json state = {
      {"format", kFormat},
      {"version", kVersion},
      {"checkpoint", id},
      {"epoch", pos.epoch},
      {"epoch_iter", pos.epoch_iter},
      {"total_iters", pos.total_iters},
      {"epoch_done", pos.epoch_done},
      {"scheduler_G", schedule_json(*m.scheduler_G)},
      {"scheduler_D", schedule_json(*m.scheduler_D)},
      {"fake_A_pool", pa.size()},
      {"fake_B_pool", pb.size()},
      {"seed", m.opt.seed},
      {"generators",
       {{"pool", m.pool_generator.state()},
        {"cpu", default_generator(Device::CPU).state()},
        {"cuda", default_generator(Device::CUDA).state()}}},
  };
  safetensors::save(state_file(m.opt, label), t, {{"train_state", state.dump()}});
}

void load_network(nn::Module& net, const std::string& path) {
  if (!fs::exists(path)) throw Error("checkpoint file '" + path + "' does not exist");
  net.load_state_dict(safetensors::load(path).tensors, "'" + path + "'");
}

std::optional<TrainPosition> load_checkpoint(CycleGANModel& m, const std::string& label) {
  std::string id;
  bool ids_agree = true;
  for (const auto& [name, net] : m.networks()) {
    const std::string path = net_file(m.opt, label, name);
    if (!fs::exists(path)) throw Error("checkpoint file '" + path + "' does not exist");
    const auto c = safetensors::load(path);
    net->load_state_dict(c.tensors, "'" + path + "'");
    const auto it = c.metadata.find("checkpoint");
    const std::string this_id = it == c.metadata.end() ? "" : it->second;
    if (name == "G_A")
      id = this_id;
    else if (this_id != id)
      ids_agree = false;
  }
  const std::string spath = state_file(m.opt, label);
  if (!m.is_train || !fs::exists(spath)) return std::nullopt;
  if (!ids_agree)
    throw Error("the network files of checkpoint '" + label + "' in " + experiment_dir(m.opt) +
                " come from different saves (an interrupted save?); resume from another --epoch");

  const auto c = safetensors::load(spath);
  json st;
  try {
    st = json::parse(c.metadata.at("train_state"));
    if (st.at("format") != kFormat || st.at("version").get<int>() != kVersion)
      throw Error("unknown format or version");
  } catch (const std::exception& e) {
    throw Error("'" + spath + "' is not a training state this program can read (" + e.what() + ")");
  }
  if (st.at("checkpoint").get<std::string>() != id)
    throw Error("'" + spath +
                "' belongs to another save than the network files beside it (an interrupted save?)");
  try {
    m.optimizer_G->load_state_dict(c.tensors, "optimizer_G.", "'" + spath + "'");
    m.optimizer_D->load_state_dict(c.tensors, "optimizer_D.", "'" + spath + "'");
    restore_schedule(*m.scheduler_G, st.at("scheduler_G"));
    restore_schedule(*m.scheduler_D, st.at("scheduler_D"));
    m.optimizer_G->set_lr(m.scheduler_G->lr());
    m.optimizer_D->set_lr(m.scheduler_D->lr());
    auto pool = [&](const char* key, ImagePool& p) {
      std::vector<Tensor> imgs;
      for (size_t i = 0; i < st.at(key).get<size_t>(); ++i) {
        const std::string k = std::string(key) + "." + std::to_string(i);
        if (!c.tensors.count(k)) throw Error("entry '" + k + "' is missing");
        imgs.push_back(c.tensors.at(k).to(m.device));
      }
      p.set_images(std::move(imgs));
    };
    pool("fake_A_pool", m.fake_A_pool);
    pool("fake_B_pool", m.fake_B_pool);
    const json& g = st.at("generators");
    m.pool_generator.set_state(g.at("pool").get<std::string>());
    default_generator(Device::CPU).set_state(g.at("cpu").get<std::string>());
    default_generator(Device::CUDA).set_state(g.at("cuda").get<std::string>());
    TrainPosition pos;
    pos.epoch = st.at("epoch").get<int>();
    pos.epoch_iter = st.at("epoch_iter").get<int64_t>();
    pos.total_iters = st.at("total_iters").get<int64_t>();
    pos.epoch_done = st.at("epoch_done").get<bool>();
    return pos;
  } catch (const json::exception& e) {
    throw Error("'" + spath + "' is malformed: " + e.what());
  }
}

}  // namespace cg::cyclegan
