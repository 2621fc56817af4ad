// The official preprocessing (get_params and get_transform): resize, scale_width, crop, flip, and
// scaling to [-1, 1], with the random part drawn from a generator so that a sample's choices depend
// on its position alone.
#pragma once

#include <string>
#include <utility>

#include "data/image.h"
#include "tensor/tensor.h"

namespace cg::data {

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
// The size an image of width x height has when the crop comes: after the resize or scale_width.
std::pair<int, int> size_before_crop(int width, int height, const Preprocess& p);
// The output (width, height) for an input of the given size, when it does not depend on randomness.
std::pair<int, int> transformed_size(int width, int height, const Preprocess& p);

}  // namespace cg::data
