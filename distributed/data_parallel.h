// Data parallelism, as PyTorch DDP does it, in one object that the training loop owns: every rank
// starts from rank 0's weights, averages its gradients with the others' before every optimizer
// step (in large buckets), stops where the others stop, agrees on NaN checks, logs the mean of the
// ranks' losses, and sends its own state (image pools, random generators) to rank 0 for the
// checkpoint. An error on one rank ends every rank. With one rank (no launcher) every call is the
// identity, so the training loop reads like the official train.py, with no rank branches.
//
// The ranks are those of an MPI launch (mpirun, srun --mpi=pmix; backend/comm.h), or the ranks
// `cyclegan_train --gpu_ids 0,1,...` starts itself (distributed/launch.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "nn/adam.h"
#include "nn/module.h"
#include "tensor/tensor.h"

namespace cg::distributed {

// An error that every rank throws alike (the ranks' options differ): rank 0 alone prints it.
struct AgreedError : Error {
  using Error::Error;
};

class DataParallel {
 public:
  // ---- before anything else, in main ----
  // Joins the launch's process group (MPI_Init when launched as one of several ranks); refuses a
  // launch that does not form one world. Throws cg::Error naming what is wrong and how to launch.
  static void init(int* argc, char*** argv);
  // Whether this process is one of several ranks of a launch already.
  static bool launched();
  // `ranks` > 1 and not launched yet: starts this program's ranks under mpirun, waits, and returns
  // their exit status; nothing otherwise (train in this process).
  static std::optional<int> launch(int argc, char** argv, int ranks);
  // Leaves the process group (MPI_Finalize).
  static void finalize();

  // The world this process is part of (init() has run, or alone).
  DataParallel();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }  // rank 0: the one that prints and writes
  std::string describe() const;             // "rank 1 of 4 (pid 1234 on host gpu7)"

  // On the GPU: the rank's GPU and how gradients travel between ranks (a line for the log).
  std::string setup_gpu(const std::vector<int>& gpu_ids, const std::string& backend) const;

  // Every rank from rank 0's parameters and buffers (at the start, and after a resume).
  void same_start(const std::vector<nn::Module*>& networks) const;
  // The optimizer averages its gradients over the ranks before each step.
  void attach(nn::Adam& optimizer) const;
  // Whether the training step may be captured as CUDA graphs: not across ranks (the host-staged
  // all-reduce cannot be captured, and NCCL inside the captured step is not done yet).
  bool graphs_allowed() const { return size_ == 1; }

  // ---- agreement: every rank calls these at the same steps ----
  int agree_stop(int code) const;                // the largest code any rank has (0: go on)
  bool any(bool flag) const;                     // true when any rank's flag is
  void mean(std::vector<double>& values) const;  // in place: the mean over ranks
  void barrier() const;
  // Every rank's `text` must be rank 0's (their options): an AgreedError, on every rank, names the
  // first line that differs.
  void check_same(const std::string& text, const std::string& what) const;
  // At rank 0: every rank's `mine`, in rank order; elsewhere: empty. (Alone: {mine}.)
  std::vector<std::string> gather(const std::string& mine) const;

  // After an error on this rank: prints it with the rank and ends every rank at once (MPI_Abort),
  // so that none waits in a collective for this one. Returns when alone.
  void abort_on_error(const std::exception& e) const;
  // Ends every rank at once with exit status `code` (MPI_Abort), for a rank that stops before
  // training with its own message printed (a usage error). Returns when alone.
  void abort_job(int code) const;

 private:
  int rank_, size_;
};

// ---- what DataParallel is made of, for benchmarks and tests ----

// Divides the sum over ranks by the rank count, in place, for every tensor of `grads` (float32 or
// float64, one device): they are packed into buckets of about `bucket_bytes`, one all-reduce each
// (the effect of PyTorch DDP's reducer).
void average_gradients(const std::vector<Tensor>& grads, size_t bucket_bytes = size_t{25} << 20);
// How many bytes average_gradients all-reduced and how long it took, since the start.
struct ReduceStats {
  double bytes = 0, seconds = 0;
  long calls = 0;
};
ReduceStats reduce_stats();

}  // namespace cg::distributed
