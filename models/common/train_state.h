// The training state of a checkpoint, <label>_train_state.safetensors: everything an exact resume
// needs beyond the weights (every optimizer's Adam state and learning-rate schedule, the position in
// training, the random generators, what the model adds such as CycleGAN's image pools, and in data
// parallel every rank's own part), its schema and the migration of older versions. The files and
// their commit as one set are models/common/checkpoint.h's.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/common/model.h"
#include "nn/safetensors.h"

namespace cg::models {

// The best validation score of a run so far (--val_freq; models/common/validation.h): the score
// checkpoint 'best' was saved with, and what it is comparable with.
struct BestScore {
  std::string metric;  // psnr, fwd, ...
  double value = 0;    // may be infinite (the PSNR of identical images), never NaN
  int epoch = 0;
  int64_t total_iters = 0;
  std::string data;  // the validation data it was taken on (Validator::data_key)
};

struct TrainPosition {
  int epoch = 1;            // the epoch in progress, or the one just finished when epoch_done
  int64_t epoch_iter = 0;   // samples of that epoch already trained on
  int64_t total_iters = 0;  // samples since the start of training
  bool epoch_done = false;  // the epoch's end-of-epoch work (saving) is done too
  // The best validation score so far; saved in the state as the optional "best_val" (states
  // without it, from older programs or runs without validation, load with none).
  std::optional<BestScore> best;
};

// Which rank of how many is loading (data parallel: each rank takes its own pools and generators).
struct RankOf {
  int rank = 0, world = 1;
};

struct Restored {
  TrainPosition pos;
  std::vector<std::string> notes;  // what the resume did beyond continuing (changed schedule flags)
};

// The state file's contents for `m` at `pos`, belonging to the save with checkpoint id `id`; in a
// data-parallel run `other_ranks` holds what rank_state gave on ranks 1, 2, ...
struct TrainState {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // "train_state": the JSON part
};
TrainState train_state(const Model& m, const TrainPosition& pos, const std::string& id,
                       const std::vector<std::string>& other_ranks = {});

// This process's part of the training state that is its own in a data-parallel run (the model's
// save_state: CycleGAN's image pools and their generator; the default generators), as bytes to
// send to rank 0.
std::string rank_state(const Model& model);

// The training state (everything but the weights) from a loaded <label>_train_state file, into
// `model`; `id` is the checkpoint id of the network files it must belong to. Rank r of a data-
// parallel run takes its own pools and generators (saved as "rank<r>/..."); when the run was saved
// by another number of ranks, the ranks whose state was not saved start afresh, and a note says so. Every
// number, shape and value is checked and an error names `what` and the entry. load_checkpoint's second half,
// separate so that the fuzzer can reach it without files.
Restored restore_train_state(Model& model, const safetensors::Contents& state, const std::string& what,
                             const std::string& id, const RankOf& ranks = {});

}  // namespace cg::models
