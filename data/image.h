// 8-bit images: decoding PNG (libpng) and JPEG (libjpeg-turbo), writing PNG, and the pixel
// operations of the official CycleGAN preprocessing, each matching what PIL does so that our
// tensors equal the official pipeline's (bicubic resize exactly as PIL's, RGB -> L with PIL's
// luma weights).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cg::data {

// Interleaved 8-bit pixels, rows top to bottom: (height, width, channels), channels 1 (L) or 3 (RGB).
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * width * channels; }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * channels; }
};

// The most pixels (width x height) an image may claim before we refuse to decode it: PIL's own
// refusal point (it raises DecompressionBombError above 2 * Image.MAX_IMAGE_PIXELS, which is
// 1024^3 / 4 / 3 = 89,478,485). Checked against the header before any pixel buffer exists, so a
// small forged file cannot make us allocate gigabytes.
constexpr int64_t kMaxPixels = 2 * (int64_t{1024} * 1024 * 1024 / 4 / 3);

// Reads a PNG or JPEG (told apart by content, not name) as `channels` (1 or 3): gray, RGB, RGBA
// (alpha dropped, as PIL's convert('RGB')), palette and 16-bit (reduced to 8) inputs are accepted,
// and CMYK or YCCK JPEGs (to RGB by PIL's rule: samples inverted as Adobe writes them, then Pillow's
// cmyk2rgb); 3 -> 1 uses PIL's L = (19595 R + 38470 G + 7471 B + 2^15) >> 16. Throws cg::Error
// naming the file for anything unreadable, truncated or corrupt, or with more than `max_pixels`.
Image read_image(const std::string& path, int channels, int64_t max_pixels = kMaxPixels);
// Decodes from memory; `name` is used in error messages.
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name, int channels,
                   int64_t max_pixels = kMaxPixels);

// Writes an 8-bit PNG (gray or RGB), atomically (temporary file, then rename).
void write_png(const std::string& path, const Image& img);

// PIL's Image.resize(..., BICUBIC) bit for bit: separable, a = -0.5, the kernel widened by the
// scale when shrinking (antialiasing), 22-bit fixed-point coefficients, horizontal pass first.
Image resize_bicubic(const Image& img, int width, int height);
Image crop(const Image& img, int x, int y, int width, int height);
Image flip_horizontal(const Image& img);
Image to_gray(const Image& img);  // RGB -> L with PIL's weights; L stays L

// (C, H, W) float32 in [-1, 1]: torchvision's ToTensor (v / 255) then Normalize(0.5, 0.5), in
// the same float32 operations.
Tensor to_tensor(const Image& img);
// The inverse for saving results, as the official tensor2im: (x + 1) / 2 * 255 in float32,
// clipped to [0, 255] and truncated to uint8; a gray tensor gives an RGB image (as tensor2im's
// tiling). x: (C, H, W) or (1, C, H, W) on any device, C = 1 or 3.
Image from_tensor(const Tensor& x);

}  // namespace cg::data
