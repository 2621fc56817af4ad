// The official datasets (unaligned, aligned, single): which files, which sample is which, and the
// folder walk that finds images. Their preprocessing is data/transforms.h; the background loader
// that batches them, data/loader.h.
//
// Randomness: every random choice for a sample (which B image, crop offsets, flips) is drawn from the
// generator the loader hands to get(), seeded by (seed, epoch, position in the epoch).
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/transforms.h"
#include "tensor/tensor.h"

namespace cg::data {

// The official IMG_EXTENSIONS, compared exactly (".jpg", ".JPG", ".png", ...).
bool has_image_extension(const std::string& name);
// Image files under `dir`, recursively, sorted, at most max_size of them. Throws naming the folder
// if it is missing or holds no images, and naming the first file in a format we cannot decode
// (bmp, ppm, tif: the official accepts them; convert them to PNG).
std::vector<std::string> find_images(const std::string& dir, int64_t max_size);

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
  // Sample `index` in epoch `epoch` (numbered as the training loop numbers them, from
  // --epoch_count), which the loader asks for: a dataset whose samples change with the epoch (the
  // official BaseDataset.current_epoch, which CUT's unaligned dataset reads) overrides it.
  virtual Sample get_in_epoch(int64_t index, int epoch, Generator& gen) const {
    (void)epoch;
    return get(index, gen);
  }
  // The file sample `index` is read from (its A file; B may be drawn at random), for errors.
  virtual std::string file(int64_t index) const = 0;
  // When the samples are random draws from a set of images (for the log): how many images; 0 when
  // each sample is one of the dataset's own.
  virtual int64_t drawn_from() const { return 0; }
  // Whether a longer dataset of this kind begins with this one's samples (each position's sample
  // depends on the position alone): then an epoch finished at this length can be taken further
  // when a resumed run makes it longer, and the result is the longer run's.
  virtual bool extends_in_place() const { return false; }
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

}  // namespace cg::data
