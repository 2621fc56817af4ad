#include "models/cut/patchnce.h"

#include <vector>

#include "ops/ops.h"

namespace cg::cut {

const Tensor& PatchNCELoss::eye(int64_t P, const Tensor& like) {
  Tensor& e = eyes_[{P, static_cast<int>(like.dtype())}];
  if (!e.defined() || e.device() != like.device()) {
    std::vector<double> v(static_cast<size_t>(P * P), 0.0);
    for (int64_t i = 0; i < P; ++i) v[static_cast<size_t>(i * P + i)] = 1.0;
    e = Tensor::from_vector(v, {1, P, P}).to(like.dtype()).to(like.device());
  }
  return e;
}

Tensor PatchNCELoss::operator()(const Tensor& feat_q, const Tensor& feat_k_in, int64_t batch) {
  if (feat_q.ndim() != 2 || feat_q.shape() != feat_k_in.shape())
    throw Error("PatchNCE: q " + feat_q.describe() + " and k " + feat_k_in.describe() +
                " must be one (N, D)");
  const Tensor feat_k = feat_k_in.detach();
  const int64_t N = feat_q.size(0), D = feat_q.size(1);
  // the positive logit: each query with its own key, (N, 1)
  const Tensor l_pos = bmm(feat_q.reshape({N, 1, D}), feat_k.reshape({N, D, 1})).reshape({N, 1});
  // the negatives: every query against every key of its image (of the batch, with
  // all_negatives_from_minibatch), (B, P, P) with P the rows per group
  const int64_t groups = all_negatives_ ? 1 : batch;
  if (groups < 1 || N % groups != 0)
    throw Error("PatchNCE: " + std::to_string(N) + " patches do not split into " + std::to_string(groups) +
                " images");
  const int64_t P = N / groups;
  const Tensor q = feat_q.reshape({groups, P, D}), k = feat_k.reshape({groups, P, D});
  const Tensor l_neg_all = bmm(q, transpose(k, 2, 1));  // (B, P, P)
  // masked_fill(diagonal, -10): x 1 + 0 off the diagonal and x 0 - 10 on it, exactly
  const Tensor& mask = eye(P, feat_q);
  const Tensor l_neg = (l_neg_all * (1.0 - mask) + mask * -10.0).reshape({N, P});
  const Tensor logits = cat1({l_pos, l_neg}) / tau_;  // (N, 1 + P)
  return cross_entropy_rows(logits, Tensor::zeros({N}, feat_q.dtype(), feat_q.device()));
}

}  // namespace cg::cut
