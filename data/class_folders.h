// Labelled images in class folders (torchvision's ImageFolder convention), for the conditional
// GAN: DIR/<class>/<image>, the sorted folder names being the classes 0..K-1.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cg::data {

// The class folders of `root`, sorted: class k is the k-th. An error names root when it is not a
// folder or holds none.
std::vector<std::string> class_folder_names(const std::string& root);

// Every image of DIR/<class>/ (recursively, sorted) with its class number. Images are read gray
// (RGB converted as PIL's 'L'), must be `size` x `size` pixels, and come as (1, size, size) in
// [-1, 1]. No class folder, an empty one, a file that is not an image folder, or an image of
// another size is an error naming it.
class ClassFolderDataset : public Dataset {
 public:
  ClassFolderDataset(std::string root, int size = 28, int64_t max_pixels = kMaxPixels);
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  Sample get(int64_t index, Generator& gen) const override;
  std::string file(int64_t index) const override { return paths_[static_cast<size_t>(index)]; }
  const std::vector<std::string>& classes() const { return classes_; }
  int64_t label(int64_t index) const { return labels_[static_cast<size_t>(index)]; }

 private:
  std::string root_;
  int size_;
  int64_t max_pixels_;
  std::vector<std::string> classes_, paths_;
  std::vector<int64_t> labels_;
};

// `draws` samples of `base`, each a uniformly random one (with replacement) drawn from the
// sample's own generator, which the loader seeds by (seed, epoch, position): the book's
// np.random.randint(0, N, batch_size) per iteration, reproducible at any position of a run.
class RandomDraws : public Dataset {
 public:
  RandomDraws(std::unique_ptr<Dataset> base, int64_t draws) : base_(std::move(base)), draws_(draws) {}
  int64_t size() const override { return draws_; }
  Sample get(int64_t index, Generator& gen) const override;
  std::string file(int64_t) const override { return "a random draw"; }
  int64_t drawn_from() const override { return base_->size(); }
  bool extends_in_place() const override { return true; }

 private:
  std::unique_ptr<Dataset> base_;
  int64_t draws_;
};

}  // namespace cg::data
