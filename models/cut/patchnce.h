// PatchNCELoss (models/patchnce.py of taesungp/contrastive-unpaired-translation at b3ac297): each
// sampled patch of the output (a query q) scored against the input's patch at the same position
// (its positive k+) and at the other sampled positions of the same image (its negatives), as a
// classification over 1 + P logits with the positive as the class.
#pragma once

#include <map>
#include <utility>

#include "tensor/tensor.h"

namespace cg::cut {

class PatchNCELoss {
 public:
  // tau: --nce_T; all_negatives_from_minibatch: --nce_includes_all_negatives_from_minibatch (the
  // negatives of a query are the other patches of every image of the batch, not only its own).
  PatchNCELoss(double tau, bool all_negatives_from_minibatch)
      : tau_(tau), all_negatives_(all_negatives_from_minibatch) {}

  // feat_q, feat_k (N, D) with N = batch x P (PatchSampleF's rows, image by image), L2-normalised
  // -> (N): per query, cross-entropy of [q.k+, q.k_j for the P negatives j] / tau against class 0,
  // the negative at the query's own position (the positive again) masked to -10 first. k is
  // detached: no gradient reaches it.
  Tensor operator()(const Tensor& feat_q, const Tensor& feat_k, int64_t batch);

 private:
  // The (1, P, P) identity in the features' dtype and device, kept per P.
  const Tensor& eye(int64_t P, const Tensor& like);
  double tau_;
  bool all_negatives_;
  std::map<std::pair<int64_t, int>, Tensor> eyes_;  // (P, dtype) -> (1, P, P)
};

}  // namespace cg::cut
