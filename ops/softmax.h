// Log-softmax and cross-entropy over the last dim, PyTorch's semantics. CUT's PatchNCE scores each
// patch's positive against its negatives with torch.nn.CrossEntropyLoss(reduction='none') and
// takes the mean later (models/patchnce.py of taesungp/contrastive-unpaired-translation).
#pragma once

#include "tensor/tensor.h"

namespace cg {

// F.log_softmax(x, dim=-1): x - logsumexp(x) along the last dim; its gradient dy - softmax sum(dy).
Tensor log_softmax(const Tensor& x);

// x (N, C) logits, target (N) class numbers -> (N): -log_softmax(x)[n, target[n]], as
// torch.nn.CrossEntropyLoss(reduction='none') with int64 targets. target holds the classes as whole
// numbers in x's float dtype, on x's device (embedding's convention; they are checked on the host),
// and gets no gradient; x's is dloss (softmax(x) - onehot(target)) per row.
Tensor cross_entropy_rows(const Tensor& x, const Tensor& target);
// The mean of cross_entropy_rows: torch.nn.CrossEntropyLoss() (reduction 'mean', no class weights).
Tensor cross_entropy(const Tensor& x, const Tensor& target);

}  // namespace cg
