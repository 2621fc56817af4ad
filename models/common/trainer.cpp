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
#include "data/files.h"
#include "dist/collectives.h"
#include "dist/comm.h"
#include "dist/launch.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/datasets.h"
#include "models/common/model.h"
#include "models/common/visualizer.h"
#include "ops/ops.h"
#include "tensor/tensor.h"

namespace cg::models {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// ---- stopping on SIGINT / SIGTERM: the handler only records the signal; the loop acts on it ----
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_stop_signal(int sig) { g_signal = sig; }

// Under mpirun two more: mpirun forwards SIGUSR1 to every rank, and when it is itself told to stop
// (SIGINT, SIGTERM) its first word to the ranks is SIGCONT, then SIGTERM a second later, then
// SIGKILL a second after that (OpenMPI 4's odls_base_sigkill_timeout, 1 s): the ranks act on the
// SIGCONT, so that they have those seconds to finish the step and save.
struct SignalScope {
  std::vector<int> signals;
  std::vector<struct sigaction> old;
  explicit SignalScope(bool under_mpi) {
    g_signal = 0;
    signals = {SIGINT, SIGTERM};
    if (under_mpi) signals.insert(signals.end(), {SIGUSR1, SIGCONT});
    old.resize(signals.size());
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < signals.size(); ++i) sigaction(signals[i], &sa, &old[i]);
  }
  ~SignalScope() {
    for (size_t i = 0; i < signals.size(); ++i) sigaction(signals[i], &old[i], nullptr);
  }
};

const char* signal_words(int sig) {
  switch (sig) {
    case SIGINT:
      return "interrupted (SIGINT)";
    case SIGTERM:
      return "terminated (SIGTERM)";
    case SIGUSR1:
      return "stopped (SIGUSR1)";
    case SIGCONT:
      return "stopped (mpirun was told to stop)";
    default:
      return "stopped";
  }
}

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
      : quiet_(quiet),
        live_(!quiet && isatty(STDOUT_FILENO) && dist::size() == 1) {  // mpirun's pty is not the user's
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
        world_(dist::size()),
        rank_(dist::rank()),
        root_(rank_ == 0),
        global_batch_(int64_t{opt.batch_size} * world_),
        dataset_(dataset(opt)),
        loader_(*dataset_, opt.batch_size, !opt.serial_batches, opt.num_threads, opt.seed,
                opt.max_dataset_size, rank_, world_),
        epoch_len_(loader_.samples_per_epoch()),
        total_epochs_(opt.n_epochs + opt.n_epochs_decay),
        device_line_(setup_device(opt)),
        model_holder_((manual_seed(rank_options(opt).seed), create_model(rank_options(opt), true))),
        model_(*model_holder_),
        pos_{opt.epoch_count, 0, 0, false},
        first_epoch_(opt.epoch_count) {}

  int run() {
    // One writer per experiment: rank 0 holds the folder's lock for the whole run.
    std::optional<data::FolderLock> lock;
    if (root_) lock.emplace(experiment_dir(opt_), "train.lock", "the experiment folder");
    dist::barrier();
    resume();
    same_start();
    start_output();
    SignalScope signals(world_ > 1);
    for (int epoch = first_epoch_; epoch <= total_epochs_; ++epoch)
      if (const auto rc = one_epoch(epoch)) return *rc;
    if (const auto rc = final_save()) return *rc;
    if (root_) visualizer_->finish();
    return 0;
  }

 private:
  static std::unique_ptr<data::Dataset> dataset(const Options& opt) {
    validate_options(opt, true);  // first of all: a bad option fails before any data is read
    return create_dataset(opt, true);
  }

  // Each rank's own random streams (image pools, dropout): rank r's generators start from --seed +
  // r; rank 0's are those of a single process. The weights they draw are replaced by rank 0's.
  static Options rank_options(const Options& opt) {
    Options o = opt;
    o.seed = opt.seed + static_cast<uint64_t>(dist::rank());
    return o;
  }

  // On the GPU: the rank's GPU and how gradients travel between ranks (a line for the log).
  static std::string setup_device(const Options& opt) {
    if (opt.device != "cuda" || !kHaveCuda || !cuda_available()) return "";
    return dist::setup_gpu(gpu_id_list(opt), opt.dist_backend);
  }

  // Data parallel: every rank starts from rank 0's weights and buffers (after a resume too).
  void same_start() {
    if (world_ == 1) return;
    NoGradGuard no_grad;
    for (const auto& [name, net] : model_.networks()) {
      for (auto [key, p] : net->named_parameters()) dist::broadcast_(p);
      for (auto [key, b] : net->named_buffers()) dist::broadcast_(b);
    }
  }

  void say(const std::string& line) {
    if (root_) report_->say(line);
  }

  // --continue_train: the position, optimizers, schedules, pools and generators of the checkpoint
  // (or only its weights, with a warning, when it has no training state).
  void resume() {
    if (!opt_.continue_train) return;
    const std::string label = load_label(opt_);
    // rank 0 alone finishes or clears an interrupted save; then every rank reads the same files
    if (root_) recover_checkpoint(experiment_dir(opt_), "");
    dist::barrier();
    const auto restored = load_checkpoint(model_, label);
    if (!restored) {
      if (root_)
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
    if (!root_) return;  // only rank 0 prints and writes
    fs::create_directories(experiment_dir(opt_));
    write_options_file(opt_, true, experiment_dir(opt_));
    if (!ctl_.quiet) {
      std::printf("%s\n", options_text(opt_, true).c_str());
      print_networks(model_, opt_.verbose);
    }
    report_.emplace(opt_, model_.loss_names(), ctl_.quiet);
    report_->say(fmt("The number of training images = %lld", static_cast<long long>(epoch_len_)));
    if (world_ > 1)
      report_->say(
          fmt("data parallel: %d ranks x --batch_size %d = a global batch of %lld; %lld samples per "
              "rank and epoch",
              world_, opt_.batch_size, static_cast<long long>(global_batch_),
              static_cast<long long>((epoch_len_ + world_ - 1) / world_)));
    if (!device_line_.empty()) report_->say(device_line_);
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
      say(fmt("learning rate %.7f -> %.7f", old_lr, new_lr));
    }
    loader_.start_epoch(epoch, epoch_iter);
    iter_data_time_ = Clock::now();
    data::Batch batch;
    while (loader_.next(batch)) {
      epoch_iter += global_batch_;  // samples of every rank: the position is the run's, not the rank's
      if (const auto rc = one_iteration(epoch, epoch_iter, batch)) return rc;
    }
    return end_of_epoch(epoch, epoch_iter, epoch_start);
  }

  std::optional<int> one_iteration(int epoch, int64_t epoch_iter, const data::Batch& batch) {
    const auto iter_start = Clock::now();
    if (pos_.total_iters % opt_.print_freq == 0)
      t_data_ = std::chrono::duration<double>(iter_start - iter_data_time_).count();
    pos_ = {epoch, epoch_iter, pos_.total_iters + global_batch_, false};
    model_.set_input(batch);
    model_.optimize_parameters();
    const double t_comp = seconds_since(iter_start) / opt_.batch_size;
    const double rate = world_ / std::max(t_comp, 1e-9);  // samples per second, every rank's
    rate_ = rate_ == 0 ? rate : 0.9 * rate_ + 0.1 * rate;

    const int64_t total = pos_.total_iters;
    // Every rank stops at the same step: a signal any rank got (or the control's request) counts
    // for all (256: the control's).
    int stop_code = g_signal                                      ? static_cast<int>(g_signal)
                    : (ctl_.stop_after && ctl_.stop_after(total)) ? 256
                                                                  : 0;
    if (world_ > 1) stop_code = dist::all_reduce_max(stop_code);
    const int sig = stop_code < 256 ? stop_code : 0;
    const bool stopping = stop_code != 0;
    const bool displaying = total % opt_.display_freq == 0;
    const bool printing = total % opt_.print_freq == 0;
    const bool saving = total % opt_.save_latest_freq == 0;
    // The losses and their NaN check stay on the device (a copy would stall the GPU's queue every
    // step); they come to the host only when shown or before anything is saved, so a NaN is caught
    // within --print_freq iterations and never reaches a checkpoint.
    // In data parallel the check is collective, on the same steps on every rank.
    std::vector<std::pair<std::string, double>> losses;
    const bool show = root_ && report_->progress_due();
    const bool checking = stopping || displaying || printing || saving || (world_ == 1 && show);
    if (checking || show) losses = model_.current_losses();
    if (checking && world_ > 1) {  // the losses shown and logged are the global batch's: the ranks' mean
      std::vector<double> v;
      for (const auto& l : losses) v.push_back(l.second);
      dist::all_reduce_sum(v.data(), v.size());
      for (size_t k = 0; k < v.size(); ++k) losses[k].second = v[k] / world_;
    }
    if (checking) {
      const bool bad_here = !model_.losses_finite();
      const bool bad = world_ > 1 ? dist::all_reduce_max(bad_here ? 1 : 0) != 0 : bad_here;
      if (bad) {
        std::string what = bad_here ? "a loss was NaN or infinite within the last " +
                                          std::to_string(opt_.print_freq) + " iterations"
                                    : "a loss was NaN or infinite on another rank";
        for (const auto& [name, v] : losses)
          if (!std::isfinite(v)) {
            what = "loss " + name + (std::isnan(v) ? " is NaN" : " is infinite");
            break;
          }
        return stop_non_finite(what);
      }
    }
    if (displaying && root_) {
      visualizer_->display(model_, epoch, total,
                           total % opt_.update_html_freq == 0 || kept_row_epoch_ != epoch);
      kept_row_epoch_ = epoch;
    }
    if (printing && root_) report_->losses(epoch, epoch_iter, losses, t_comp, t_data_);
    if (saving) {
      say(fmt("saving the latest model (epoch %d, total_iters %lld)", epoch, static_cast<long long>(total)));
      if (const auto rc =
              save_or_stop(opt_.save_by_iter ? fmt("iter_%lld", static_cast<long long>(total)) : "latest"))
        return rc;
    }
    const double remaining = static_cast<double>((total_epochs_ - epoch) * epoch_len_ +
                                                 (epoch_len_ - std::min(epoch_iter, epoch_len_)));
    if (!losses.empty() && root_)
      report_->progress(epoch, total_epochs_, std::min(epoch_iter, epoch_len_), epoch_len_,
                        rate_ / static_cast<double>(global_batch_), remaining / rate_, losses);
    if (stopping) {
      if (const auto rc = save_or_stop("latest")) return rc;
      const std::string msg =
          fmt("%s: saved 'latest' at epoch %d, iteration %lld (%s); resume with --continue_train",
              signal_words(sig), epoch, static_cast<long long>(epoch_iter), experiment_dir(opt_).c_str());
      say(msg);
      if (sig && root_) std::fprintf(stderr, "%s\n", msg.c_str());
      return sig ? 128 + sig : 0;
    }
    iter_data_time_ = Clock::now();
    return std::nullopt;
  }

  std::optional<int> end_of_epoch(int epoch, int64_t epoch_iter, Clock::time_point epoch_start) {
    pos_ = {epoch, epoch_iter, pos_.total_iters, true};
    if (epoch % opt_.save_epoch_freq == 0) {
      say(fmt("saving the model at the end of epoch %d, iters %lld", epoch,
              static_cast<long long>(pos_.total_iters)));
      if (const auto rc = save_or_stop("latest")) return rc;
      if (const auto rc = save_or_stop(std::to_string(epoch))) return rc;
      last_saved_epoch_ = epoch;
    }
    say(fmt("End of epoch %d / %d \t Time Taken: %d sec", epoch, total_epochs_,
            static_cast<int>(seconds_since(epoch_start))));
    return std::nullopt;
  }

  // Beyond the official: the final weights are always kept, even when the last epoch is not a
  // multiple of --save_epoch_freq.
  std::optional<int> final_save() {
    if (last_saved_epoch_ == total_epochs_ || total_epochs_ < first_epoch_) return std::nullopt;
    say(fmt("saving the final model (epoch %d, iters %lld) as 'latest'", total_epochs_,
            static_cast<long long>(pos_.total_iters)));
    return save_or_stop("latest");
  }

  // Every save goes through here: weights that are no longer finite, or that a step with a NaN or
  // infinite loss produced, are never written; the run stops instead.
  // In data parallel every rank comes here at the same step: the check is collective, every
  // rank's own state goes to rank 0, and rank 0 writes the set.
  std::optional<int> save_or_stop(const std::string& label) {
    bool bad = !model_.losses_finite() || !parameters_finite(model_);
    if (world_ > 1) bad = dist::all_reduce_max(bad ? 1 : 0) != 0;
    if (bad) return stop_non_finite("the weights are no longer finite");
    std::vector<std::string> others;
    if (world_ > 1) {
      std::vector<std::string> all = dist::gather(rank_state(model_));
      if (root_) others.assign(all.begin() + 1, all.end());
    }
    if (root_) save_checkpoint(model_, label, pos_, others);
    return std::nullopt;
  }

  int stop_non_finite(const std::string& what) {
    const std::string msg =
        fmt("error: %s at epoch %d, iteration %lld; stopping. Nothing was saved after the last "
            "checkpoint, which is left as it was.",
            what.c_str(), pos_.epoch, static_cast<long long>(pos_.epoch_iter));
    say(msg);
    if (root_) std::fprintf(stderr, "%s\n", msg.c_str());
    return kExitNonFinite;
  }

  const Options& opt_;
  const TrainControl& ctl_;
  const int world_, rank_;      // data parallel: how many ranks, and which this is (dist/comm.h)
  const bool root_;             // rank 0: the one that prints and writes
  const int64_t global_batch_;  // --batch_size times the ranks: the samples of one step
  const std::unique_ptr<data::Dataset> dataset_;
  data::Loader loader_;
  const int64_t epoch_len_;
  const int total_epochs_;
  const std::string device_line_;  // the GPU and gradient path, for the log; made before the model
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

int run_training(const Options& opt, const TrainControl& ctl) {
  try {
    return TrainingRun(opt, ctl).run();
  } catch (const std::exception& e) {
    // One rank's error ends every rank at once: the others would wait for it in a collective.
    if (dist::size() > 1) {
      std::fprintf(stderr, "error on %s: %s\n", dist::describe_rank().c_str(), e.what());
      std::fflush(stderr);
      dist::abort_job(1);
    }
    throw;
  }
}

int training_main(int argc, char** argv, Parsed (*parse)(int, char**),
                  const std::function<void(Options&)>& prepare) {
  try {
    dist::init(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  Parsed p = parse(argc, argv);
  if (p.exit_code) return *p.exit_code;
  try {
    const int gpus = static_cast<int>(gpu_id_list(p.opt).size());
    if (gpus > 1 && !kHaveCuda)
      throw Error("--gpu_ids " + p.opt.gpu_ids + ": this build has no CUDA backend");
    // before any rank starts: one clear error rather than one from every rank
    if (gpus > 1 && dist::size() == 1 && !cuda_available())
      throw Error("--gpu_ids " + p.opt.gpu_ids + ": no CUDA device is available on this machine");
    if (const auto rc = dist::launch_ranks(argc, argv, gpus)) return *rc;
    if (prepare) prepare(p.opt);
    const int rc = run_training(p.opt);
    dist::finalize();
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace cg::models
