// Checkpoints: the four networks as safetensors files with the official state-dict names
// (CHECKPOINTS/NAME/<label>_net_G_A.safetensors, ...), and beside them <label>_train_state.safetensors
// with everything else an exact resume needs: both Adam states, both LR schedules, the position in
// training, every random generator and both image pools.
//
// Every file is written atomically (temporary file, then rename). The five files of one checkpoint
// carry the same random checkpoint id in their metadata, so a set left mixed by a crash between two
// renames is detected on loading instead of resuming from half old, half new weights.
#pragma once

#include <optional>
#include <string>

#include "models/cyclegan/cycle_gan_model.h"

namespace cg::cyclegan {

struct TrainPosition {
  int epoch = 1;            // the epoch in progress, or the one just finished when epoch_done
  int64_t epoch_iter = 0;   // samples of that epoch already trained on
  int64_t total_iters = 0;  // samples since the start of training
  bool epoch_done = false;  // the epoch's end-of-epoch work (saving) is done too
};

std::string experiment_dir(const Options& opt);  // checkpoints_dir/name
std::string net_file(const Options& opt, const std::string& label, const std::string& net);
std::string state_file(const Options& opt, const std::string& label);

void save_checkpoint(const CycleGANModel& model, const std::string& label, const TrainPosition& pos);

// Loads the networks saved under `label` (throws naming the file and any missing, unexpected or
// mis-shaped key). When the training state is there too, restores optimizers, schedules, pools and
// generators and returns the position; otherwise returns nothing (weights only, e.g. converted
// from the official .pth files).
std::optional<TrainPosition> load_checkpoint(CycleGANModel& model, const std::string& label);

// One network file into a module, checking every key and shape.
void load_network(nn::Module& net, const std::string& path);

}  // namespace cg::cyclegan
