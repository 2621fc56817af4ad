// Collectives on tensors among the ranks of a data-parallel run (backend/comm.h), and the one that
// autograd differentiates: the sum over ranks, which synchronised batch norm (--norm syncbatch)
// takes of its statistics. Alone (one rank) every one is the identity.
#pragma once

#include "tensor/tensor.h"

namespace cg {

// In place, on every rank: the elementwise sum over ranks (float32 or float64, any device).
void all_reduce_sum_(Tensor& t);
// In place, on every rank: rank `root`'s values.
void broadcast_(Tensor& t, int root = 0);

// Differentiable: y = the sum of x over ranks, on every rank. Its gradient is the sum over ranks of
// the gradients at y, as every rank's loss depends on every rank's x (the averaging of the data-
// parallel step then makes it the gradient of the mean loss).
Tensor all_reduce_sum(const Tensor& x);

// The number of ranks (1 when alone) and this process's rank.
int world_size();
int world_rank();

}  // namespace cg
