// Learning-rate schedules as the official CycleGAN's --lr_policy, stepped once per epoch.
// The schedule position `last_epoch` counts steps as PyTorch's schedulers do (0 at creation).
#pragma once

#include <string>

namespace cg::nn {

class LRSchedule {
 public:
  struct Options {
    std::string policy = "linear";  // linear | step | cosine | plateau | constant (the conditional GAN's)
    double base_lr = 2e-4;
    int n_epochs = 100, n_epochs_decay = 100, epoch_count = 1, lr_decay_iters = 50;
  };
  explicit LRSchedule(Options opt);
  // linear:  base * (1 - max(0, last_epoch + epoch_count - n_epochs) / (n_epochs_decay + 1)), at least 0
  // step:    base * 0.1^floor(last_epoch / lr_decay_iters)
  // cosine:  base * (1 + cos(pi * last_epoch / n_epochs)) / 2
  // constant: base (the conditional GAN trains at one rate, as Keras's Adam without a schedule)
  // plateau: ReduceLROnPlateau(min, factor 0.2, threshold 0.01 rel, patience 5) fed the metric 0,
  //          which is what the official CycleGAN model reports
  double lr() const { return lr_; }
  const Options& options() const { return opt_; }
  // The closed-form rate after `last_epoch` steps (not plateau, whose rate depends on its history).
  double lr_at(int last_epoch) const { return closed_form(last_epoch); }
  void step();
  int last_epoch() const { return last_epoch_; }
  // For resuming: restores the position (and for plateau its counters) exactly.
  void restore(int last_epoch, double lr, int plateau_bad_epochs, double plateau_best);
  int plateau_bad_epochs() const { return bad_epochs_; }
  double plateau_best() const { return best_; }

 private:
  double closed_form(int e) const;
  Options opt_;
  int last_epoch_ = 0;
  double lr_;
  int bad_epochs_ = 0;
  double best_;
};

}  // namespace cg::nn
