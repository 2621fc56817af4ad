// The official unaligned dataset and its preprocessing, and a background loader that delivers
// batches in a fixed order.
//
// Randomness: every random choice for a sample (which B image, crop offsets, flips) is drawn from a
// generator seeded by (seed, epoch, position in the epoch), and the epoch's order from one seeded
// by (seed, epoch). Which loader thread decodes a sample, and when, therefore changes nothing, and
// a run resumed at (epoch, position) sees exactly the samples an uninterrupted run would.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tensor/tensor.h"
#include "data/image.h"

namespace cg::data {

// The official IMG_EXTENSIONS, compared exactly (".jpg", ".JPG", ".png", ...).
bool has_image_extension(const std::string& name);
// Image files under `dir`, recursively, sorted, at most max_size of them. Throws naming the folder
// if it is missing or holds no images, and naming the first file in a format we cannot decode
// (bmp, ppm, tif: the official accepts them; convert them to PNG).
std::vector<std::string> find_images(const std::string& dir, int64_t max_size);

struct Preprocess {
  std::string mode = "resize_and_crop";  // resize_and_crop | crop | scale_width | scale_width_and_crop | none
  int load_size = 286, crop_size = 256;
  bool flip = true;
  int channels = 3;
  int64_t max_pixels = kMaxPixels;  // larger images are refused before decoding (read_image)
};
void validate(const Preprocess& p);  // throws on an unknown mode or non-positive sizes
// The official get_transform on one image, drawing crop offsets and the flip from `gen`:
// (C, H, W) float32 in [-1, 1].
Tensor transform(const Image& img, const Preprocess& p, Generator& gen, const std::string& path);
// The output (width, height) for an input of the given size, when it does not depend on randomness.
std::pair<int, int> transformed_size(int width, int height, const Preprocess& p);

// DATAROOT/<phase>A and DATAROOT/<phase>B, unpaired: sample i is A[i % |A|] with a B drawn at
// random (or B[i % |B|] with serial_batches); the length is max(|A|, |B|).
class UnalignedDataset {
 public:
  struct Options {
    std::string dataroot, phase = "train";
    bool a_to_b = true, serial_batches = false;
    int input_nc = 3, output_nc = 3;
    int64_t max_dataset_size = INT64_MAX;
    Preprocess preprocess;
  };
  explicit UnalignedDataset(Options opt);
  int64_t size() const {
    return std::max<int64_t>(static_cast<int64_t>(a_paths_.size()), static_cast<int64_t>(b_paths_.size()));
  }
  int64_t size_A() const { return static_cast<int64_t>(a_paths_.size()); }
  int64_t size_B() const { return static_cast<int64_t>(b_paths_.size()); }

  struct Sample {
    Tensor A, B;  // (C, H, W)
    std::string A_path, B_path;
  };
  Sample get(int64_t index, Generator& gen) const;

 private:
  Options opt_;
  Preprocess pre_A_, pre_B_;
  std::vector<std::string> a_paths_, b_paths_;
};

// Decodes samples on `threads` background threads, up to a few batches ahead, and hands out
// batches in order: (N, C, H, W) tensors.
class Loader {
 public:
  struct Batch {
    Tensor A, B;
    std::vector<std::string> A_paths, B_paths;
  };
  Loader(const UnalignedDataset& ds, int batch_size, bool shuffle, int threads, uint64_t seed,
         int64_t max_dataset_size = INT64_MAX);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Samples per epoch: the dataset's length, cut (in whole batches) at max_dataset_size as the
  // official loader does.
  int64_t samples_per_epoch() const { return epoch_len_; }
  // Starts an epoch, skipping its first `skip` samples (a resumed run).
  void start_epoch(int epoch, int64_t skip);
  // The next batch of the epoch; false when the epoch is done. Rethrows a worker's error.
  bool next(Batch& out);

 private:
  void worker();
  void stop_workers();
  struct Slot {
    bool ready = false;
    UnalignedDataset::Sample sample;
    std::exception_ptr error;
  };
  const UnalignedDataset& ds_;
  int batch_size_;
  bool shuffle_;
  int threads_;
  uint64_t seed_;
  int64_t epoch_len_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  int epoch_ = 0;
  uint64_t generation_ = 0;      // bumped by start_epoch: workers drop stale work
  std::vector<int64_t> order_;   // the epoch's sample indices
  int64_t next_to_claim_ = 0;    // next position a worker takes
  int64_t next_to_deliver_ = 0;  // next position the consumer takes
  std::vector<Slot> ring_;       // position p lives in ring_[p % ring_.size()]
};

}  // namespace cg::data
