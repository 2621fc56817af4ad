// The official image buffer of generated images (Shrivastava et al. 2017), so the discriminators
// see a history of fakes rather than only the latest. For each image of a batch: while the pool
// holds fewer than pool_size images, store it and return it; once full, with probability 0.5
// return a random stored image and store the new one in its place, else return the new image.
// pool_size 0 returns the batch unchanged. Stored images are detached copies.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace cg::cyclegan {

class ImagePool {
 public:
  explicit ImagePool(int pool_size) : size_(pool_size) {}
  Tensor query(const Tensor& images, Generator& gen);
  int pool_size() const { return size_; }
  // The stored images (each (1, C, H, W)), for checkpoints.
  const std::vector<Tensor>& images() const { return images_; }
  void set_images(std::vector<Tensor> images);

 private:
  int size_;
  std::vector<Tensor> images_;
};

}  // namespace cg::cyclegan
