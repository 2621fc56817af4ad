#include "models/common/validation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "autograd/tape.h"
#include "data/dataset.h"
#include "data/fwd.h"
#include "data/image.h"
#include "data/score.h"
#include "models/common/checkpoint.h"
#include "models/common/datasets.h"
#include "models/common/model_spec.h"
#include "models/common/tester.h"
#include "tensor/random.h"

namespace cg::models {

namespace fs = std::filesystem;

namespace {

constexpr int kThreshold = 5;  // pixel accuracy's, cyclegan_score's default
constexpr int kFwdLevel = 4;   // pytorchfwd's --max_level, cyclegan_score's

// "%.9g" (every float32 exactly), "nan" for a score not taken
std::string cell(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string shown(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

// Whether the two folders' files pair up one to one by the numbers in their names, as
// cyclegan_score pairs them: every file has a number, none twice in a folder, the same numbers in both.
bool pair_up(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  auto keys = [](const std::vector<std::string>& files, std::set<std::string>& out) {
    for (const std::string& f : files) {
      const std::string k = data::pair_key(f);
      if (k.empty() || !out.insert(k).second) return false;
    }
    return true;
  };
  std::set<std::string> ka, kb;
  return keys(a, ka) && keys(b, kb) && ka == kb;
}

// Every module of the model's networks with its train/eval mode, and the default generators: set
// aside while validating, put back by the destructor whatever happens.
class SetAside {
 public:
  explicit SetAside(const Model& model)
      : cpu_(default_generator(Device::CPU)), cuda_(default_generator(Device::CUDA)) {
    for (const auto& [name, net] : model.networks())
      for (const auto& [path, m] : net->named_modules()) modes_.emplace_back(m, m->is_training());
  }
  ~SetAside() {
    default_generator(Device::CPU) = cpu_;
    default_generator(Device::CUDA) = cuda_;
    // train() sets a module and everything below it: in named_modules' order (each module before
    // the modules below it) every module ends with its own mode
    for (const auto& [m, on] : modes_) m->train(on);
  }
  SetAside(const SetAside&) = delete;
  SetAside& operator=(const SetAside&) = delete;

 private:
  Generator cpu_, cuda_;
  std::vector<std::pair<nn::Module*, bool>> modes_;
};

}  // namespace

const std::vector<std::string>& validation_metrics() {
  static const std::vector<std::string> m = {"rmse", "accuracy", "psnr", "ssim", "fwd"};
  return m;
}

bool is_validation_metric(const std::string& name) {
  const auto& m = validation_metrics();
  return name == "auto" || std::find(m.begin(), m.end(), name) != m.end();
}

bool higher_is_better(const std::string& metric) {
  return metric == "psnr" || metric == "ssim" || metric == "accuracy";
}

bool is_paired_metric(const std::string& metric) { return metric != "fwd" && metric != "auto"; }

double ValidationScores::value(const std::string& metric) const {
  if (metric == "rmse") return rmse;
  if (metric == "accuracy") return accuracy;
  if (metric == "psnr") return psnr;
  if (metric == "ssim") return ssim;
  if (metric == "fwd") return fwd;
  throw Error("no validation metric '" + metric + "'");
}

Validator::Validator(const Options& opt, const Model& model) : opt_(opt) {
  const std::string flag = "--val_freq " + std::to_string(opt.val_freq);
  const ModelSpec& spec = model_spec(opt.model);
  if (spec.dataset || (opt.dataset_mode != "unaligned" && opt.dataset_mode != "aligned"))
    throw Error(flag + ": --model " + opt.model + " reads " +
                (spec.dataset_what.empty() ? opt.dataset_mode : spec.dataset_what) +
                "; validation reads unaligned (valA and valB) or aligned (val) data");
  const std::vector<std::string> visuals = model.visual_names();
  auto shows = [&](const char* v) { return std::find(visuals.begin(), visuals.end(), v) != visuals.end(); };
  if (!shows("fake_B") || !shows("real_B"))
    throw Error(flag + ": --model " + opt.model +
                " shows no fake_B and real_B, the translation and its target that validation scores");
  aligned_ = opt.dataset_mode == "aligned";

  // ---- the split: val, else test ----
  const std::string root = opt.val_dataroot.empty() ? opt.dataroot : opt.val_dataroot;
  const std::string root_flag = opt.val_dataroot.empty() ? "--dataroot" : "--val_dataroot";
  auto folder = [&](const std::string& phase, const char* side) {
    return (fs::path(root) / (phase + side)).string();
  };
  std::string phase, looked;
  for (const std::string p : {"val", "test"}) {
    const std::string a = folder(p, aligned_ ? "" : "A"), b = folder(p, aligned_ ? "" : "B");
    const bool has_a = fs::is_directory(a), has_b = fs::is_directory(b);
    if (has_a && has_b) {
      phase = p;
      break;
    }
    if (has_a != has_b)  // half a split is a mistake, not a reason to take the next one
      throw Error(flag + ": '" + (has_a ? a : b) + "' is there but '" + (has_a ? b : a) +
                  "' is not: a validation split needs both");
    looked += (looked.empty() ? "" : " nor ") + (aligned_ ? "'" + a + "'" : "'" + a + "' and '" + b + "'");
  }
  if (phase.empty())
    throw Error(
        flag + ": no validation data: " + root_flag + " '" + root + "' has neither " + looked +
        " (validation reads the val split, else the test split; --val_dataroot names another folder)");

  // ---- the images, as the official test.py prepares them ----
  opt_.dataroot = root;
  opt_.phase = phase;
  opt_.load_size = opt.crop_size;  // test.py: load_size = crop_size, so no random crop
  opt_.max_dataset_size = opt.val_max;
  const std::unique_ptr<data::Dataset> ds = create_dataset(opt_, false);  // errors name empty folders
  int64_t inputs = ds->size(), targets = ds->size();
  if (aligned_) {
    paired_ = true;
    what_ = folder(phase, "") + " (aligned pairs, " + std::to_string(inputs) + " images)";
  } else {
    const std::vector<std::string> a = data::find_images(folder(phase, "A"), opt.val_max),
                                   b = data::find_images(folder(phase, "B"), opt.val_max);
    const bool a_to_b = opt.direction == "AtoB";
    inputs = static_cast<int64_t>((a_to_b ? a : b).size());
    targets = static_cast<int64_t>((a_to_b ? b : a).size());
    paired_ = pair_up(a, b);
    what_ = folder(phase, a_to_b ? "A" : "B") + " -> " + folder(phase, a_to_b ? "B" : "A") + " (" +
            std::to_string(inputs) + " -> " + std::to_string(targets) + " images, " +
            (paired_ ? "paired by the numbers in their names" : "unpaired") + ")";
  }

  // ---- the metric ----
  metric_ = opt.val_metric == "auto" ? (paired_ ? "psnr" : "fwd") : opt.val_metric;
  if (is_paired_metric(metric_) && !paired_)
    throw Error("--val_metric " + metric_ + " needs validation images that pair up, and the files of " +
                what_ +
                " do not pair up one to one by the numbers in their names (as cyclegan_score pairs them); "
                "unpaired validation is scored by fwd");
  if (metric_ == "fwd" && std::min(inputs, targets) < 2)
    throw Error(
        "--val_metric " + metric_ + " needs at least 2 validation images per domain (a covariance), " +
        what_ + " has fewer (--val_max " +
        (opt.val_max == std::numeric_limits<int64_t>::max() ? "all" : std::to_string(opt.val_max)) + ")");
  data_key_ = what_ + ", " + opt.direction + ", --preprocess " + opt.preprocess + " at " +
              std::to_string(opt.crop_size);
  log_path_ = (fs::path(experiment_dir(opt)) / "val_log.csv").string();
}

bool Validator::due(int epoch, int last_epoch) const {
  return opt_.val_freq > 0 && (epoch % opt_.val_freq == 0 || epoch == last_epoch);
}

std::string Validator::describe() const {
  return "validation every " + std::to_string(opt_.val_freq) + " epoch" + (opt_.val_freq == 1 ? "" : "s") +
         " and after the last: " + what_ + "; 'best' by " + metric_ + " (" +
         (higher_is_better(metric_) ? "higher" : "lower") + " is better)";
}

ValidationScores Validator::run(Model& model, const std::function<void(const std::string&)>& warn) const {
  const SetAside aside(model);
  for (const auto& [name, net] : model.networks()) net->eval();
  manual_seed(opt_.seed);  // validation's own draws, the same at every validation
  NoGradGuard no_grad;
  const std::unique_ptr<data::Dataset> ds = create_dataset(opt_, false);
  // the translations and their targets as the tester would save them, each file once (an
  // unaligned split of unequal folders repeats the shorter one)
  std::vector<std::pair<std::string, data::Image>> results, targets;
  std::set<std::string> seen_results, seen_targets;
  translate_images(
      model, *ds, opt_, ds->size(),
      [&](const Translation& t) {
        const Tensor *fake = nullptr, *real = nullptr;
        for (const auto& [label, v] : t.visuals) {
          if (label == "fake_B") fake = &v;
          if (label == "real_B") real = &v;
        }
        if (!fake || !real) throw Error("the model showed no fake_B or no real_B");
        const std::string& target = opt_.direction == "AtoB" ? t.batch.B_paths[0] : t.batch.A_paths[0];
        if (seen_results.insert(t.path).second) results.emplace_back(t.path, data::from_tensor(*fake));
        if (seen_targets.insert(target).second) targets.emplace_back(target, data::from_tensor(*real));
      },
      [&](const std::string& files, const std::exception& e) {
        warn("validation: cannot translate '" + files + "': " + e.what() + "; skipped");
      });
  ValidationScores s;
  s.images = static_cast<int64_t>(results.size());
  // Either kind of score may be impossible on these images (sizes that differ with --preprocess
  // none): an error when it is the one 'best' is by, a warning otherwise.
  auto failed = [&](bool needed, const std::string& what, const std::exception& e) {
    if (needed) throw Error("validation: " + what + ": " + e.what());
    warn("validation: no " + what + ": " + e.what());
  };
  if (paired_) {
    // aligned: a translation and its target come from one AB file; unaligned: by number
    std::map<std::string, size_t> target_of;
    for (size_t i = 0; i < targets.size(); ++i)
      target_of[aligned_ ? targets[i].first : data::pair_key(targets[i].first)] = i;
    std::vector<std::pair<size_t, size_t>> pairs;
    for (size_t i = 0; i < results.size(); ++i) {
      const auto it = target_of.find(aligned_ ? results[i].first : data::pair_key(results[i].first));
      if (it != target_of.end()) pairs.emplace_back(i, it->second);
    }
    std::vector<data::PairScore> scored(pairs.size());
    std::vector<std::string> errors(pairs.size());
#pragma omp parallel for schedule(dynamic)
    for (size_t k = 0; k < pairs.size(); ++k) {
      const auto& [r, t] = pairs[k];
      try {
        scored[k] = data::score_pair(results[r].second, targets[t].second, kThreshold, results[r].first,
                                     targets[t].first);
      } catch (const std::exception& e) {
        errors[k] = e.what();
      }
    }
    try {
      for (const std::string& e : errors)
        if (!e.empty()) throw Error(e);
      if (!scored.empty()) {
        const data::Score sum = data::summarize(std::move(scored));
        s.pairs = static_cast<int64_t>(sum.pairs.size());
        s.rmse = sum.rmse;
        s.accuracy = sum.accuracy;
        s.psnr = sum.psnr;
        s.ssim = sum.ssim;
      }
    } catch (const Error& e) {
      failed(is_paired_metric(metric_), "paired scores", e);
    }
  }
  if (results.size() >= 2 && targets.size() >= 2) {
    try {
      data::WaveletPackets a(kFwdLevel, "the validation translations"),
          b(kFwdLevel, "the validation targets");
      for (const auto& [name, im] : results) a.add(im, name);
      for (const auto& [name, im] : targets) b.add(im, name);
      s.fwd = data::fwd(a, b);
    } catch (const Error& e) {
      failed(metric_ == "fwd", "FWD", e);
    }
  } else if (metric_ == "fwd") {
    throw Error("validation: FWD needs 2 images per set, and " + std::to_string(results.size()) +
                " translations and " + std::to_string(targets.size()) + " targets could be read");
  }
  return s;
}

bool Validator::better(double value, const std::optional<BestScore>& best) const {
  if (std::isnan(value)) return false;
  if (!best) return true;
  return higher_is_better(metric_) ? value > best->value : value < best->value;
}

void Validator::log(const ValidationScores& s, int epoch, int64_t epoch_iter, int64_t total_iters) const {
  const bool fresh = !fs::exists(log_path_) || fs::file_size(log_path_) == 0;
  std::ofstream out(log_path_, std::ios::app);
  if (fresh) {
    out << "epoch,iters,total_iters,images,pairs";
    for (const std::string& m : validation_metrics()) out << "," << m;
    out << "\n";
  }
  out << epoch << "," << epoch_iter << "," << total_iters << "," << s.images << "," << s.pairs;
  for (const std::string& m : validation_metrics()) out << "," << cell(s.value(m));
  out << "\n" << std::flush;
  if (!out) throw Error("cannot write the validation log '" + log_path_ + "'");
}

std::string Validator::summary(const ValidationScores& s) const {
  std::string line = metric_ + " " + shown(s.value(metric_));
  for (const std::string& m : validation_metrics())
    if (m != metric_ && !std::isnan(s.value(m))) line += ", " + m + " " + shown(s.value(m));
  return line + " (" + std::to_string(s.images) + " images" +
         (s.pairs ? ", " + std::to_string(s.pairs) + " pairs" : std::string()) + ")";
}

}  // namespace cg::models
