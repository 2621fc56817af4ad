// The conditional GAN's declaration to the harness (models/common/model_spec.h), and its two
// programs of its own: cgan_train (trained by the harness's training loop) and cgan_sample.
#pragma once

#include "models/common/model_spec.h"

namespace cg::cgan {
const models::ModelSpec& spec();
const models::Program& train_program();   // cgan_train
const models::Program& sample_program();  // cgan_sample
}  // namespace cg::cgan
