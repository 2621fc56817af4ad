// Checkpoints, for every model: each network as a safetensors file with the official state-dict
// names (CHECKPOINTS/NAME/<label>_net_<network>.safetensors: G_A, G_B, D_A, D_B for CycleGAN, G and
// D for pix2pix), and beside them <label>_train_state.safetensors with everything else an exact
// resume needs: every optimizer's Adam state and learning-rate schedule, the position in training,
// the random generators, and what the model adds (CycleGAN: its image pools).
//
// A checkpoint's files are replaced as one set (data/files.h: each new file written in full as
// <file>.new, then the journal <label>_checkpoint.commit, then the renames), so a crash at any
// moment leaves the old set or the new one loadable. The files of one save also carry the same
// random checkpoint id, so sets mixed by hand are refused.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/common/model.h"
#include "nn/safetensors.h"

namespace cg::models {

struct TrainPosition {
  int epoch = 1;            // the epoch in progress, or the one just finished when epoch_done
  int64_t epoch_iter = 0;   // samples of that epoch already trained on
  int64_t total_iters = 0;  // samples since the start of training
  bool epoch_done = false;  // the epoch's end-of-epoch work (saving) is done too
};

std::string experiment_dir(const Options& opt);  // checkpoints_dir/name
std::string net_file(const Options& opt, const std::string& label, const std::string& net);
std::string state_file(const Options& opt, const std::string& label);

// Saves every network of the model (and in training its state) as checkpoint `label`. In a
// data-parallel run rank 0 saves, and `other_ranks` holds what rank_state gave on ranks 1, 2, ...:
// their image pools and random generators go into the state file beside rank 0's.
void save_checkpoint(const Model& model, const std::string& label, const TrainPosition& pos,
                     const std::vector<std::string>& other_ranks = {});

// This process's part of the training state that is its own in a data-parallel run (the model's
// save_state: CycleGAN's image pools and their generator; the default generators), as bytes to
// send to rank 0.
std::string rank_state(const Model& model);

// Finishes or clears away an interrupted save of `label` (every label when "") in `dir`, and
// removes its stale temporary files.
void recover_checkpoint(const std::string& dir, const std::string& label);

// The file a reader takes for `path`: its complete new version while a save is being committed.
std::string committed_file(const std::string& dir, const std::string& label, const std::string& path);

// The checkpoint labels in `dir` that have a network file, as "latest, 5, 10, iter_200" (for messages).
std::string available_checkpoints(const std::string& dir);

// Which rank of how many is loading (data parallel: each rank takes its own pools and generators).
struct RankOf {
  int rank = 0, world = 1;
};

struct Restored {
  TrainPosition pos;
  std::vector<std::string> notes;  // what the resume did beyond continuing (changed schedule flags)
};

// Loads the networks saved under `label` (throws naming the file and any missing, unexpected or
// mis-shaped key). When the training state is there too, restores optimizers, schedules, the
// model's state and the generators and returns the position; otherwise returns nothing (weights
// only, e.g. converted from the official .pth files).
//
// The schedule on an exact resume: the saved one continues from where it stopped, with the first
// epoch it was created with (a new --epoch_count is not added to it). When --lr, --lr_policy,
// --n_epochs, --n_epochs_decay or --lr_decay_iters differ from the saved run's, the new values'
// schedule takes over at the restored epoch, and a note says so. A learning rate is never negative.
std::optional<Restored> load_checkpoint(Model& model, const std::string& label, const RankOf& ranks = {});

// The training state (everything but the weights) from a loaded <label>_train_state file, into
// `model`; `id` is the checkpoint id of the network files it must belong to. Rank r of a data-
// parallel run takes its own pools and generators (saved as "rank<r>/..."); when the run was saved
// by another number of ranks, the ranks whose state was not saved start afresh, and a note says so. Every
// number, shape and value is checked and an error names `what` and the entry. load_checkpoint's second half,
// separate so that the fuzzer can reach it without files.
Restored restore_train_state(Model& model, const safetensors::Contents& state, const std::string& what,
                             const std::string& id, const RankOf& ranks = {});

// One network file into a module, checking every key and shape and that every value is finite.
// Returns the file's checkpoint id ("" for files without one, e.g. converted .pth).
std::string load_network(nn::Module& net, const std::string& path);

// Every network of a model built for testing from checkpoint `label` (cyclegan_test): each file
// must exist, and files of one checkpoint from different saves are refused.
void load_networks(Model& model, const std::string& label);

}  // namespace cg::models
