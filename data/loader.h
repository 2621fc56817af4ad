// The background loader: decodes a dataset's samples on threads, a few batches ahead, and hands out
// batches in a fixed order.
//
// Randomness: every random choice for a sample is drawn from a generator seeded by (seed, epoch,
// position in the epoch), and the epoch's order from one seeded by (seed, epoch). Which loader
// thread decodes a sample, and when, therefore changes nothing, and a run resumed at (epoch,
// position) sees exactly the samples an uninterrupted run would.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/dataset.h"

namespace cg::data {

// A batch: (N, C, H, W) tensors (B undefined for a single dataset) and the files of each sample;
// `label` (N) the class numbers as float32 whole numbers, when the samples have them.
struct Batch {
  Tensor A, B;
  std::vector<std::string> A_paths, B_paths;
  Tensor label;
};

// Decodes samples on `threads` background threads, up to a few batches ahead, and hands out
// batches in order.
//
// Data parallel (world > 1 ranks, as PyTorch's DistributedSampler): the epoch's order is one
// permutation shared by every rank (it depends on the seed and the epoch only); the part left
// after `skip` is padded by wrapping around to a multiple of world, and rank r takes its positions
// skip + r, skip + r + world, ... Every rank so gets the same number of samples and batches, and a
// sample's random choices come from its global position, so `world` ranks with batch b see exactly
// the samples of one process with batch world x b, crops and flips included.
class Loader {
 public:
  using Batch = data::Batch;
  // drop_last: an epoch is whole global batches only (PyTorch DataLoader's drop_last).
  Loader(const Dataset& ds, int batch_size, bool shuffle, int threads, uint64_t seed,
         int64_t max_dataset_size = INT64_MAX, int rank = 0, int world = 1, bool drop_last = false);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Samples per epoch over all ranks: the dataset's length, cut (in whole batches of the global
  // batch, world x batch_size) at max_dataset_size as the official loader does.
  int64_t samples_per_epoch() const { return epoch_len_; }
  // Starts an epoch, skipping its first `skip` positions (a resumed run: the samples every rank
  // together trained on).
  void start_epoch(int epoch, int64_t skip);
  // This rank's samples in the epoch started last (after its skip).
  int64_t rank_samples() const { return end_; }
  // The next batch of the epoch; false when the epoch is done. A sample that could not be read is
  // thrown as a LoadError; the batch it belongs to is dropped, and the next call goes on after it.
  bool next(Batch& out);

 private:
  void worker();
  void stop_workers();
  struct Slot {
    bool ready = false;
    Sample sample;
    std::exception_ptr error;
    std::string file;  // the sample's, when reading it failed
  };
  const Dataset& ds_;
  int batch_size_;
  bool shuffle_;
  int threads_;
  uint64_t seed_;
  int64_t epoch_len_;
  int rank_, world_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  int epoch_ = 0;
  uint64_t generation_ = 0;      // bumped by start_epoch: workers drop stale work
  std::vector<int64_t> order_;   // shuffled: the epoch's sample indices by global position, padded
  int64_t skip_ = 0;             // the global positions before this rank's first
  int64_t end_ = 0;              // this rank's samples: j in [0, end_) is global skip_ + rank + j * world
  int64_t next_to_claim_ = 0;    // next j a worker takes
  int64_t next_to_deliver_ = 0;  // next j the consumer takes
  std::vector<Slot> ring_;       // j lives in ring_[j % ring_.size()]
};

}  // namespace cg::data
