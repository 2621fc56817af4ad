// Collectives on tensors of any device among the ranks of dist/comm.h, and what data parallelism is
// made of: every rank starting from rank 0's weights, gradients averaged in large buckets, and an
// all-reduce that autograd differentiates (synchronised batch norm's statistics).
//
// GPU tensors move over NCCL when every rank has a GPU of its own (set_gpu_path), else through the
// host: copied out, all-reduced over MPI, copied back (two ranks on one GPU: NCCL refuses them).
#pragma once

#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cg::dist {

enum class GpuPath { kNccl, kHost };
// For a run on the GPU: makes the local rank's GPU this process's (gpu_ids[local_rank] when given,
// else the local rank), and sets up the GPU collectives: `path` "nccl", "host" or "auto" (NCCL
// when this build has it and no two ranks of this machine share a GPU). Returns what it chose, as a
// line for the log. Call on every rank, after init and before any CUDA work.
std::string setup_gpu(const std::vector<int>& gpu_ids, const std::string& path);
GpuPath gpu_path();

// In place, on every rank: the elementwise sum over ranks (float32 or float64, any device).
void all_reduce_sum_(Tensor& t);
// In place, on every rank: rank `root`'s values.
void broadcast_(Tensor& t, int root = 0);

// Divides the sum over ranks by the rank count, in place, for every tensor of `grads` (float32 or
// float64, one device): they are packed into buckets of about `bucket_bytes`, one all-reduce each.
// The data-parallel step's gradient averaging (the effect of PyTorch DDP's reducer).
void average_gradients(const std::vector<Tensor>& grads, size_t bucket_bytes = size_t{25} << 20);
// How many bytes average_gradients all-reduced and how long it took, since the start (for bench/
// and the log).
struct ReduceStats {
  double bytes = 0, seconds = 0;
  long calls = 0;
};
ReduceStats reduce_stats();

// Differentiable: y = the sum of x over ranks, on every rank. Its gradient is the sum over ranks of
// the gradients at y, as every rank's loss depends on every rank's x (the averaging of the data-
// parallel step then makes it the gradient of the mean loss).
Tensor all_reduce_sum(const Tensor& x);

}  // namespace cg::dist
