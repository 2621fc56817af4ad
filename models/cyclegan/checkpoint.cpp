#include "models/cyclegan/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "nn/json_whole.h"
#include "nn/safetensors.h"
#include "ops/ops.h"

namespace cg::cyclegan {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "cyclegan-cpp train state";
constexpr int kVersion = 2;  // 2: the schedule's options are saved (1: inferred on loading)

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Numbers from the state file's JSON: a whole number in [lo, hi], or a finite real. Anything else
// (a fraction, a string, out of range) throws naming the key, rather than being converted
// (nn/json_whole.h says why).
int64_t whole(const json& j, const char* key, int64_t lo, int64_t hi) {
  const json& v = j.at(key);
  if (!v.is_number_integer()) throw Error(std::string("'") + key + "' is not a whole number");
  if (!whole_in_range(v, lo, hi))
    throw Error(std::string("'") + key + "' is " + v.dump() + ", outside [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  return v.get<int64_t>();
}

double real(const json& j, const char* key) {
  const json& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    throw Error(std::string("'") + key + "' is not a finite number");
  return v.get<double>();
}

constexpr int64_t kMaxEpochs = 10'000'000;       // far beyond any run; keeps epoch arithmetic in int
constexpr int64_t kMaxIters = int64_t{1} << 53;  // samples; exact in a float64

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

}  // namespace

std::string experiment_dir(const Options& opt) { return (fs::path(opt.checkpoints_dir) / opt.name).string(); }

std::string net_file(const Options& opt, const std::string& label, const std::string& net) {
  return (fs::path(experiment_dir(opt)) / (label + "_net_" + net + ".safetensors")).string();
}

std::string state_file(const Options& opt, const std::string& label) {
  return (fs::path(experiment_dir(opt)) / (label + "_train_state.safetensors")).string();
}

namespace {

std::string journal_file(const std::string& dir, const std::string& label) {
  return (fs::path(dir) / (label + "_checkpoint.commit")).string();
}

// The file names a journal lists, one per line.
std::vector<std::string> journal_entries(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> v;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) v.push_back(line);
  return v;
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

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
    const std::string tail = "_checkpoint.commit";
    std::vector<std::string> labels;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string f = e.path().filename().string();
      if (f.size() > tail.size() && f.ends_with(tail)) labels.push_back(f.substr(0, f.size() - tail.size()));
    }
    for (const std::string& l : labels) recover_checkpoint(dir, l);
  }
  const std::string journal = journal_file(dir, label);
  if (fs::exists(journal)) {  // the new set was complete: finish putting it in place
    for (const std::string& name : journal_entries(journal)) {
      const fs::path final_path = fs::path(dir) / name, fresh = final_path.string() + ".new";
      if (fs::exists(fresh)) fs::rename(fresh, final_path);
    }
    fsync_dir(dir);
    fs::remove(journal);
  }
  // Whatever is left is from a save that never completed: the old set stays.
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    const bool partial = f.size() > 4 && (f.ends_with(".new") || f.ends_with(".tmp"));
    if (partial && of_label(f, label)) fs::remove(e.path());  // a journal.tmp too: never committed
  }
}

std::string committed_file(const std::string& dir, const std::string& label, const std::string& path) {
  if (fs::exists(journal_file(dir, label)) && fs::exists(path + ".new")) return path + ".new";
  return path;
}

std::string available_checkpoints(const std::string& dir) {
  std::vector<std::string> labels;
  const std::string tail = "_net_G_A.safetensors";
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string f = e.path().filename().string();
      if (f.size() > tail.size() && f.ends_with(tail)) labels.push_back(f.substr(0, f.size() - tail.size()));
    }
  // latest first, then epochs in numeric order, then the rest
  std::sort(labels.begin(), labels.end(), [](const std::string& x, const std::string& y) {
    auto rank = [](const std::string& l) {
      if (l == "latest") return std::pair<int, long long>{0, 0};
      if (!l.empty() && std::all_of(l.begin(), l.end(), ::isdigit))
        return std::pair<int, long long>{1, std::stoll(l)};
      return std::pair<int, long long>{2, 0};
    };
    return rank(x) != rank(y) ? rank(x) < rank(y) : x < y;
  });
  std::string out;
  for (const std::string& l : labels) out += (out.empty() ? "" : ", ") + l;
  return out.empty() ? "none" : out;
}

void save_checkpoint(const CycleGANModel& m, const std::string& label, const TrainPosition& pos) {
  const std::string dir = experiment_dir(m.opt);
  fs::create_directories(dir);
  recover_checkpoint(dir, label);
  const std::string id = new_checkpoint_id(pos.total_iters);
  std::vector<std::string> names;  // of the final files, for the journal
  for (const auto& [name, net] : m.networks()) {
    const std::string path = net_file(m.opt, label, name);
    safetensors::save(path + ".new", net->state_dict(), {{"checkpoint", id}, {"net", name}});
    names.push_back(fs::path(path).filename().string());
  }
  if (m.is_train) {
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
        {"schedule", schedule_options_json(m.scheduler_G->options())},
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
    const std::string path = state_file(m.opt, label);
    safetensors::save(path + ".new", t, {{"train_state", state.dump()}});
    names.push_back(fs::path(path).filename().string());
  }
  fsync_dir(dir);
  // The commit point: once the journal exists, the new set is the checkpoint.
  const std::string journal = journal_file(dir, label);
  {
    std::FILE* f = std::fopen((journal + ".tmp").c_str(), "wb");
    if (!f) throw Error("cannot write '" + journal + ".tmp'");
    bool ok = true;
    for (const std::string& n : names) ok = ok && std::fprintf(f, "%s\n", n.c_str()) > 0;
    ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    ok = std::fclose(f) == 0 && ok;
    if (!ok) throw Error("writing '" + journal + ".tmp' failed (the previous checkpoint is left as it was)");
  }
  fs::rename(journal + ".tmp", journal);
  fsync_dir(dir);
  recover_checkpoint(dir, label);  // puts the new files in place and removes the journal
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

void load_generators(CycleGANModel& m, const std::string& label) {
  const std::string dir = experiment_dir(m.opt);
  auto path = [&](const char* net) { return committed_file(dir, label, net_file(m.opt, label, net)); };
  for (const char* net : {"G_A", "G_B"})
    if (!fs::exists(path(net)))
      throw Error("checkpoint file '" + net_file(m.opt, label, net) + "' does not exist (checkpoints in " +
                  dir + ": " + available_checkpoints(dir) + ")");
  const std::string a = load_network(*m.netG_A, path("G_A")), b = load_network(*m.netG_B, path("G_B"));
  if (!a.empty() && !b.empty() && a != b)
    throw Error("'" + path("G_A") + "' and '" + path("G_B") +
                "' come from different saves; translate with one checkpoint's pair (checkpoints in " + dir +
                ": " + available_checkpoints(dir) + ")");
}

std::optional<Restored> load_checkpoint(CycleGANModel& m, const std::string& label) {
  const std::string dir = experiment_dir(m.opt);
  if (m.is_train) recover_checkpoint(dir, "");  // a resume clears up after any interrupted save
  std::string id;
  bool ids_agree = true;
  for (const auto& [name, net] : m.networks()) {
    const std::string path = committed_file(dir, label, net_file(m.opt, label, name));
    if (!fs::exists(path))
      throw Error("checkpoint file '" + path + "' does not exist (checkpoints in " + dir + ": " +
                  available_checkpoints(dir) + ")");
    const std::string this_id = load_network(*net, path);
    if (name == "G_A")
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

  return restore_train_state(m, safetensors::load(spath), "'" + spath + "'", id);
}

Restored restore_train_state(CycleGANModel& m, const safetensors::Contents& c, const std::string& what,
                             const std::string& id) {
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
    if (st.at("checkpoint") != id)
      throw Error(what + " belongs to another save than the network files beside it (an interrupted save?)");
    m.optimizer_G->load_state_dict(c.tensors, "optimizer_G.", what);
    m.optimizer_D->load_state_dict(c.tensors, "optimizer_D.", what);
    TrainPosition pos;
    pos.epoch = static_cast<int>(whole(st, "epoch", 1, kMaxEpochs));
    pos.epoch_iter = whole(st, "epoch_iter", 0, kMaxIters);
    pos.total_iters = whole(st, "total_iters", 0, kMaxIters);
    if (!st.at("epoch_done").is_boolean()) throw Error("'epoch_done' is not true or false");
    pos.epoch_done = st.at("epoch_done").get<bool>();
    const nn::LRSchedule::Options now = m.scheduler_G->options();
    nn::LRSchedule::Options saved = now;
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
      saved.epoch_count =
          pos.epoch - static_cast<int>(whole(st.at("scheduler_G"), "last_epoch", 0, kMaxEpochs)) + 1;
    }
    Restored r;
    const std::string note = restore_schedule(m.scheduler_G, st.at("scheduler_G"), saved, now);
    restore_schedule(m.scheduler_D, st.at("scheduler_D"), saved, now);
    if (!note.empty()) r.notes.push_back(note);
    if (m.opt.epoch_count != 1 && m.opt.epoch_count != (pos.epoch_done ? pos.epoch + 1 : pos.epoch))
      r.notes.push_back("--epoch_count " + std::to_string(m.opt.epoch_count) +
                        " is not used: the training state continues at epoch " +
                        std::to_string(pos.epoch_done ? pos.epoch + 1 : pos.epoch));
    m.optimizer_G->set_lr(m.scheduler_G->lr());
    m.optimizer_D->set_lr(m.scheduler_D->lr());
    // A pool holds single fakes, (1, C, H, W): fake_A from G_B (input_nc channels), fake_B from G_A.
    auto pool = [&](const char* key, ImagePool& p, int channels) {
      std::vector<Tensor> imgs;
      const int64_t n = whole(st, key, 0, m.opt.pool_size);
      for (int64_t i = 0; i < n; ++i) {
        const std::string k = std::string(key) + "." + std::to_string(i);
        const auto t = c.tensors.find(k);
        if (t == c.tensors.end()) throw Error("entry '" + k + "' is missing");
        const Shape& sh = t->second.shape();
        if (sh.size() != 4 || sh[0] != 1 || sh[1] != channels || sh[2] < 1 || sh[3] < 1)
          throw Error("entry '" + k + "' has shape " + shape_str(sh) + ", not (1, " +
                      std::to_string(channels) + ", H, W)");
        for (double x : t->second.to_vector<double>())
          if (!(x >= -1.0 && x <= 1.0))
            throw Error("entry '" + k + "' holds " + std::to_string(x) + ", outside [-1, 1]");
        imgs.push_back(t->second.to(DType::F32).to(m.device));
      }
      p.set_images(std::move(imgs));
    };
    pool("fake_A_pool", m.fake_A_pool, m.opt.input_nc);
    pool("fake_B_pool", m.fake_B_pool, m.opt.output_nc);
    const json& g = st.at("generators");
    m.pool_generator.set_state(g.at("pool").get<std::string>());
    default_generator(Device::CPU).set_state(g.at("cpu").get<std::string>());
    default_generator(Device::CUDA).set_state(g.at("cuda").get<std::string>());
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

}  // namespace cg::cyclegan
