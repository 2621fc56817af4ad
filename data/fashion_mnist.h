// Fashion-MNIST as Debian's dataset-fashion-mnist installs it (/usr/share/datasets/fashion-mnist):
// gzip-compressed IDX files of 28x28 gray images and their labels (0 T-shirt, 1 trouser, 2
// pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot). The demo datasets
// are written from it (apps/fashion_mnist_domains, apps/fashion_mnist_edges).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace cg::data {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// An IDX file (gzip-compressed): big-endian magic, dims, then the bytes. Every size is checked
// before it drives an allocation; errors name the file.
std::vector<uint8_t> read_idx(const std::string& path, std::vector<int>& dims);

// One split ("train": 60000 images, "t10k": 10000): images and labels, checked against each other.
struct FashionMnist {
  int count = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // (count, height, width)
  std::vector<uint8_t> labels;  // (count)
  Image image(int i) const;     // gray
};
FashionMnist read_fashion_mnist(const std::string& source, const std::string& split);

}  // namespace cg::data
