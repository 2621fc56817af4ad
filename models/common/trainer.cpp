#include "models/common/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "data/dataset.h"
#include "data/files.h"
#include "data/loader.h"
#include "distributed/data_parallel.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/datasets.h"
#include "models/common/model.h"
#include "models/common/stop_signals.h"
#include "models/common/train_report.h"
#include "models/common/validation.h"
#include "models/common/visualizer.h"
#include "ops/ops.h"
#include "tensor/tensor.h"

namespace cg::models {

namespace fs = std::filesystem;
using distributed::DataParallel;

namespace {

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

namespace {

// One training run, in the steps the official train.py loop is made of: set up (everything that can
// fail, before any file is written), resume, then per epoch: the schedule step, one iteration per
// batch, the end of the epoch. Each step returns an exit code when the run must end there.
//
// Data parallel is `dp_` (distributed/data_parallel.h): with one rank every call of it is the
// identity. Only rank 0 prints and writes: the reporter and the page exist there alone.
class TrainingRun {
 public:
  TrainingRun(const Options& opt, const TrainControl& ctl)
      : opt_(prepared(opt, dp_)),
        ctl_(ctl),
        global_batch_(int64_t{opt.batch_size} * dp_.size()),
        dataset_(dataset(opt_)),
        loader_(*dataset_, opt.batch_size, !opt.serial_batches, opt.num_threads, opt.seed,
                opt.max_dataset_size, dp_.rank(), dp_.size(), model_spec(opt_.model).drop_last),
        epoch_len_(whole_batches(loader_.samples_per_epoch())),
        lr_after_epoch_(model_spec(opt_.model).lr_steps_after_epoch),
        total_epochs_(opt.n_epochs + opt.n_epochs_decay),
        device_line_(setup_device()),
        model_holder_((manual_seed(rank_options().seed), create_model(rank_options(), true))),
        model_(*model_holder_),
        pos_{opt.epoch_count, 0, 0, false, {}},
        first_epoch_(opt.epoch_count) {
    for (Model::Optimizer& o : model_.optimizers()) dp_.attach(*o.adam);
    if (!dp_.graphs_allowed()) model_.set_cuda_graphs(false);
    if (opt_.val_freq > 0)
      validator_.emplace(opt_, model_);  // its data is checked before any file is written
  }

  int run() {
    // One writer per experiment: rank 0 holds the folder's lock for the whole run.
    std::optional<data::FolderLock> lock;
    if (dp_.root()) {
      lock.emplace(experiment_dir(opt_), "train.lock", "the experiment folder");
      refuse_overwrite();
    }
    dp_.barrier();
    resume();
    if (first_epoch_ > total_epochs_)
      warn(
          fmt("nothing to train: the checkpoint ends at epoch %d, the last of the %d these options train "
              "(%lld samples an epoch); ask for a longer training to go further",
              pos_.epoch, total_epochs_, static_cast<long long>(epoch_len_)));
    dp_.same_start(networks());
    start_output();
    StopSignals signals(dp_.size() > 1);
    for (int epoch = first_epoch_; epoch <= total_epochs_; ++epoch)
      if (const auto rc = one_epoch(epoch)) return *rc;
    if (const auto rc = final_save()) return *rc;
    if (visualizer_) visualizer_->finish();
    return 0;
  }

 private:
  // First of all, a bad option fails before any data is read, and every rank must have been given
  // the same (a difference would fail later in a collective, or train another run silently: the
  // first option that differs is an error on every rank); then the model completes its options
  // (the CGAN's classes come from the data), knowing how many ranks share each step.
  static Options prepared(const Options& opt, const DataParallel& dp) {
    validate_options(opt, true);
    dp.check_same(option_lines(opt, true), "options");
    Options o = opt;
    o.ranks = dp.size();
    if (const ModelSpec& spec = model_spec(o.model); spec.prepare_training) spec.prepare_training(o);
    return o;
  }

  // Nothing lost: a new training (no --continue_train) in a folder that holds trained weights
  // would replace them as it saves. Refused unless --overwrite says so.
  void refuse_overwrite() const {
    if (opt_.continue_train || opt_.overwrite) return;
    const std::string dir = experiment_dir(opt_);
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string f = e.path().filename().string();
      const size_t at = f.find("_net_");
      if (at != std::string::npos && at > 0 && f.ends_with(".safetensors")) found.push_back(f);
    }
    if (found.empty()) return;
    std::sort(found.begin(), found.end());
    std::string list;
    for (size_t i = 0; i < found.size() && i < 3; ++i) list += (i ? ", " : "") + found[i];
    if (found.size() > 3) list += ", ...";
    throw Error("the experiment folder '" + dir + "' holds trained weights (" + list +
                ") that a new training would replace: to go on training them, add --continue_train; to "
                "keep them and start afresh, train under another --name; to start afresh over them, add "
                "--overwrite");
  }
  static std::unique_ptr<data::Dataset> dataset(const Options& opt) { return create_dataset(opt, true); }
  // The epoch's length, which is 0 only when a model that drops partial batches gets fewer images
  // than one batch: every epoch would be empty.
  int64_t whole_batches(int64_t samples) const {
    if (samples == 0 && dataset_->size() > 0)
      throw Error("--batch_size " + std::to_string(opt_.batch_size) +
                  (dp_.size() > 1 ? " x " + std::to_string(dp_.size()) + " ranks" : std::string()) +
                  ": the " + std::to_string(dataset_->size()) +
                  " training images make no whole batch, and --model " + opt_.model +
                  " drops incomplete batches (as its official loader)");
    return samples;
  }

  // Each rank's own random streams (image pools, dropout): rank r's generators start from --seed +
  // r; rank 0's are those of a single process. The weights they draw are replaced by rank 0's.
  Options rank_options() const {
    Options o = opt_;
    o.seed = opt_.seed + static_cast<uint64_t>(dp_.rank());
    return o;
  }

  // On the GPU: the rank's GPU and how gradients travel between ranks (a line for the log).
  std::string setup_device() const {
    if (opt_.device != "cuda" || !kHaveCuda || !cuda_available()) return "";
    return dp_.setup_gpu(gpu_id_list(opt_), opt_.dist_backend);
  }

  std::vector<nn::Module*> networks() const {
    std::vector<nn::Module*> v;
    for (const auto& [name, net] : model_.networks()) v.push_back(net);
    return v;
  }

  void say(const std::string& line) {
    if (report_) report_->say(line);
  }
  // A line for stderr (warnings, stops), from rank 0 alone: once, not on stdout too (a terminal,
  // or mpirun's merged output, would show it twice).
  void warn(const std::string& line) {
    if (report_)
      report_->warn(line);
    else if (dp_.root())
      std::fprintf(stderr, "%s\n", line.c_str());
  }

  // --continue_train: the position, optimizers, schedules, pools and generators of the checkpoint
  // (or only its weights, with a warning, when it has no training state).
  void resume() {
    if (!opt_.continue_train) return;
    const std::string label = load_label(opt_);
    // rank 0 alone finishes or clears an interrupted save; then every rank reads the same files
    if (dp_.root()) recover_checkpoint(experiment_dir(opt_), "");
    dp_.barrier();
    const auto restored = load_checkpoint(model_, label, {dp_.rank(), dp_.size()});
    if (!restored) {
      warn(
          fmt("warning: checkpoint '%s' in %s has network weights but no training state: starting new "
              "optimizers and the learning-rate schedule of --epoch_count %d",
              label.c_str(), experiment_dir(opt_).c_str(), opt_.epoch_count));
      return;
    }
    pos_ = restored->pos;
    notes_ = restored->notes;
    // An epoch whose samples depend on their position alone (random draws, in order) that ended
    // shorter than it is now (cgan_train --n_iters 12 after 6) goes on to its new end: the run so
    // extended is the longer run's, as a larger --n_epochs extends the others.
    if (pos_.epoch_done && dataset_->extends_in_place() && opt_.serial_batches &&
        pos_.epoch_iter < epoch_len_) {
      pos_.epoch_done = false;
      notes_.push_back(
          fmt("epoch %d of the checkpoint ended after %lld samples; it has %lld now: training the "
              "%lld more",
              pos_.epoch, static_cast<long long>(pos_.epoch_iter), static_cast<long long>(epoch_len_),
              static_cast<long long>(epoch_len_ - pos_.epoch_iter)));
    }
    // a best score is comparable only with scores of the same metric on the same data
    if (pos_.best && validator_ &&
        (pos_.best->metric != validator_->metric() || pos_.best->data != validator_->data_key())) {
      notes_.push_back("the best validation score so far (" + pos_.best->metric +
                       fmt(" %.4f at epoch %d", pos_.best->value, pos_.best->epoch) + ", on " +
                       pos_.best->data + ") is not comparable with this run's validation (" +
                       validator_->metric() + " on " + validator_->data_key() + "): 'best' starts anew");
      pos_.best.reset();
    }
    resume_mid_epoch_ = !pos_.epoch_done;
    first_epoch_ = pos_.epoch_done ? pos_.epoch + 1 : pos_.epoch;
    notes_.push_back(fmt("resuming checkpoint '%s': epoch %d, %lld samples into it, %lld in all, lr %.7f",
                         label.c_str(), pos_.epoch, static_cast<long long>(pos_.epoch_iter),
                         static_cast<long long>(pos_.total_iters), model_.lr()));
  }

  // The first writes: the experiment folder, the options file, the logs and the page.
  void start_output() {
    if (!dp_.root()) return;  // only rank 0 prints and writes
    fs::create_directories(experiment_dir(opt_));
    write_options_file(opt_, true, experiment_dir(opt_));
    if (!ctl_.quiet) {
      std::printf("%s\n", options_text(opt_, true).c_str());
      print_networks(model_, opt_.verbose);
    }
    report_.emplace(opt_, model_.loss_names(), ctl_.quiet, dp_.size() == 1);
    if (const int64_t images = dataset_->drawn_from())  // samples drawn from the images (the CGAN's)
      say(
          fmt("The number of training images = %lld (an epoch is %lld random draws from them, with "
              "replacement)",
              static_cast<long long>(images), static_cast<long long>(epoch_len_)));
    else
      say(fmt("The number of training images = %lld", static_cast<long long>(epoch_len_)));
    if (dp_.size() > 1)
      say(
          fmt("data parallel: %d ranks x --batch_size %d = a global batch of %lld; %lld samples per "
              "rank and epoch",
              dp_.size(), opt_.batch_size, static_cast<long long>(global_batch_),
              static_cast<long long>((epoch_len_ + dp_.size() - 1) / dp_.size())));
    if (!device_line_.empty()) say(device_line_);
    if (validator_) say(validator_->describe());
    for (const std::string& note : notes_) say(note);
    visualizer_.emplace(model_, ctl_.quiet, epoch_len_);
  }

  std::optional<int> one_epoch(int epoch) {
    const auto epoch_start = Clock::now();
    int64_t epoch_iter = 0;
    if (resume_mid_epoch_ && epoch == first_epoch_) {
      epoch_iter = pos_.epoch_iter;  // the schedule was already stepped for this epoch
    } else if (!lr_after_epoch_) {
      step_learning_rate();  // at the start of every epoch, as the official CycleGAN
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
    pos_.epoch = epoch;
    pos_.epoch_iter = epoch_iter;
    pos_.total_iters += global_batch_;
    pos_.epoch_done = false;
    model_.set_input(batch);
    model_.optimize_parameters();
    const double t_comp = seconds_since(iter_start) / opt_.batch_size;
    const double rate = dp_.size() / std::max(t_comp, 1e-9);  // samples per second, every rank's
    rate_ = rate_ == 0 ? rate : 0.9 * rate_ + 0.1 * rate;

    const int64_t total = pos_.total_iters;
    // Every rank stops at the same step: a signal any rank got (or the control's request) counts
    // for all (256: the control's).
    const int stop_code = dp_.agree_stop(StopSignals::received() ? StopSignals::received()
                                         : (ctl_.stop_after && ctl_.stop_after(total)) ? 256
                                                                                       : 0);
    const int sig = stop_code < 256 ? stop_code : 0;
    const bool stopping = stop_code != 0;
    const bool displaying = total % opt_.display_freq == 0;
    const bool printing = total % opt_.print_freq == 0;
    const bool saving = total % opt_.save_latest_freq == 0;
    // The losses and their NaN check stay on the device (a copy would stall the GPU's queue every
    // step); they come to the host only when shown or before anything is saved, so a NaN is caught
    // within --print_freq iterations and never reaches a checkpoint.
    // In data parallel the check is collective, on the same steps on every rank (the live line,
    // which rank 0 alone draws, is shown only when alone).
    std::vector<std::pair<std::string, double>> losses;
    const bool show = report_ && report_->progress_due();
    const bool checking = stopping || displaying || printing || saving || show;
    if (checking) {
      losses = model_.current_losses();
      // the losses shown and logged are the global batch's: the ranks' mean
      std::vector<double> v;
      for (const auto& l : losses) v.push_back(l.second);
      dp_.mean(v);
      for (size_t k = 0; k < v.size(); ++k) losses[k].second = v[k];
      const bool bad_here = !model_.losses_finite();
      if (dp_.any(bad_here)) {
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
    if (displaying && visualizer_) {
      visualizer_->display(model_, epoch, total,
                           total % opt_.update_html_freq == 0 || kept_row_epoch_ != epoch);
      kept_row_epoch_ = epoch;
    }
    if (printing && report_) report_->losses(epoch, epoch_iter, losses, t_comp, t_data_);
    if (saving) {
      say(fmt("saving the latest model (epoch %d, total_iters %lld)", epoch, static_cast<long long>(total)));
      if (const auto rc =
              save_or_stop(opt_.save_by_iter ? fmt("iter_%lld", static_cast<long long>(total)) : "latest"))
        return rc;
    }
    const double remaining = static_cast<double>((total_epochs_ - epoch) * epoch_len_ +
                                                 (epoch_len_ - std::min(epoch_iter, epoch_len_)));
    if (!losses.empty() && report_)
      report_->progress(epoch, total_epochs_, std::min(epoch_iter, epoch_len_), epoch_len_,
                        rate_ / static_cast<double>(global_batch_), remaining / rate_, losses);
    if (stopping) {
      if (const auto rc = save_or_stop("latest")) return rc;
      const std::string msg =
          fmt("%s: saved 'latest' at epoch %d, iteration %lld (%s); resume with --continue_train",
              signal_words(sig), epoch, static_cast<long long>(epoch_iter), experiment_dir(opt_).c_str());
      if (sig)
        warn(msg);
      else
        say(msg);
      return sig ? 128 + sig : 0;
    }
    iter_data_time_ = Clock::now();
    return std::nullopt;
  }

  void step_learning_rate() {
    const auto [old_lr, new_lr] = model_.update_learning_rate();
    say(fmt("learning rate %.7f -> %.7f", old_lr, new_lr));
  }

  std::optional<int> end_of_epoch(int epoch, int64_t epoch_iter, Clock::time_point epoch_start) {
    pos_.epoch = epoch;
    pos_.epoch_iter = epoch_iter;
    pos_.epoch_done = true;
    // before the saves, so that the checkpoints of this epoch hold the best score it may set
    if (validator_ && validator_->due(epoch, total_epochs_))
      if (const auto rc = validate(epoch, epoch_iter)) return rc;
    // At the end of every epoch, as the official CUT; before the saves, so that the state of a
    // finished epoch holds the rate the next one starts with.
    if (lr_after_epoch_) step_learning_rate();
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

  // --val_freq: rank 0 translates and scores the validation images while the other ranks wait for
  // its verdict; a new best score is saved as 'best' by every rank together (save_or_stop is
  // collective). The training's random streams and the networks' modes are left as they were.
  std::optional<int> validate(int epoch, int64_t epoch_iter) {
    bool improved = false;
    if (dp_.root()) {
      const auto start = Clock::now();
      const ValidationScores s = validator_->run(model_, [&](const std::string& line) {
        say(line);
        warn(line);
      });
      validator_->log(s, epoch, epoch_iter, pos_.total_iters);
      const double value = s.value(validator_->metric());
      improved = validator_->better(value, pos_.best);
      if (improved)
        pos_.best = BestScore{validator_->metric(), value, epoch, pos_.total_iters, validator_->data_key()};
      say(fmt("validation at the end of epoch %d: ", epoch) + validator_->summary(s) + "; " +
          (improved || !pos_.best
               ? std::string(improved ? "the best so far" : "not a number: 'best' is not kept")
               : fmt("the best is %.4f from epoch %d", pos_.best->value, pos_.best->epoch)) +
          fmt(" (%d s)", static_cast<int>(seconds_since(start))));
      if (visualizer_) visualizer_->finish();  // the page's validation charts
    }
    if (!dp_.any(improved)) return std::nullopt;
    say(fmt("saving the best model so far as 'best' (epoch %d, iters %lld)", epoch,
            static_cast<long long>(pos_.total_iters)));
    return save_or_stop("best");
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
    if (dp_.any(!model_.losses_finite() || !parameters_finite(model_)))
      return stop_non_finite("the weights are no longer finite");
    const std::vector<std::string> all = dp_.gather(dp_.size() > 1 ? rank_state(model_) : "");
    if (dp_.root()) save_checkpoint(model_, label, pos_, {all.begin() + 1, all.end()});
    return std::nullopt;
  }

  int stop_non_finite(const std::string& what) {
    const std::string msg =
        fmt("error: %s at epoch %d, iteration %lld; stopping. Nothing was saved after the last "
            "checkpoint, which is left as it was.",
            what.c_str(), pos_.epoch, static_cast<long long>(pos_.epoch_iter));
    warn(msg);
    return kExitNonFinite;
  }

  const DataParallel dp_;  // the ranks (one when alone)
  const Options opt_;      // the options, completed by the model (prepared)
  const TrainControl& ctl_;
  const int64_t global_batch_;  // --batch_size times the ranks: the samples of one step
  const std::unique_ptr<data::Dataset> dataset_;
  data::Loader loader_;
  const int64_t epoch_len_;
  const bool lr_after_epoch_;  // the model's schedules step at the end of each epoch (ModelSpec)
  const int total_epochs_;
  const std::string device_line_;  // the GPU and gradient path, for the log; made before the model
  const std::unique_ptr<Model> model_holder_;
  Model& model_;
  TrainPosition pos_;  // where the run is: updated by every iteration and at every epoch's end
  int first_epoch_;
  bool resume_mid_epoch_ = false;
  std::vector<std::string> notes_;        // what the resume did, for the log
  std::optional<Reporter> report_;        // rank 0 only
  std::optional<Visualizer> visualizer_;  // rank 0 only
  std::optional<Validator> validator_;    // --val_freq (run by rank 0 only)
  Clock::time_point iter_data_time_{};
  double t_data_ = 0;  // seconds waiting for data before the last printed iteration
  double rate_ = 0;    // samples per second, smoothed
  int last_saved_epoch_ = 0;
  int kept_row_epoch_ = 0;  // the epoch whose first displayed images the page keeps
};

}  // namespace

namespace {
// What std::bad_alloc means to the user: the flags that size the run's memory, with their values.
Error out_of_memory(const Options& opt) {
  std::string flags;
  const Program& program = program_of(opt, true);
  for (const Flag* f : program_flags(program, opt.model))
    for (const char* name :
         {"batch_size", "load_size", "crop_size", "ngf", "ndf", "num_threads", "pool_size"})
      if (std::string(f->name) == name)
        flags += (flags.empty() ? "--" : ", --") + std::string(name) + " " + value_text(opt, *f);
  return Error("out of memory (std::bad_alloc): this training needs more memory than the machine gives it" +
               (flags.empty() ? std::string() : "; lower " + flags));
}
}  // namespace

int run_training(const Options& opt, const TrainControl& ctl) {
  try {
    return TrainingRun(opt, ctl).run();
  } catch (const std::bad_alloc&) {
    const Error e = out_of_memory(opt);
    DataParallel().abort_on_error(e);
    throw e;
  } catch (const std::exception& e) {
    // One rank's error ends every rank at once: the others would wait for it in a collective.
    DataParallel().abort_on_error(e);
    throw;
  }
}

int training_main(int argc, char** argv, const Program& program) {
  try {
    DataParallel::init(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  Parsed p = parse_args(argc, argv, program);
  if (p.exit_code) {
    // A usage error on one rank of several (its message is printed): the others would wait for it
    // in their first collective, so it ends them all.
    if (*p.exit_code != 0) DataParallel().abort_job(*p.exit_code);
    return *p.exit_code;
  }
  try {
    const int gpus = static_cast<int>(gpu_id_list(p.opt).size());
    if (gpus > 1 && !kHaveCuda)
      throw Error("--gpu_ids " + p.opt.gpu_ids + ": this build has no CUDA backend");
    // before any rank starts: one clear error rather than one from every rank
    if (gpus > 1 && !DataParallel::launched() && !cuda_available())
      throw Error("--gpu_ids " + p.opt.gpu_ids + ": no CUDA device is available on this machine");
    if (const auto rc = DataParallel::launch(argc, argv, gpus)) return *rc;
    const int rc = run_training(p.opt);
    DataParallel::finalize();
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    DataParallel().abort_job(1);  // an error before the training (run_training ends the ranks itself)
    return 1;
  }
}

}  // namespace cg::models
