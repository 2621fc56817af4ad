// Checkpoints, for every model: each network as a safetensors file with the official state-dict
// names (CHECKPOINTS/NAME/<label>_net_<network>.safetensors: G_A, G_B, D_A, D_B for CycleGAN, G and
// D for pix2pix), and beside them <label>_train_state.safetensors with everything else an exact
// resume needs: every optimizer's Adam state and learning-rate schedule, the position in training,
// the random generators, and what the model adds (CycleGAN: its image pools).
//
// A checkpoint's files are replaced as one set (models/common/file_set.h: each new file written in full as
// <file>.new, then the journal <label>_checkpoint.commit, then the renames), so a crash at any
// moment leaves the old set or the new one loadable. The files of one save also carry the same
// random checkpoint id, so sets mixed by hand are refused.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/common/model.h"
#include "models/common/train_state.h"
#include "nn/safetensors.h"

namespace cg::models {

std::string experiment_dir(const Options& opt);  // checkpoints_dir/name
std::string net_file(const Options& opt, const std::string& label, const std::string& net);
std::string state_file(const Options& opt, const std::string& label);

// Saves every network of the model (and in training its state) as checkpoint `label`. In a
// data-parallel run rank 0 saves, and `other_ranks` holds what rank_state gave on ranks 1, 2, ...:
// their image pools and random generators go into the state file beside rank 0's.
void save_checkpoint(const Model& model, const std::string& label, const TrainPosition& pos,
                     const std::vector<std::string>& other_ranks = {});

// Finishes or clears away an interrupted save of `label` (every label when "") in `dir`, and
// removes its stale temporary files.
void recover_checkpoint(const std::string& dir, const std::string& label);

// The file a reader takes for `path`: its complete new version while a save is being committed.
std::string committed_file(const std::string& dir, const std::string& label, const std::string& path);

// The checkpoint labels in `dir` that have a network file, as "latest, 5, 10, iter_200" (for messages).
std::string available_checkpoints(const std::string& dir);

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

// One network file into a module, checking every key and shape and that every value is finite.
// Returns the file's checkpoint id ("" for files without one, e.g. converted .pth).
std::string load_network(nn::Module& net, const std::string& path);

// Every network of a model built for testing from checkpoint `label` (cyclegan_test): each file
// must exist, and files of one checkpoint from different saves are refused.
void load_networks(Model& model, const std::string& label);

}  // namespace cg::models
