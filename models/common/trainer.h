// The training program's loop, as the official train.py, for every model: an exact resume, safe
// stops and NaN detection, the loss logs, the progress line and the page. apps/cyclegan_train is a
// thin main around run_training.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>

#include "models/common/cli.h"
#include "models/common/options.h"

namespace cg::models {

// Exit codes beyond 0 (done) and 1 (an error, thrown as cg::Error).
inline constexpr int kExitNonFinite = 3;  // a loss became NaN or infinite; nothing was saved over good files

struct TrainControl {
  // Asked after every step with the total number of samples trained on; true stops the run like
  // SIGINT does (finish the step, save 'latest' with its state) but returns 0. For tests and tools.
  std::function<bool(int64_t total_iters)> stop_after;
  bool quiet = false;  // no progress output on stdout (files are written as usual)
};

// Trains the model --model names (create_model) per `opt`, after checking the options and letting
// the model complete them (ModelSpec::prepare_training). Returns 0 when done (or stopped by `ctl`), 128 +
// signal after SIGINT/SIGTERM (the step is finished and 'latest' saved first), kExitNonFinite on a NaN/Inf
// loss. Throws cg::Error for bad options, data or checkpoints.
int run_training(const Options& opt, const TrainControl& ctl = {});

// The whole main of a training program (cyclegan_train, a model's own such as cgan_train): joins
// the ranks of an mpirun or srun launch, parses the command line of `program`, starts a rank per
// GPU itself for --gpu_ids 0,1,..., and trains. An error is printed as "error: ..." and exits 1; a
// usage error exits 2.
int training_main(int argc, char** argv, const Program& program);

}  // namespace cg::models
