// The models this build has, by their --model names: the one place that knows them all (as the
// official models/__init__.py). It implements create_model, default_options and model_names,
// declared with the model interface in models/common/model.h.
#pragma once

#include "models/common/model.h"
