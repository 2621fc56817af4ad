// The dataset --dataset_mode names, made from the options (the official data/__init__.py's
// create_dataset): unaligned (DATAROOT/<phase>A, <phase>B), aligned (AB images in
// DATAROOT/<phase>) or single (every image under DATAROOT).
#pragma once

#include <memory>

#include "data/dataset.h"
#include "models/common/options.h"

namespace cg::models {

// For training (random crops and flips as the flags say) or testing (the official test.py: no
// flips, B in order): the model's own dataset (ModelSpec::dataset) or standard_dataset.
std::unique_ptr<data::Dataset> create_dataset(const Options& opt, bool is_train);
// The standard dataset --dataset_mode names (unaligned, aligned or single), whatever the model.
std::unique_ptr<data::Dataset> standard_dataset(const Options& opt, bool is_train);

}  // namespace cg::models
