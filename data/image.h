// Images of 8 or 16 bits per sample: decoding PNG (libpng), JPEG (libjpeg-turbo) and TIFF
// (libtiff), writing PNG, and the pixel operations of the official CycleGAN preprocessing. On 8-bit
// images each matches what PIL does, so that our tensors equal the official pipeline's (bicubic
// resize exactly as PIL's, RGB -> L with PIL's luma weights); 16-bit images (which the official
// reads clipped or cut to 8 bits) get the same operations at full precision, defined below.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace cg::data {

// Interleaved pixels, rows top to bottom: (height, width, channels), channels 1 (L) or 3 (RGB).
// 8-bit samples are in `pixels`; a 16-bit image (bits == 16) has its samples in `pixels16` and
// `pixels` empty.
struct Image {
  Image() = default;
  // An 8-bit image; `pixels` may be left empty for the caller to fill.
  Image(int width, int height, int channels, std::vector<uint8_t> pixels = {})
      : width(width), height(height), channels(channels), pixels(std::move(pixels)) {}
  // A 16-bit image of zeros.
  static Image make16(int width, int height, int channels) {
    Image im(width, height, channels);
    im.bits = 16;
    im.pixels16.resize(im.samples());
    return im;
  }
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
  int bits = 8;
  std::vector<uint16_t> pixels16;
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * width * channels; }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * channels; }
  uint16_t* row16(int y) { return pixels16.data() + static_cast<size_t>(y) * width * channels; }
  const uint16_t* row16(int y) const { return pixels16.data() + static_cast<size_t>(y) * width * channels; }
  size_t samples() const { return static_cast<size_t>(width) * height * channels; }
};

// What a reader does with 16-bit samples: k8 cuts them to their high byte (what PIL's convert('RGB')
// gives for 16-bit RGB, and what the tools that score or combine 8-bit results expect); kFull keeps
// them (bits == 16). 8-bit files give 8-bit images either way.
enum class Depth { k8, kFull };

// The most pixels (width x height) an image may claim before we refuse to decode it: PIL's own
// refusal point (it raises DecompressionBombError above 2 * Image.MAX_IMAGE_PIXELS, which is
// 1024^3 / 4 / 3 = 89,478,485). Checked against the header before any pixel buffer exists, so a
// small forged file cannot make us allocate gigabytes.
constexpr int64_t kMaxPixels = 2 * (int64_t{1024} * 1024 * 1024 / 4 / 3);

// Reads a PNG, JPEG or TIFF (told apart by content, not name) as `channels` (1 or 3): gray, RGB,
// RGBA (alpha dropped, as PIL's convert('RGB')), palette and 16-bit inputs are accepted (16-bit
// samples as `depth` says), and CMYK or YCCK JPEGs (to RGB by PIL's rule: samples inverted as Adobe
// writes them, then Pillow's cmyk2rgb); 3 -> 1 uses PIL's L = (19595 R + 38470 G + 7471 B + 2^15)
// >> 16. TIFF: data/tiff.cpp says what it takes. Throws cg::Error naming the file for anything
// unreadable, truncated, corrupt or unsupported, or with more than `max_pixels`.
Image read_image(const std::string& path, int channels, int64_t max_pixels = kMaxPixels,
                 Depth depth = Depth::k8);
// Decodes from memory; `name` is used in error messages.
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name, int channels,
                   int64_t max_pixels = kMaxPixels, Depth depth = Depth::k8);

// Writes a PNG (gray or RGB, 8 or 16 bits as the image has them), atomically (temporary file, then
// rename).
void write_png(const std::string& path, const Image& img);

// 8-bit: PIL's Image.resize(..., BICUBIC) bit for bit: separable, a = -0.5, the kernel widened by
// the scale when shrinking (antialiasing), 22-bit fixed-point coefficients, horizontal pass first.
// 16-bit (ours; PIL has no bicubic for 16-bit RGB): the same taps, bounds and normalised weights,
// in double, each pass rounded half up to a 16-bit sample and clipped to [0, 65535], horizontal
// pass first, as PIL rounds its 8-bit intermediate.
Image resize_bicubic(const Image& img, int width, int height);
Image crop(const Image& img, int x, int y, int width, int height);
Image flip_horizontal(const Image& img);
// RGB -> L with PIL's weights, (19595 R + 38470 G + 7471 B + 2^15) >> 16, on 8- or 16-bit samples;
// L stays L.
Image to_gray(const Image& img);

// (C, H, W) float32 in [-1, 1]: torchvision's ToTensor (v / 255) then Normalize(0.5, 0.5), in
// the same float32 operations; a 16-bit image the same with v / 65535.
Tensor to_tensor(const Image& img);
// The inverse for saving results, as the official tensor2im: (x + 1) / 2 * 255 in float32,
// clipped to [0, 255] and truncated to uint8; a gray tensor gives an RGB image (as tensor2im's
// tiling). bits 16: the same with 65535 for 255, truncated to uint16, and a gray tensor stays
// gray. x: (C, H, W) or (1, C, H, W) on any device, C = 1 or 3.
Image from_tensor(const Tensor& x, int bits = 8);

}  // namespace cg::data
