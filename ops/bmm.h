// Batched matrix multiply, torch.bmm: CUT's PatchNCE scores every sampled patch against the
// others with it (models/patchnce.py of taesungp/contrastive-unpaired-translation).
#pragma once

#include "tensor/tensor.h"

namespace cg {

// a (B, M, K), b (B, K, N) -> (B, M, N), c[i] = a[i] b[i]. Gradients: da = dc b^T, db = a^T dc (the
// same kernel with transposed operands, so no transposed copies are made).
Tensor bmm(const Tensor& a, const Tensor& b);

}  // namespace cg
