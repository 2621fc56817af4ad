#include "nn/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "backend/types.h"

namespace cg::nn {

LRSchedule::LRSchedule(Options opt) : opt_(std::move(opt)), best_(std::numeric_limits<double>::infinity()) {
  if (opt_.policy != "linear" && opt_.policy != "step" && opt_.policy != "cosine" &&
      opt_.policy != "plateau" && opt_.policy != "constant")
    throw Error("--lr_policy '" + opt_.policy + "': unknown lr_policy '" + opt_.policy +
                "' (expected linear, step, cosine or plateau)");
  if (opt_.policy == "step" && opt_.lr_decay_iters <= 0)
    throw Error("--lr_policy step needs --lr_decay_iters > 0, got " + std::to_string(opt_.lr_decay_iters));
  lr_ = opt_.policy == "plateau" ? opt_.base_lr : closed_form(0);
}

double LRSchedule::closed_form(int e) const {
  const double base = opt_.base_lr;
  if (opt_.policy == "linear")  // past the last decay epoch (a resumed or extended run) it stays at 0
    return base * std::max(0.0, 1.0 - std::max(0, e + opt_.epoch_count - opt_.n_epochs) /
                                          static_cast<double>(opt_.n_epochs_decay + 1));
  if (opt_.policy == "step") return base * std::pow(0.1, e / opt_.lr_decay_iters);
  if (opt_.policy == "constant") return base;
  // cosine, eta_min 0
  return base * (1.0 + std::cos(std::numbers::pi * e / std::max(1, opt_.n_epochs))) / 2.0;
}

void LRSchedule::step() {
  ++last_epoch_;
  if (opt_.policy != "plateau") {
    lr_ = closed_form(last_epoch_);
    return;
  }
  const double metric = 0.0;  // the official model's metric is never set: always 0
  if (metric < best_ * (1.0 - 0.01)) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (bad_epochs_ > 5) {
    lr_ = std::max(lr_ * 0.2, 0.0);
    bad_epochs_ = 0;
  }
}

void LRSchedule::restore(int last_epoch, double lr, int plateau_bad_epochs, double plateau_best) {
  last_epoch_ = last_epoch;
  lr_ = lr;
  bad_epochs_ = plateau_bad_epochs;
  best_ = plateau_best;
}

}  // namespace cg::nn
