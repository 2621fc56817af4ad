// The pix2pix model's declaration to the harness (models/common/model_spec.h).
#pragma once

#include "models/common/model_spec.h"

namespace cg::pix2pix {
const models::ModelSpec& spec();
}  // namespace cg::pix2pix
