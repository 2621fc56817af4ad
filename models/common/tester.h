// The translation program's work, as the official test.py, for every model: load the trained
// generators, translate the test images, write RESULTS/NAME/<phase>_<epoch>/images/<image
// stem>_<label>.png and an index.html that shows them. apps/cyclegan_test is a thin main around
// run_test.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "models/common/options.h"

namespace cg::models {

class Model;

// The model --model names, built for testing, with its checkpoint's networks, in train mode unless
// --eval (as the official test.py: dropout and batch statistics stay on), over its dataset:
// --model test: one generator (<epoch>_net_G<model_suffix>) over every image under --dataroot,
// labels real / fake. --model cycle_gan: both generators over --dataroot/<phase>A and <phase>B,
// labels real_A, fake_B, rec_A, real_B, fake_A, rec_B. --model pix2pix: G over the AB images of
// --dataroot/<phase>, labels real_A, fake_B, real_B. Batch 1, no flips, images in sorted order,
// at most --num_test. Returns the results folder. Throws cg::Error for bad options or checkpoints;
// an image that cannot be read or translated is reported on stderr with its name, skipped, and
// added to `failed`.
std::string run_test(const Options& opt, bool quiet = false, std::vector<std::string>* failed = nullptr);

// One image as the tester translates it: the batch it came in (of 1), the file it names (the
// input side's: A's, or B's under --direction BtoA) and the model's visuals after test().
struct Translation {
  int64_t index;  // the sample's position in the dataset
  const data::Batch& batch;
  const std::string& path;
  std::vector<std::pair<std::string, Tensor>> visuals;
};

// The tester's loop, which validation during training shares: the first `limit` samples of `ds`
// in order, batch 1 (the official test.py's settings), each through set_input and test() with the
// networks in whatever mode the caller set, then to `each`. A sample that cannot be read or
// translated (or for which `each` throws cg::Error) goes to `skip` with its files' names, and the
// loop goes on. Reads with opt.num_threads threads, opt.seed's per-sample generators (crops) and
// opt.max_dataset_size; draws nothing from the default generators itself.
void translate_images(Model& model, const data::Dataset& ds, const Options& opt, int64_t limit,
                      const std::function<void(const Translation&)>& each,
                      const std::function<void(const std::string& files, const std::exception&)>& skip);

// RESULTS/NAME/<phase>_<epoch> (with _iter<N> when --load_iter N > 0, as the official)
std::string results_folder(const Options& opt);

}  // namespace cg::models
