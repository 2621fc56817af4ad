#include "models/common/train_state.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "nn/json_whole.h"
#include "nn/safetensors.h"

namespace cg::models {

using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "cyclegan-cpp train state";
// 3: the model's name is saved (earlier states are CycleGAN's); 2: the schedule's options are
// saved (1: inferred on loading). The optional "best_val" (validation's best score) needs no new
// version: states without it load with none, and a program that predates it ignores it.
constexpr int kVersion = 3;

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Numbers from the state file's JSON: a whole number in [lo, hi], or a finite real (nn/json_whole.h).
int64_t whole(const json& j, const char* key, int64_t lo, int64_t hi) { return json_whole(j, key, lo, hi); }
double real(const json& j, const char* key) { return json_real(j, key); }

constexpr int64_t kMaxEpochs = 10'000'000;       // far beyond any run; keeps epoch arithmetic in int
constexpr int64_t kMaxIters = int64_t{1} << 53;  // samples; exact in a float64

json schedule_json(const nn::LRSchedule& s) {
  // JSON has no infinity: the plateau's "best so far" starts at +inf, kept as a string
  return {{"last_epoch", s.last_epoch()},
          {"lr", s.lr()},
          {"bad_epochs", s.plateau_bad_epochs()},
          {"best", std::isinf(s.plateau_best()) ? json("inf") : json(s.plateau_best())}};
}

json schedule_options_json(const nn::LRSchedule::Options& o) {
  return {{"policy", o.policy},           {"lr", o.base_lr},
          {"n_epochs", o.n_epochs},       {"n_epochs_decay", o.n_epochs_decay},
          {"epoch_count", o.epoch_count}, {"lr_decay_iters", o.lr_decay_iters}};
}

// Restores one schedule under the exact-resume rule (see load_checkpoint in the header): `saved`
// is the saved run's options, `now` this run's, whose epoch_count is replaced by the saved one.
// Returns a note when the schedule changed.
std::string restore_schedule(std::unique_ptr<nn::LRSchedule>& s, const json& j,
                             const nn::LRSchedule::Options& saved, nn::LRSchedule::Options now) {
  now.epoch_count = saved.epoch_count;
  const int last_epoch = static_cast<int>(whole(j, "last_epoch", -kMaxEpochs, kMaxEpochs));
  const double best = j.at("best") == "inf" ? INFINITY : real(j, "best");
  const double saved_lr = real(j, "lr");
  if (saved_lr < 0) throw Error("the saved learning rate is negative");
  std::string note;
  double lr = saved_lr;
  auto differs = [&](const char* flag, const std::string& was, const std::string& is) {
    if (was != is) note += std::string(note.empty() ? "" : ", ") + flag + " " + was + " -> " + is;
  };
  differs("--lr_policy", saved.policy, now.policy);
  differs("--lr", fmt_double(saved.base_lr), fmt_double(now.base_lr));
  differs("--n_epochs", std::to_string(saved.n_epochs), std::to_string(now.n_epochs));
  differs("--n_epochs_decay", std::to_string(saved.n_epochs_decay), std::to_string(now.n_epochs_decay));
  differs("--lr_decay_iters", std::to_string(saved.lr_decay_iters), std::to_string(now.lr_decay_iters));
  s = std::make_unique<nn::LRSchedule>(note.empty() ? saved : now);
  if (!note.empty())
    lr = now.policy == "plateau"
             ? (saved.policy == "plateau" ? saved_lr * now.base_lr / saved.base_lr : now.base_lr)
             : s->lr_at(last_epoch);
  s->restore(last_epoch, std::max(0.0, lr), static_cast<int>(whole(j, "bad_epochs", 0, kMaxEpochs)), best);
  if (note.empty()) return "";
  char tail[160];
  std::snprintf(tail, sizeof tail,
                ": the new schedule takes over at its step %d (learning rate %.7g, was %.7g)", last_epoch,
                s->lr(), saved_lr);
  return "schedule flags differ from the saved run's (" + note + ")" + tail;
}

// The best validation score as JSON ("best_val"; JSON has no infinity: kept as a string, as the
// plateau's best).
json best_json(const BestScore& b) {
  return {{"metric", b.metric},
          {"value", std::isinf(b.value) ? json(b.value > 0 ? "inf" : "-inf") : json(b.value)},
          {"epoch", b.epoch},
          {"total_iters", b.total_iters},
          {"data", b.data}};
}

BestScore read_best(const json& j) {
  BestScore b;
  try {
    b.metric = j.at("metric").get<std::string>();
    const json& v = j.at("value");
    b.value = v == "inf" ? INFINITY : v == "-inf" ? -INFINITY : real(j, "value");
    b.epoch = static_cast<int>(whole(j, "epoch", 1, kMaxEpochs));
    b.total_iters = whole(j, "total_iters", 0, kMaxIters);
    b.data = j.at("data").get<std::string>();
  } catch (const std::exception& e) {
    throw Error(std::string("'best_val': ") + e.what());
  }
  return b;
}

// ---- a rank's own state as bytes (rank_state), to travel to rank 0: a safetensors file in memory
//      whose metadata "state" holds the JSON part ----
std::string pack_state(const std::map<std::string, Tensor>& tensors, const json& state) {
  return safetensors::serialize(tensors, {{"state", state.dump()}}, {}, "a rank's state");
}

void unpack_state(const std::string& bytes, std::map<std::string, Tensor>& tensors, json& state) {
  const safetensors::Contents c = safetensors::load_bytes(bytes, "a rank's state");
  const auto it = c.metadata.find("state");
  if (it == c.metadata.end()) throw Error("a rank's state has no 'state' entry");
  state = json::parse(it->second);
  tensors = c.tensors;
}

std::string rank_prefix(int r) { return "rank" + std::to_string(r) + "/"; }

}  // namespace

std::string rank_state(const Model& m) {
  std::map<std::string, Tensor> t;
  json st = {
      {"generators",
       {{"cpu", default_generator(Device::CPU).state()}, {"cuda", default_generator(Device::CUDA).state()}}}};
  m.save_state(t, st);
  return pack_state(t, st);
}

TrainState train_state(const Model& m, const TrainPosition& pos, const std::string& id,
                       const std::vector<std::string>& other_ranks) {
  TrainState out;
  std::map<std::string, Tensor>& t = out.tensors;
  json state = {
      {"format", kFormat},
      {"version", kVersion},
      {"model", m.name()},
      {"checkpoint", id},
      {"epoch", pos.epoch},
      {"epoch_iter", pos.epoch_iter},
      {"total_iters", pos.total_iters},
      {"epoch_done", pos.epoch_done},
      {"seed", m.opt.seed},
      {"generators",
       {{"cpu", default_generator(Device::CPU).state()}, {"cuda", default_generator(Device::CUDA).state()}}},
  };
  if (pos.best) state["best_val"] = best_json(*pos.best);
  for (const Model::Optimizer& o : m.optimizers()) {
    for (auto& [k, v] : o.adam->state_dict("optimizer_" + o.name + ".")) t[k] = v;
    state["scheduler_" + o.name] = schedule_json(*o.schedule);
  }
  if (!m.optimizers().empty())
    state["schedule"] = schedule_options_json(m.optimizers()[0].schedule->options());
  m.save_state(t, state);
  // data parallel: every other rank's pools and generators, rank r's under "rank<r>/"
  state["world_size"] = 1 + other_ranks.size();
  if (!other_ranks.empty()) {
    json ranks = json::array();
    for (size_t i = 0; i < other_ranks.size(); ++i) {
      std::map<std::string, Tensor> rt;
      json rs;
      unpack_state(other_ranks[i], rt, rs);
      for (const auto& [k, v] : rt) t[rank_prefix(static_cast<int>(i) + 1) + k] = v;
      ranks.push_back(rs);
    }
    state["ranks"] = ranks;
  }
  out.metadata = {{"train_state", state.dump()}};
  return out;
}

Restored restore_train_state(Model& m, const safetensors::Contents& c, const std::string& what,
                             const std::string& id, const RankOf& ranks) {
  json st;
  try {
    const auto meta = c.metadata.find("train_state");
    if (meta == c.metadata.end()) throw Error("no 'train_state' metadata");
    st = json::parse(meta->second);
    if (!st.is_object() || st.value("format", json()) != kFormat) throw Error("unknown format");
    const int64_t version = whole(st, "version", 1, kVersion);
    (void)version;  // every version up to kVersion is read below
  } catch (const std::exception& e) {
    throw Error(what + " is not a training state this program can read (" + e.what() + ")");
  }
  try {
    // Before version 3 only the default training model (CycleGAN) was trained
    const std::string saved_model =
        st.contains("model") ? st.at("model").get<std::string>() : default_model(train_program());
    if (saved_model != m.name())
      throw Error(what + " is the training state of a --model " + saved_model + " run, not of --model " +
                  m.name());
    if (st.at("checkpoint") != id)
      throw Error(what + " belongs to another save than the network files beside it (an interrupted save?)");
    for (const Model::Optimizer& o : m.optimizers())
      o.adam->load_state_dict(c.tensors, "optimizer_" + o.name + ".", what);
    TrainPosition pos;
    pos.epoch = static_cast<int>(whole(st, "epoch", 1, kMaxEpochs));
    pos.epoch_iter = whole(st, "epoch_iter", 0, kMaxIters);
    pos.total_iters = whole(st, "total_iters", 0, kMaxIters);
    if (!st.at("epoch_done").is_boolean()) throw Error("'epoch_done' is not true or false");
    pos.epoch_done = st.at("epoch_done").get<bool>();
    if (st.contains("best_val")) pos.best = read_best(st.at("best_val"));
    const nn::LRSchedule::Options now = m.optimizers().at(0).schedule->options();
    nn::LRSchedule::Options saved = now;
    const std::string first = "scheduler_" + m.optimizers().at(0).name;
    if (st.contains("schedule")) {
      const json& o = st.at("schedule");
      saved = {o.at("policy").get<std::string>(),
               real(o, "lr"),
               static_cast<int>(whole(o, "n_epochs", 0, kMaxEpochs)),
               static_cast<int>(whole(o, "n_epochs_decay", 0, kMaxEpochs)),
               static_cast<int>(whole(o, "epoch_count", -kMaxEpochs, kMaxEpochs)),
               static_cast<int>(whole(o, "lr_decay_iters", 0, kMaxEpochs))};
      if (saved.base_lr < 0) throw Error("the saved --lr is negative");
      nn::LRSchedule check(saved);  // throws for an unknown policy or a step schedule without a step
    } else {  // version 1: the run's first epoch follows from the position and the steps taken
      saved.epoch_count = pos.epoch - static_cast<int>(whole(st.at(first), "last_epoch", 0, kMaxEpochs)) + 1;
    }
    Restored r;
    for (Model::Optimizer& o : m.optimizers()) {
      const std::string note = restore_schedule(o.schedule, st.at("scheduler_" + o.name), saved, now);
      if (!note.empty() && r.notes.empty()) r.notes.push_back(note);  // the same for every schedule
      o.adam->set_lr(o.schedule->lr());
    }
    if (m.opt.epoch_count != 1 && m.opt.epoch_count != (pos.epoch_done ? pos.epoch + 1 : pos.epoch))
      r.notes.push_back("--epoch_count " + std::to_string(m.opt.epoch_count) +
                        " is not used: the training state continues at epoch " +
                        std::to_string(pos.epoch_done ? pos.epoch + 1 : pos.epoch));
    // what is this rank's own: rank 0's at the top level, rank r's under "rank<r>/" and ranks[r - 1]
    const int saved_world =
        static_cast<int>(st.contains("world_size") ? whole(st, "world_size", 1, 1 << 20) : 1);
    const int me = ranks.rank, world = ranks.world;
    auto restore_own = [&](const safetensors::Contents& cc, const json& s2) {
      m.load_state(cc, s2);
      const json& g = s2.at("generators");
      default_generator(Device::CPU).set_state(g.at("cpu").get<std::string>());
      default_generator(Device::CUDA).set_state(g.at("cuda").get<std::string>());
    };
    if (me == 0) {
      restore_own(c, st);
    } else if (me < saved_world) {
      const json& ranks = st.at("ranks");
      if (!ranks.is_array() || ranks.size() != static_cast<size_t>(saved_world - 1))
        throw Error("'ranks' does not hold the states of " + std::to_string(saved_world - 1) + " ranks");
      json mine = st;
      mine.merge_patch(ranks.at(static_cast<size_t>(me - 1)));
      safetensors::Contents cc = c;
      const std::string pre = rank_prefix(me);
      for (const auto& [k, v] : c.tensors)
        if (k.rfind(pre, 0) == 0) cc.tensors[k.substr(pre.size())] = v;
      restore_own(cc, mine);
    }  // else: a rank the saved run did not have starts with its fresh pools and generators
    if (saved_world != world) {
      std::string note = "the checkpoint was saved by " + std::to_string(saved_world) + " rank" +
                         (saved_world == 1 ? "" : "s") + " and resumes on " + std::to_string(world) +
                         ": weights, optimizers, schedules and the position continue";
      // "rank 3" or "ranks 2..3"
      auto span = [](int a, int b) {
        return a == b ? "rank " + std::to_string(a) : "ranks " + std::to_string(a) + ".." + std::to_string(b);
      };
      if (world > saved_world)
        note +=
            "; " + span(saved_world, world - 1) + " start with empty image pools and fresh random generators";
      else
        note += "; the image pools and random generators saved by " + span(world, saved_world - 1) +
                " are not used";
      note += ", so the run is no longer the exact continuation of the saved one";
      r.notes.push_back(note);
    }
    r.pos = pos;
    return r;
  } catch (const json::exception& e) {
    throw Error(what + " is malformed: " + e.what());
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(what, 0) == 0) throw;
    throw Error(what + " is malformed: " + msg);
  }
}

}  // namespace cg::models
