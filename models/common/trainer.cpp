#include "models/common/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "data/dataset.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/datasets.h"
#include "models/common/model.h"
#include "models/common/visualizer.h"
#include "ops/ops.h"

namespace cg::models {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// ---- stopping on SIGINT / SIGTERM: the handler only records the signal; the loop acts on it ----
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_stop_signal(int sig) { g_signal = sig; }

struct SignalScope {
  struct sigaction old_int {
  }, old_term{};
  SignalScope() {
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string hms(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--:--";
  const long t = static_cast<long>(s);
  char buf[64];
  if (t >= 86400)
    std::snprintf(buf, sizeof buf, "%ldd %02ld:%02ld:%02ld", t / 86400, t / 3600 % 24, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  return buf;
}

// Progress on stdout and the two loss logs in the experiment folder.
class Reporter {
 public:
  Reporter(const Options& opt, const std::vector<std::string>& loss_names, bool quiet)
      : quiet_(quiet), live_(!quiet && isatty(STDOUT_FILENO)) {
    const std::string dir = experiment_dir(opt);
    txt_.open(dir + "/loss_log.txt", std::ios::app);
    const std::string csv_path = dir + "/loss_log.csv";
    const bool fresh = !fs::exists(csv_path) || fs::file_size(csv_path) == 0;
    csv_.open(csv_path, std::ios::app);
    if (!txt_ || !csv_) throw Error("cannot write the loss logs in '" + dir + "'");
    if (fresh) {
      csv_ << "epoch,iters";
      for (const std::string& n : loss_names) csv_ << "," << n;
      csv_ << "\n" << std::flush;
    }
    char now[128];
    const std::time_t t = std::time(nullptr);
    std::strftime(now, sizeof now, "%c", std::localtime(&t));
    txt_ << "================ Training Loss (" << now << ") ================\n" << std::flush;
  }
  ~Reporter() { clear_live(); }

  // Any line for the user (the live line, if shown, is cleared first and redrawn later).
  void say(const std::string& line) {
    if (quiet_) return;
    clear_live();
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  // The official loss line, to loss_log.txt always and to stdout when no live line is shown;
  // the same values at full precision to loss_log.csv.
  void losses(int epoch, int64_t iters, const std::vector<std::pair<std::string, double>>& l, double t_comp,
              double t_data) {
    char head[128];
    std::snprintf(head, sizeof head, "(epoch: %d, iters: %lld, time: %.3f, data: %.3f) ", epoch,
                  static_cast<long long>(iters), t_comp, t_data);
    std::string msg = head;
    for (const auto& [k, v] : l) {
      char item[64];
      std::snprintf(item, sizeof item, "%s: %.3f ", k.c_str(), v);
      msg += item;
    }
    txt_ << msg << "\n" << std::flush;
    csv_ << epoch << "," << iters;
    for (const auto& [k, v] : l) {
      char num[32];
      std::snprintf(num, sizeof num, ",%.9g", v);  // 9 significant digits: every float32 exactly
      csv_ << num;
    }
    csv_ << "\n" << std::flush;
    if (!live_) say(msg);
  }

  // Whether the live line would be redrawn now (terminals only, at most 5 times a second).
  bool progress_due() const { return live_ && seconds_since(last_draw_) >= 0.2; }

  // The live line (terminals only), redrawn at most 5 times a second.
  void progress(int epoch, int total_epochs, int64_t epoch_iter, int64_t epoch_len, double its, double eta,
                const std::vector<std::pair<std::string, double>>& l) {
    if (!progress_due()) return;
    last_draw_ = Clock::now();
    char head[160];
    std::snprintf(head, sizeof head, "epoch %d/%d  iter %lld/%lld  %.2f it/s  ETA %s |", epoch, total_epochs,
                  static_cast<long long>(epoch_iter), static_cast<long long>(epoch_len), its,
                  hms(eta).c_str());
    std::string line = head;
    for (const auto& [k, v] : l) {
      char item[48];
      std::snprintf(item, sizeof item, " %s %.3f", k.c_str(), v);
      line += item;
    }
    std::printf("\r%s\033[K", line.c_str());
    std::fflush(stdout);
    shown_ = true;
  }

 private:
  void clear_live() {
    if (shown_) {
      std::printf("\r\033[K");
      shown_ = false;
    }
  }
  bool quiet_, live_, shown_ = false;
  Clock::time_point last_draw_{};
  std::ofstream txt_, csv_;
};

// False when any parameter holds a NaN or an infinity (checked before every save, so that no
// checkpoint ever holds weights that blew up, even in a step whose losses were still finite).
bool parameters_finite(const Model& m) {
  NoGradGuard no_grad;
  for (const auto& [name, net] : m.networks())
    for (const Tensor& p : net->parameters())
      if (!std::isfinite(sum(abs(p)).item())) return false;
  return true;
}

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

}  // namespace

// The official print_networks: each network's parameter count, and with --verbose its layers
// (here: every parameter's name and shape, in state-dict order).
static void print_networks(const Model& m, bool verbose) {
  std::printf("---------- Networks initialized -------------\n");
  for (const auto& [name, net] : m.networks()) {
    int64_t n = 0;
    for (const auto& [key, p] : net->named_parameters()) {
      n += p.numel();
      if (verbose) std::printf("  %s.%s %s\n", name.c_str(), key.c_str(), shape_str(p.shape()).c_str());
    }
    std::printf("[Network %s] Total number of parameters : %.3f M\n", name.c_str(),
                static_cast<double>(n) / 1e6);
  }
  std::printf("-----------------------------------------------\n");
}

namespace {

// One training run, in the steps the official train.py loop is made of: set up (everything that can
// fail, before any file is written), resume, then per epoch: the schedule step, one iteration per
// batch, the end of the epoch. Each step returns an exit code when the run must end there.
class TrainingRun {
 public:
  TrainingRun(const Options& opt, const TrainControl& ctl)
      : opt_(opt),
        ctl_(ctl),
        dataset_(dataset(opt)),
        loader_(*dataset_, opt.batch_size, !opt.serial_batches, opt.num_threads, opt.seed,
                opt.max_dataset_size),
        epoch_len_(loader_.samples_per_epoch()),
        total_epochs_(opt.n_epochs + opt.n_epochs_decay),
        model_holder_((manual_seed(opt.seed), create_model(opt, true))),
        model_(*model_holder_),
        pos_{opt.epoch_count, 0, 0, false},
        first_epoch_(opt.epoch_count) {}

  int run() {
    resume();
    start_output();
    SignalScope signals;
    for (int epoch = first_epoch_; epoch <= total_epochs_; ++epoch)
      if (const auto rc = one_epoch(epoch)) return *rc;
    if (const auto rc = final_save()) return *rc;
    visualizer_->finish();
    return 0;
  }

 private:
  static std::unique_ptr<data::Dataset> dataset(const Options& opt) {
    validate_options(opt, true);  // first of all: a bad option fails before any data is read
    return create_dataset(opt, true);
  }

  // --continue_train: the position, optimizers, schedules, pools and generators of the checkpoint
  // (or only its weights, with a warning, when it has no training state).
  void resume() {
    if (!opt_.continue_train) return;
    const std::string label = load_label(opt_);
    const auto restored = load_checkpoint(model_, label);
    if (!restored) {
      std::fprintf(stderr,
                   "warning: checkpoint '%s' in %s has network weights but no training state: starting new "
                   "optimizers and the learning-rate schedule of --epoch_count %d\n",
                   label.c_str(), experiment_dir(opt_).c_str(), opt_.epoch_count);
      return;
    }
    pos_ = restored->pos;
    notes_ = restored->notes;
    resume_mid_epoch_ = !pos_.epoch_done;
    first_epoch_ = pos_.epoch_done ? pos_.epoch + 1 : pos_.epoch;
    notes_.push_back(fmt("resuming checkpoint '%s': epoch %d, %lld samples into it, %lld in all, lr %.7f",
                         label.c_str(), pos_.epoch, static_cast<long long>(pos_.epoch_iter),
                         static_cast<long long>(pos_.total_iters), model_.lr()));
  }

  // The first writes: the experiment folder, the options file, the logs and the page.
  void start_output() {
    fs::create_directories(experiment_dir(opt_));
    write_options_file(opt_, true, experiment_dir(opt_));
    if (!ctl_.quiet) {
      std::printf("%s\n", options_text(opt_, true).c_str());
      print_networks(model_, opt_.verbose);
    }
    report_.emplace(opt_, model_.loss_names(), ctl_.quiet);
    report_->say(fmt("The number of training images = %lld", static_cast<long long>(epoch_len_)));
    for (const std::string& note : notes_) report_->say(note);
    visualizer_.emplace(model_, ctl_.quiet, epoch_len_);
  }

  std::optional<int> one_epoch(int epoch) {
    const auto epoch_start = Clock::now();
    int64_t epoch_iter = 0;
    if (resume_mid_epoch_ && epoch == first_epoch_) {
      epoch_iter = pos_.epoch_iter;  // the schedule was already stepped for this epoch
    } else {
      const auto [old_lr, new_lr] =
          model_.update_learning_rate();  // at the start of every epoch, as the official
      report_->say(fmt("learning rate %.7f -> %.7f", old_lr, new_lr));
    }
    loader_.start_epoch(epoch, epoch_iter);
    iter_data_time_ = Clock::now();
    data::Batch batch;
    while (loader_.next(batch)) {
      epoch_iter += opt_.batch_size;
      if (const auto rc = one_iteration(epoch, epoch_iter, batch)) return rc;
    }
    return end_of_epoch(epoch, epoch_iter, epoch_start);
  }

  std::optional<int> one_iteration(int epoch, int64_t epoch_iter, const data::Batch& batch) {
    const auto iter_start = Clock::now();
    if (pos_.total_iters % opt_.print_freq == 0)
      t_data_ = std::chrono::duration<double>(iter_start - iter_data_time_).count();
    pos_ = {epoch, epoch_iter, pos_.total_iters + opt_.batch_size, false};
    model_.set_input(batch);
    model_.optimize_parameters();
    const double t_comp = seconds_since(iter_start) / opt_.batch_size;
    rate_ = rate_ == 0 ? 1.0 / std::max(t_comp, 1e-9) : 0.9 * rate_ + 0.1 / std::max(t_comp, 1e-9);

    const int sig = g_signal;
    const int64_t total = pos_.total_iters;
    const bool stopping = sig || (ctl_.stop_after && ctl_.stop_after(total));
    const bool displaying = total % opt_.display_freq == 0;
    const bool printing = total % opt_.print_freq == 0;
    const bool saving = total % opt_.save_latest_freq == 0;
    // The losses and their NaN check stay on the device (a copy would stall the GPU's queue every
    // step); they come to the host only when shown or before anything is saved, so a NaN is caught
    // within --print_freq iterations and never reaches a checkpoint.
    std::vector<std::pair<std::string, double>> losses;
    if (stopping || displaying || printing || saving || report_->progress_due()) {
      losses = model_.current_losses();
      if (!model_.losses_finite()) {
        std::string what =
            "a loss was NaN or infinite within the last " + std::to_string(opt_.print_freq) + " iterations";
        for (const auto& [name, v] : losses)
          if (!std::isfinite(v)) {
            what = "loss " + name + (std::isnan(v) ? " is NaN" : " is infinite");
            break;
          }
        return stop_non_finite(what);
      }
    }
    if (displaying) {
      visualizer_->display(model_, epoch, total,
                           total % opt_.update_html_freq == 0 || kept_row_epoch_ != epoch);
      kept_row_epoch_ = epoch;
    }
    if (printing) report_->losses(epoch, epoch_iter, losses, t_comp, t_data_);
    if (saving) {
      report_->say(
          fmt("saving the latest model (epoch %d, total_iters %lld)", epoch, static_cast<long long>(total)));
      if (const auto rc =
              save_or_stop(opt_.save_by_iter ? fmt("iter_%lld", static_cast<long long>(total)) : "latest"))
        return rc;
    }
    const double remaining = static_cast<double>((total_epochs_ - epoch) * epoch_len_ +
                                                 (epoch_len_ - std::min(epoch_iter, epoch_len_)));
    if (!losses.empty())
      report_->progress(epoch, total_epochs_, std::min(epoch_iter, epoch_len_), epoch_len_,
                        rate_ / opt_.batch_size, remaining / rate_, losses);
    if (stopping) {
      if (const auto rc = save_or_stop("latest")) return rc;
      const std::string msg =
          fmt("%s: saved 'latest' at epoch %d, iteration %lld (%s); resume with --continue_train",
              sig ? (sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)") : "stopped", epoch,
              static_cast<long long>(epoch_iter), experiment_dir(opt_).c_str());
      report_->say(msg);
      if (sig) std::fprintf(stderr, "%s\n", msg.c_str());
      return sig ? 128 + sig : 0;
    }
    iter_data_time_ = Clock::now();
    return std::nullopt;
  }

  std::optional<int> end_of_epoch(int epoch, int64_t epoch_iter, Clock::time_point epoch_start) {
    pos_ = {epoch, epoch_iter, pos_.total_iters, true};
    if (epoch % opt_.save_epoch_freq == 0) {
      report_->say(fmt("saving the model at the end of epoch %d, iters %lld", epoch,
                       static_cast<long long>(pos_.total_iters)));
      if (const auto rc = save_or_stop("latest")) return rc;
      if (const auto rc = save_or_stop(std::to_string(epoch))) return rc;
      last_saved_epoch_ = epoch;
    }
    report_->say(fmt("End of epoch %d / %d \t Time Taken: %d sec", epoch, total_epochs_,
                     static_cast<int>(seconds_since(epoch_start))));
    return std::nullopt;
  }

  // Beyond the official: the final weights are always kept, even when the last epoch is not a
  // multiple of --save_epoch_freq.
  std::optional<int> final_save() {
    if (last_saved_epoch_ == total_epochs_ || total_epochs_ < first_epoch_) return std::nullopt;
    report_->say(fmt("saving the final model (epoch %d, iters %lld) as 'latest'", total_epochs_,
                     static_cast<long long>(pos_.total_iters)));
    return save_or_stop("latest");
  }

  // Every save goes through here: weights that are no longer finite, or that a step with a NaN or
  // infinite loss produced, are never written; the run stops instead.
  std::optional<int> save_or_stop(const std::string& label) {
    if (!model_.losses_finite() || !parameters_finite(model_))
      return stop_non_finite("the weights are no longer finite");
    save_checkpoint(model_, label, pos_);
    return std::nullopt;
  }

  int stop_non_finite(const std::string& what) {
    const std::string msg =
        fmt("error: %s at epoch %d, iteration %lld; stopping. Nothing was saved after the last "
            "checkpoint, which is left as it was.",
            what.c_str(), pos_.epoch, static_cast<long long>(pos_.epoch_iter));
    report_->say(msg);
    std::fprintf(stderr, "%s\n", msg.c_str());
    return kExitNonFinite;
  }

  const Options& opt_;
  const TrainControl& ctl_;
  const std::unique_ptr<data::Dataset> dataset_;
  data::Loader loader_;
  const int64_t epoch_len_;
  const int total_epochs_;
  const std::unique_ptr<Model> model_holder_;
  Model& model_;
  TrainPosition pos_;  // where the run is: updated by every iteration and at every epoch's end
  int first_epoch_;
  bool resume_mid_epoch_ = false;
  std::vector<std::string> notes_;  // what the resume did, for the log
  std::optional<Reporter> report_;
  std::optional<Visualizer> visualizer_;
  Clock::time_point iter_data_time_{};
  double t_data_ = 0;  // seconds waiting for data before the last printed iteration
  double rate_ = 0;    // samples per second, smoothed
  int last_saved_epoch_ = 0;
  int kept_row_epoch_ = 0;  // the epoch whose first displayed images the page keeps
};

}  // namespace

int run_training(const Options& opt, const TrainControl& ctl) { return TrainingRun(opt, ctl).run(); }

}  // namespace cg::models
