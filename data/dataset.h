// The official datasets (unaligned, aligned, single) and their preprocessing, and a background
// loader that delivers batches of any of them in a fixed order.
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

#include "data/image.h"
#include "tensor/tensor.h"

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

// The random part of one transform (the official get_params): where the crop starts, and whether
// the image is flipped. The aligned dataset draws it once for both halves of a pair.
struct TransformParams {
  int left = 0, top = 0;
  bool flip = false;
};
// Draws from `gen` what the transform of an image of width x height needs: the crop's top and
// left (only when the resized image is larger than the crop, as torchvision's RandomCrop), then
// the flip (only when p.flip).
TransformParams draw_params(int width, int height, const Preprocess& p, Generator& gen);
// The official get_transform on one image with the given parameters: (C, H, W) float32 in [-1, 1].
// Throws naming `path` when the image is smaller than the crop after resizing.
Tensor transform(const Image& img, const Preprocess& p, const TransformParams& params,
                 const std::string& path);
// The same with the parameters drawn from `gen`.
Tensor transform(const Image& img, const Preprocess& p, Generator& gen, const std::string& path);
// The output (width, height) for an input of the given size, when it does not depend on randomness.
std::pair<int, int> transformed_size(int width, int height, const Preprocess& p);

// One sample of a dataset: A and B as (C, H, W) (B undefined for a single dataset) and the files
// they come from (the same AB file twice for an aligned dataset); a class-folder dataset's class
// number in `label` (-1: none).
struct Sample {
  Tensor A, B;
  std::string A_path, B_path;
  int64_t label = -1;
};

// What the loader reads from: `size()` samples, sample i drawing its random choices from `gen`.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Sample get(int64_t index, Generator& gen) const = 0;
  // The file sample `index` is read from (its A file; B may be drawn at random), for errors.
  virtual std::string file(int64_t index) const = 0;
};

// A sample that could not be read, as the loader rethrows it: the reader's message (which names
// the file) and the sample's file.
struct LoadError : Error {
  LoadError(const std::string& what, std::string file) : Error(what), file(std::move(file)) {}
  std::string file;
};

// The channels of the A side and the B side of the files, as the official datasets decide them:
// with BtoA the A files hold the model's output domain.
inline int a_channels(bool a_to_b, int input_nc, int output_nc) { return a_to_b ? input_nc : output_nc; }
inline int b_channels(bool a_to_b, int input_nc, int output_nc) { return a_to_b ? output_nc : input_nc; }

// What the datasets are made from (each uses the fields it needs).
struct DatasetOptions {
  std::string dataroot, phase = "train";
  bool a_to_b = true, serial_batches = false;
  int input_nc = 3, output_nc = 3;
  int64_t max_dataset_size = INT64_MAX;
  Preprocess preprocess;
};

// DATAROOT/<phase>A and DATAROOT/<phase>B, unpaired: sample i is A[i % |A|] with a B drawn at
// random (or B[i % |B|] with serial_batches); the length is max(|A|, |B|).
class UnalignedDataset : public Dataset {
 public:
  using Options = DatasetOptions;
  explicit UnalignedDataset(Options opt);
  int64_t size() const override {
    return std::max<int64_t>(static_cast<int64_t>(a_paths_.size()), static_cast<int64_t>(b_paths_.size()));
  }
  int64_t size_A() const { return static_cast<int64_t>(a_paths_.size()); }
  int64_t size_B() const { return static_cast<int64_t>(b_paths_.size()); }
  Sample get(int64_t index, Generator& gen) const override;
  std::string file(int64_t index) const override { return a_paths_[static_cast<size_t>(index % size_A())]; }

 private:
  Options opt_;
  Preprocess pre_A_, pre_B_;
  std::vector<std::string> a_paths_, b_paths_;
};

// The official AlignedDataset: DATAROOT/<phase> holds AB images, A the left half and B the right
// half of each; both halves get one set of resize, crop and flip parameters (drawn for the half's
// size), so they stay pixel-aligned. Gray per side as the official: A is gray when its side's
// channel count (a_channels) is 1, B likewise. An AB image of odd width, or whose halves are
// smaller than the crop, is an error naming the file.
class AlignedDataset : public Dataset {
 public:
  using Options = DatasetOptions;  // serial_batches unused: every sample is a pair
  explicit AlignedDataset(Options opt);
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  Sample get(int64_t index, Generator& gen) const override;
  std::string file(int64_t index) const override { return paths_[static_cast<size_t>(index)]; }

 private:
  Options opt_;
  Preprocess pre_A_, pre_B_;
  std::vector<std::string> paths_;
};

// The official SingleDataset: every image under `dataroot` (recursively, sorted) as A, with the
// channels of the generator's input side (output_nc under BtoA, as the official).
class SingleDataset : public Dataset {
 public:
  using Options = DatasetOptions;  // phase and serial_batches unused
  explicit SingleDataset(Options opt);
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  Sample get(int64_t index, Generator& gen) const override;
  std::string file(int64_t index) const override { return paths_[static_cast<size_t>(index)]; }

 private:
  Options opt_;
  Preprocess pre_;
  std::vector<std::string> paths_;
};

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
  Loader(const Dataset& ds, int batch_size, bool shuffle, int threads, uint64_t seed,
         int64_t max_dataset_size = INT64_MAX, int rank = 0, int world = 1);
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
  std::vector<int64_t> order_;   // the epoch's sample indices by global position, padded
  int64_t skip_ = 0;             // the global positions before this rank's first
  int64_t end_ = 0;              // this rank's samples: j in [0, end_) is global skip_ + rank + j * world
  int64_t next_to_claim_ = 0;    // next j a worker takes
  int64_t next_to_deliver_ = 0;  // next j the consumer takes
  std::vector<Slot> ring_;       // j lives in ring_[j % ring_.size()]
};

}  // namespace cg::data
