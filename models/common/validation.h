// Validation during training (--val_freq N), for every model the training program serves: every N
// epochs (and after the last) the model translates held-out images in eval mode, as the tester
// does (models/common/tester.h's translate_images), the translations are scored (data/score.h,
// data/fwd.h), a row goes to CHECKPOINTS/NAME/val_log.csv (charted on the training page), and a
// new best score by --val_metric is kept as checkpoint 'best'.
//
// What is scored: the visual fake_B (the translation) against real_B (its target), the official
// models' names for them. Paired scores (rmse, accuracy, psnr, ssim) when the data is aligned, or
// unaligned with files that pair up by the number in their names as cyclegan_score pairs them
// (maps: testA/12_A.jpg <-> testB/12_B.jpg); FWD between the translations and the targets as two
// sets whenever each has 2 images or more (unpaired data: FWD alone).
//
// Which data: the `val` split of --val_dataroot (default: --dataroot), else its `test` split:
// valA and valB (testA and testB) for unaligned data, val (test) of AB images for aligned data.
// The images are prepared as the official test.py prepares them: --load_size set to --crop_size,
// no flips, B in order; at most --val_max per domain, the first in sorted order.
//
// Validation draws no random number from the training's streams: the default generators are set
// aside and validation runs on its own, seeded by --seed each time, the loader is its own (its
// per-sample generators depend on --seed and the position only), and the model's generators
// (image pools) are not touched by test(). Every module's train/eval mode is put back as it was.
// A run with validation so trains exactly as one without.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "models/common/model.h"
#include "models/common/options.h"
#include "models/common/train_state.h"

namespace cg::models {

// The metrics validation logs, in val_log.csv's order.
const std::vector<std::string>& validation_metrics();
// Whether --val_metric takes `name` (a metric or "auto").
bool is_validation_metric(const std::string& name);
// A metric's own sense: psnr, ssim and accuracy are better higher; rmse and fwd lower.
bool higher_is_better(const std::string& metric);
// The paired metrics (all but fwd).
bool is_paired_metric(const std::string& metric);

struct ValidationScores {
  int64_t images = 0;  // translations scored
  int64_t pairs = 0;   // pairs scored (0: none)
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  double rmse = kNone, accuracy = kNone, psnr = kNone, ssim = kNone, fwd = kNone;
  double value(const std::string& metric) const;
};

class Validator {
 public:
  // Finds the validation split and resolves --val_metric; throws cg::Error naming the flag and the
  // folders looked for when there is no validation data, when the model reads data validation does
  // not know or shows no fake_B and real_B, or when the metric cannot be taken on this data (a
  // paired metric on images that do not pair up, FWD with fewer than 2 images). Reads no image.
  Validator(const Options& opt, const Model& model);

  bool due(int epoch, int last_epoch) const;  // every --val_freq epochs, and after the last
  const std::string& metric() const { return metric_; }
  bool paired() const { return paired_; }
  // The validation data as a key: a best score is comparable only with scores on the same data.
  const std::string& data_key() const { return data_key_; }
  // "maps/test (testA -> testB, paired by number, 200 images), best by psnr (higher is better)"
  std::string describe() const;

  // Translates and scores the validation images with `model`; its networks are in eval mode
  // meanwhile and back in their own modes after, the default generators as they were. An image
  // that cannot be read or translated is skipped and reported to `warn` with its name.
  ValidationScores run(Model& model, const std::function<void(const std::string&)>& warn) const;
  // Whether `value` beats `best` by the metric's sense (NaN never does; anything beats none).
  bool better(double value, const std::optional<BestScore>& best) const;
  // Appends the row of `s` to val_log.csv in the experiment folder (its header first when new).
  void log(const ValidationScores& s, int epoch, int64_t epoch_iter, int64_t total_iters) const;
  // One line for the log: the scores, the metric first.
  std::string summary(const ValidationScores& s) const;

 private:
  Options opt_;  // the validation data's options (dataroot, phase, sizes, --val_max)
  std::string log_path_, metric_, data_key_, what_;
  bool paired_ = false;
  bool aligned_ = false;
};

}  // namespace cg::models
