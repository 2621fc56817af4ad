#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>

namespace cg::data {

namespace {

// The official __scale_width: width to target_size, height keeping the aspect ratio but at least
// crop_size (int() truncation, as Python's).
Image scale_width(const Image& img, int target, int crop_size) {
  if (img.width == target && img.height >= crop_size) return img;
  const int h = static_cast<int>(
      std::max(static_cast<double>(target) * img.height / img.width, static_cast<double>(crop_size)));
  return resize_bicubic(img, target, h);
}

// The official __make_power_2 with base 4: Python's round() (ties to even), as std::nearbyint.
std::pair<int, int> power2_size(int w, int h) {
  return {static_cast<int>(std::nearbyint(w / 4.0) * 4), static_cast<int>(std::nearbyint(h / 4.0) * 4)};
}

std::once_flag g_power2_warning;

}  // namespace

void validate(const Preprocess& p) {
  static const char* const modes[] = {"resize_and_crop", "crop", "scale_width", "scale_width_and_crop",
                                      "none"};
  bool known = false;
  for (const char* m : modes) known = known || p.mode == m;
  if (!known)
    throw Error("--preprocess '" + p.mode +
                "' is not one of resize_and_crop, crop, scale_width, scale_width_and_crop, none");
  if (p.load_size <= 0 || p.crop_size <= 0) throw Error("--load_size and --crop_size must be positive");
  if (p.channels != 1 && p.channels != 3)
    throw Error("images have 1 or 3 channels, not " + std::to_string(p.channels));
}

std::pair<int, int> size_before_crop(int width, int height, const Preprocess& p) {
  if (p.mode.find("resize") != std::string::npos) return {p.load_size, p.load_size};
  if (p.mode.find("scale_width") != std::string::npos && !(width == p.load_size && height >= p.crop_size))
    return {p.load_size, static_cast<int>(std::max(static_cast<double>(p.load_size) * height / width,
                                                   static_cast<double>(p.crop_size)))};
  return {width, height};
}

TransformParams draw_params(int width, int height, const Preprocess& p, Generator& gen) {
  TransformParams t;
  if (p.mode.find("crop") != std::string::npos) {
    const auto [w, h] = size_before_crop(width, height, p);
    const int th = p.crop_size, tw = p.crop_size;
    // as torchvision's RandomCrop: no draws when it fits exactly (and none for an image too
    // small, which transform refuses)
    if (w >= tw && h >= th && (w != tw || h != th)) {
      t.top = static_cast<int>(gen.below(static_cast<uint64_t>(h - th + 1)));
      t.left = static_cast<int>(gen.below(static_cast<uint64_t>(w - tw + 1)));
    }
  }
  t.flip = p.flip && gen.uniform() < 0.5;
  return t;
}

Tensor transform(const Image& input, const Preprocess& p, Generator& gen, const std::string& path) {
  return transform(input, p, draw_params(input.width, input.height, p, gen), path);
}

Tensor transform(const Image& input, const Preprocess& p, const TransformParams& params,
                 const std::string& path) {
  // scale_width keeps the aspect: a thin image scaled to --load_size wide may be far taller
  // (in double: the size is checked before any int holds it)
  const double W = input.width, H = input.height, load = p.load_size;
  const bool resizes = p.mode.find("resize") != std::string::npos;
  const bool scales = !resizes && p.mode.find("scale_width") != std::string::npos;
  const double pixels = resizes  ? load * load
                        : scales ? load * std::max(load * H / W, double(p.crop_size))
                                 : W * H;
  if (pixels > static_cast<double>(p.max_pixels))
    throw Error("image '" + path + "' (" + std::to_string(input.width) + "x" + std::to_string(input.height) +
                ") would have " + std::to_string(static_cast<long long>(std::min(pixels, 9e18))) +
                " pixels after --preprocess " + p.mode + " --load_size " + std::to_string(p.load_size) +
                ", more than --max_pixels " + std::to_string(p.max_pixels));
  Image img = p.channels == 1 ? to_gray(input) : input;
  const bool resize = p.mode.find("resize") != std::string::npos;
  if (resize)
    img = resize_bicubic(img, p.load_size, p.load_size);
  else if (p.mode.find("scale_width") != std::string::npos)
    img = scale_width(img, p.load_size, p.crop_size);
  if (p.mode.find("crop") != std::string::npos) {
    const int th = p.crop_size, tw = p.crop_size;
    if (img.width < tw || img.height < th)
      throw Error("image '" + path + "' is " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                  " after --preprocess " + p.mode + ", smaller than --crop_size " +
                  std::to_string(p.crop_size));
    if (params.left < 0 || params.top < 0 || params.left + tw > img.width || params.top + th > img.height)
      throw Error("image '" + path + "': a crop at (" + std::to_string(params.left) + ", " +
                  std::to_string(params.top) + ") does not fit its " + std::to_string(img.width) + "x" +
                  std::to_string(img.height));
    img = crop(img, params.left, params.top, tw, th);
  }
  if (p.mode == "none") {
    // (not a structured binding: clang before 16 cannot capture one in the lambda below)
    int w, h;
    std::tie(w, h) = power2_size(img.width, img.height);
    if (w != img.width || h != img.height) {
      std::call_once(g_power2_warning, [&] {
        std::fprintf(
            stderr,
            "The image size needs to be a multiple of 4. The loaded image size was (%d, %d), so it was "
            "adjusted to (%d, %d). This adjustment will be done to all images whose sizes are not "
            "multiples of 4\n",
            img.width, img.height, w, h);
      });
      if (w <= 0 || h <= 0)
        throw Error("image '" + path + "' (" + std::to_string(img.width) + "x" + std::to_string(img.height) +
                    ") is too small for the networks (sides must round to a positive multiple of 4)");
      img = resize_bicubic(img, w, h);
    }
  }
  if (params.flip) img = flip_horizontal(img);
  return to_tensor(img);
}

std::pair<int, int> transformed_size(int width, int height, const Preprocess& p) {
  auto [w, h] = size_before_crop(width, height, p);
  if (p.mode.find("crop") != std::string::npos) w = h = p.crop_size;
  if (p.mode == "none") std::tie(w, h) = power2_size(w, h);
  return {w, h};
}

}  // namespace cg::data
