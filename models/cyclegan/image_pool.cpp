#include "models/cyclegan/image_pool.h"

#include "ops/batch.h"

namespace cg::cyclegan {

Tensor ImagePool::query(const Tensor& images, Generator& gen) {
  if (size_ == 0) return images;
  std::vector<Tensor> out;
  for (int64_t i = 0; i < images.size(0); ++i) {
    Tensor image = slice0(images.detach(), i, 1);  // (1, C, H, W), a copy
    if (static_cast<int>(images_.size()) < size_) {
      images_.push_back(image);
      out.push_back(image);
    } else if (gen.uniform() > 0.5) {
      const uint64_t k = gen.below(static_cast<uint64_t>(size_));
      out.push_back(images_[k]);
      images_[k] = image;
    } else {
      out.push_back(image);
    }
  }
  return cat0(out);
}

void ImagePool::set_images(std::vector<Tensor> images) {
  if (static_cast<int>(images.size()) > size_)
    throw Error("image pool of size " + std::to_string(size_) + " cannot hold " +
                std::to_string(images.size()) + " stored images");
  images_ = std::move(images);
}

}  // namespace cg::cyclegan
