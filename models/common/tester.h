// The translation program's work, as the official test.py, for every model: load the trained
// generators, translate the test images, write RESULTS/NAME/<phase>_<epoch>/images/<image
// stem>_<label>.png and an index.html that shows them. apps/cyclegan_test is a thin main around
// run_test.
#pragma once

#include <string>
#include <vector>

#include "models/common/options.h"

namespace cg::models {

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

// RESULTS/NAME/<phase>_<epoch> (with _iter<N> when --load_iter N > 0, as the official)
std::string results_folder(const Options& opt);

}  // namespace cg::models
