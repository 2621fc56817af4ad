#include "models/cyclegan/trainer.h"

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

#include "data/dataset.h"
#include "models/cyclegan/checkpoint.h"
#include "models/cyclegan/cli.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "models/cyclegan/visualizer.h"
#include "ops/ops.h"

namespace cg::cyclegan {

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
  Reporter(const Options& opt, bool quiet) : quiet_(quiet), live_(!quiet && isatty(STDOUT_FILENO)) {
    const std::string dir = experiment_dir(opt);
    txt_.open(dir + "/loss_log.txt", std::ios::app);
    const std::string csv_path = dir + "/loss_log.csv";
    const bool fresh = !fs::exists(csv_path) || fs::file_size(csv_path) == 0;
    csv_.open(csv_path, std::ios::app);
    if (!txt_ || !csv_) throw Error("cannot write the loss logs in '" + dir + "'");
    if (fresh) csv_ << "epoch,iters,D_A,G_A,cycle_A,idt_A,D_B,G_B,cycle_B,idt_B\n" << std::flush;
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
bool parameters_finite(const CycleGANModel& m) {
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
static void print_networks(const CycleGANModel& m, bool verbose) {
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

int run_training(const Options& opt, const TrainControl& ctl) {
  // Everything that can fail on the options, the data or the checkpoint fails here, before the
  // experiment folder or any file in it is written.
  validate_options(opt, true);
  const std::string dir = experiment_dir(opt);
  data::UnalignedDataset::Options dopt;
  dopt.dataroot = opt.dataroot;
  dopt.phase = opt.phase;
  dopt.a_to_b = opt.direction == "AtoB";
  dopt.serial_batches = opt.serial_batches;
  dopt.input_nc = opt.input_nc;
  dopt.output_nc = opt.output_nc;
  dopt.max_dataset_size = opt.max_dataset_size;
  dopt.preprocess = {opt.preprocess, opt.load_size, opt.crop_size, !opt.no_flip, 3, opt.max_pixels};
  const data::UnalignedDataset dataset(dopt);
  data::Loader loader(dataset, opt.batch_size, !opt.serial_batches, opt.num_threads, opt.seed,
                      opt.max_dataset_size);
  const int64_t epoch_len = loader.samples_per_epoch();

  manual_seed(opt.seed);
  CycleGANModel model(opt, true);
  TrainPosition pos{opt.epoch_count, 0, 0, false};
  bool resume_mid_epoch = false;
  int first_epoch = opt.epoch_count;
  std::vector<std::string> resume_notes;
  if (opt.continue_train) {
    const std::string label = load_label(opt);
    const auto restored = load_checkpoint(model, label);
    if (restored) {
      pos = restored->pos;
      resume_notes = restored->notes;
      resume_mid_epoch = !pos.epoch_done;
      first_epoch = pos.epoch_done ? pos.epoch + 1 : pos.epoch;
      resume_notes.push_back(
          fmt("resuming checkpoint '%s': epoch %d, %lld samples into it, %lld in all, lr %.7f", label.c_str(),
              pos.epoch, static_cast<long long>(pos.epoch_iter), static_cast<long long>(pos.total_iters),
              model.lr()));
    } else {
      std::fprintf(stderr,
                   "warning: checkpoint '%s' in %s has network weights but no training state: starting new "
                   "optimizers and the learning-rate schedule of --epoch_count %d\n",
                   label.c_str(), dir.c_str(), opt.epoch_count);
    }
  }

  fs::create_directories(dir);
  write_options_file(opt, true, dir);
  if (!ctl.quiet) {
    std::printf("%s\n", options_text(opt, true).c_str());
    print_networks(model, opt.verbose);
  }
  Reporter report(opt, ctl.quiet);
  report.say(fmt("The number of training images = %lld", static_cast<long long>(epoch_len)));
  for (const std::string& note : resume_notes) report.say(note);
  Visualizer visualizer(opt, ctl.quiet, epoch_len);

  // Every save goes through here: weights that are no longer finite, or that a step with a NaN or
  // infinite loss produced, are never written.
  auto save = [&](const std::string& label, const TrainPosition& at) {
    if (!model.losses_finite() || !parameters_finite(model)) return false;
    save_checkpoint(model, label, at);
    return true;
  };
  auto non_finite_stop = [&](const std::string& what, int epoch, int64_t iter) {
    const std::string msg =
        fmt("error: %s at epoch %d, iteration %lld; stopping. Nothing was saved after the last "
            "checkpoint, which is left as it was.",
            what.c_str(), epoch, static_cast<long long>(iter));
    report.say(msg);
    std::fprintf(stderr, "%s\n", msg.c_str());
    return kExitNonFinite;
  };

  SignalScope signals;
  const int total_epochs = opt.n_epochs + opt.n_epochs_decay;
  double rate = 0;  // samples per second, smoothed
  int last_saved_epoch = 0;
  int kept_row_epoch = 0;  // the epoch whose first displayed images the page keeps
  for (int epoch = first_epoch; epoch <= total_epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    int64_t epoch_iter = 0;
    if (resume_mid_epoch && epoch == first_epoch) {
      epoch_iter = pos.epoch_iter;  // the schedule was already stepped for this epoch
    } else {
      const auto [old_lr, new_lr] =
          model.update_learning_rate();  // at the start of every epoch, as the official
      report.say(fmt("learning rate %.7f -> %.7f", old_lr, new_lr));
    }
    loader.start_epoch(epoch, epoch_iter);
    auto iter_data_time = Clock::now();
    double t_data = 0;
    data::Loader::Batch batch;
    while (loader.next(batch)) {
      const auto iter_start = Clock::now();
      if (pos.total_iters % opt.print_freq == 0)
        t_data = std::chrono::duration<double>(iter_start - iter_data_time).count();
      pos.total_iters += opt.batch_size;
      epoch_iter += opt.batch_size;
      pos = {epoch, epoch_iter, pos.total_iters, false};
      model.set_input(batch.A, batch.B);
      model.optimize_parameters();
      const double t_comp = seconds_since(iter_start) / opt.batch_size;
      rate = rate == 0 ? 1.0 / std::max(t_comp, 1e-9) : 0.9 * rate + 0.1 / std::max(t_comp, 1e-9);

      const int sig = g_signal;
      const bool stopping = sig || (ctl.stop_after && ctl.stop_after(pos.total_iters));
      const bool displaying = pos.total_iters % opt.display_freq == 0;
      const bool printing = pos.total_iters % opt.print_freq == 0;
      const bool saving = pos.total_iters % opt.save_latest_freq == 0;
      // The losses and their NaN check stay on the device (a copy would stall the GPU's queue every
      // step); they come to the host only when shown or before anything is saved, so a NaN is caught
      // within --print_freq iterations and never reaches a checkpoint.
      std::vector<std::pair<std::string, double>> losses;
      if (stopping || displaying || printing || saving || report.progress_due()) {
        losses = model.current_losses();
        if (!model.losses_finite()) {
          std::string what =
              "a loss was NaN or infinite within the last " + std::to_string(opt.print_freq) + " iterations";
          for (const auto& [name, v] : losses)
            if (!std::isfinite(v)) {
              what = "loss " + name + (std::isnan(v) ? " is NaN" : " is infinite");
              break;
            }
          return non_finite_stop(what, epoch, epoch_iter);
        }
      }

      if (displaying) {
        visualizer.display(model, epoch, pos.total_iters,
                           pos.total_iters % opt.update_html_freq == 0 || kept_row_epoch != epoch);
        kept_row_epoch = epoch;
      }
      if (printing) report.losses(epoch, epoch_iter, losses, t_comp, t_data);
      if (saving) {
        report.say(fmt("saving the latest model (epoch %d, total_iters %lld)", epoch,
                       static_cast<long long>(pos.total_iters)));
        if (!save(opt.save_by_iter ? fmt("iter_%lld", static_cast<long long>(pos.total_iters)) : "latest",
                  pos))
          return non_finite_stop("the weights are no longer finite", epoch, epoch_iter);
      }
      const double remaining = static_cast<double>((total_epochs - epoch) * epoch_len +
                                                   (epoch_len - std::min(epoch_iter, epoch_len)));
      if (!losses.empty())
        report.progress(epoch, total_epochs, std::min(epoch_iter, epoch_len), epoch_len,
                        rate / opt.batch_size, remaining / rate, losses);

      if (stopping) {
        if (!save("latest", pos))
          return non_finite_stop("the weights are no longer finite", epoch, epoch_iter);
        const std::string msg =
            fmt("%s: saved 'latest' at epoch %d, iteration %lld (%s); resume with --continue_train",
                sig ? (sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)") : "stopped", epoch,
                static_cast<long long>(epoch_iter), dir.c_str());
        report.say(msg);
        if (sig) std::fprintf(stderr, "%s\n", msg.c_str());
        return sig ? 128 + sig : 0;
      }
      iter_data_time = Clock::now();
    }
    if (epoch % opt.save_epoch_freq == 0) {
      report.say(fmt("saving the model at the end of epoch %d, iters %lld", epoch,
                     static_cast<long long>(pos.total_iters)));
      pos = {epoch, epoch_iter, pos.total_iters, true};
      if (!save("latest", pos) || !save(std::to_string(epoch), pos))
        return non_finite_stop("the weights are no longer finite", epoch, epoch_iter);
      last_saved_epoch = epoch;
    }
    pos = {epoch, epoch_iter, pos.total_iters, true};
    report.say(fmt("End of epoch %d / %d \t Time Taken: %d sec", epoch, total_epochs,
                   static_cast<int>(seconds_since(epoch_start))));
  }
  // Beyond the official: the final weights are always kept, even when the last epoch is not a
  // multiple of --save_epoch_freq.
  if (last_saved_epoch != total_epochs && total_epochs >= first_epoch) {
    report.say(fmt("saving the final model (epoch %d, iters %lld) as 'latest'", total_epochs,
                   static_cast<long long>(pos.total_iters)));
    if (!save("latest", pos))
      return non_finite_stop("the weights are no longer finite", pos.epoch, pos.epoch_iter);
  }
  visualizer.finish(model);
  return 0;
}

}  // namespace cg::cyclegan
