// The models this build has, by their --model names, a line each (as the official
// models/__init__.py finds them). Each model declares itself in its folder (spec.cpp); the harness
// knows them only through this list and their specs.
#include "models/cgan/spec.h"
#include "models/common/model_spec.h"
#include "models/cut/spec.h"
#include "models/cyclegan/spec.h"
#include "models/pix2pix/spec.h"
#include "models/test_model/spec.h"

namespace cg::models {

// a line each
// clang-format off
std::vector<const ModelSpec*> builtin_models() {
  return {
      &cyclegan::spec(),
      &pix2pix::spec(),
      &test_model_spec(),
      &cgan::spec(),
      &cut::spec(),
  };
}
// clang-format on

}  // namespace cg::models
