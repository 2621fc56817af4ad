// The test model's declaration to the harness (models/common/model_spec.h).
#pragma once

#include "models/common/model_spec.h"

namespace cg::models {
const ModelSpec& test_model_spec();
}  // namespace cg::models
