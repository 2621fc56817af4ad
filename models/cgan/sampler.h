// cgan_sample's work: draws --num images of class --label from a trained conditional GAN.
#pragma once

#include <string>
#include <vector>

#include "models/common/options.h"

namespace cg::cgan {

// Loads <epoch>_net_G of CHECKPOINTS/NAME (its number of classes and z_dim read from the file), draws
// z ~ N(0, 1) from a generator seeded with --seed, and writes RESULTS_DIR/class<label>_<i>.png for
// i = 0 .. num-1 (28x28 gray) with G in inference mode. A --label outside the classes G was trained
// on is an error that names both. Returns the files written.
std::vector<std::string> run_sampling(models::Options opt);

}  // namespace cg::cgan
