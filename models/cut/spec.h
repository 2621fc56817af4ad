// The CUT model's declaration to the harness (models/common/model_spec.h).
#pragma once

#include "models/common/model_spec.h"

namespace cg::cut {
const models::ModelSpec& spec();
}  // namespace cg::cut
