#include "data/edges.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/types.h"

namespace cg::data {

Image canny_edges(const Image& input, const CannyOptions& opt) {
  if (input.channels != 1) throw Error("canny_edges needs a gray image, got " + std::to_string(input.channels) + " channels");
  // (a blur far wider than any image would only make a kernel of gigabytes)
  if (!(opt.sigma > 0 && opt.sigma <= 1000) || !(opt.low >= 0) || !(opt.high >= opt.low) || !(opt.high <= 1))
    throw Error("canny_edges: need 0 < sigma <= 1000 and 0 <= low <= high <= 1");
  const int W = input.width, H = input.height;
  auto at = [&](const std::vector<double>& v, int x, int y) {  // clamped at the border
    return v[static_cast<size_t>(std::clamp(y, 0, H - 1)) * W + std::clamp(x, 0, W - 1)];
  };
  std::vector<double> img(static_cast<size_t>(W) * H);  // (H, W)
  for (size_t i = 0; i < img.size(); ++i) img[i] = input.pixels[i];
  // Gaussian blur, separable, radius 3 sigma
  const int r = std::max(1, static_cast<int>(std::ceil(3 * opt.sigma)));
  std::vector<double> k(static_cast<size_t>(2 * r + 1));
  double ksum = 0;
  for (int i = -r; i <= r; ++i) ksum += k[static_cast<size_t>(i + r)] = std::exp(-0.5 * i * i / (opt.sigma * opt.sigma));
  for (double& v : k) v /= ksum;
  std::vector<double> tmp(img.size()), blur(img.size());  // (H, W)
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double s = 0;
      for (int i = -r; i <= r; ++i) s += k[static_cast<size_t>(i + r)] * at(img, x + i, y);
      tmp[static_cast<size_t>(y) * W + x] = s;
    }
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double s = 0;
      for (int i = -r; i <= r; ++i) s += k[static_cast<size_t>(i + r)] * at(tmp, x, y + i);
      blur[static_cast<size_t>(y) * W + x] = s;
    }
  // Sobel gradients and their magnitude
  std::vector<double> gx(img.size()), gy(img.size()), mag(img.size());  // (H, W)
  double top = 0;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const size_t i = static_cast<size_t>(y) * W + x;
      gx[i] = (at(blur, x + 1, y - 1) + 2 * at(blur, x + 1, y) + at(blur, x + 1, y + 1)) -
              (at(blur, x - 1, y - 1) + 2 * at(blur, x - 1, y) + at(blur, x - 1, y + 1));
      gy[i] = (at(blur, x - 1, y + 1) + 2 * at(blur, x, y + 1) + at(blur, x + 1, y + 1)) -
              (at(blur, x - 1, y - 1) + 2 * at(blur, x, y - 1) + at(blur, x + 1, y - 1));
      mag[i] = std::hypot(gx[i], gy[i]);
      top = std::max(top, mag[i]);
    }
  Image out{W, H, 1, std::vector<uint8_t>(img.size(), 255)};
  if (top < 1e-9) return out;  // flat: no edges
  // Non-maximum suppression: keep a pixel only where its magnitude peaks across the edge (the
  // gradient direction, rounded to one of four), so each edge is one pixel wide.
  std::vector<uint8_t> kind(img.size(), 0);  // 0 none, 1 weak, 2 strong
  const double lo = opt.low * top, hi = opt.high * top;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const size_t i = static_cast<size_t>(y) * W + x;
      const double m = mag[i];
      if (m < lo || m == 0) continue;
      double angle = std::atan2(gy[i], gx[i]) * 180.0 / M_PI;  // (-180, 180]
      if (angle < 0) angle += 180;
      int dx, dy;
      if (angle < 22.5 || angle >= 157.5)
        dx = 1, dy = 0;
      else if (angle < 67.5)
        dx = 1, dy = 1;
      else if (angle < 112.5)
        dx = 0, dy = 1;
      else
        dx = -1, dy = 1;
      const double a = at(mag, x + dx, y + dy), b = at(mag, x - dx, y - dy);
      // ties go to one side only, so a plateau two pixels wide keeps one of them
      if (m > a && m >= b) kind[i] = m >= hi ? 2 : 1;
    }
  // Hysteresis: strong pixels, and weak ones 8-connected to a strong one
  std::vector<size_t> stack;
  for (size_t i = 0; i < kind.size(); ++i)
    if (kind[i] == 2) stack.push_back(i);
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    out.pixels[i] = 0;
    const int x = static_cast<int>(i % W), y = static_cast<int>(i / W);
    for (int ny = y - 1; ny <= y + 1; ++ny)
      for (int nx = x - 1; nx <= x + 1; ++nx) {
        if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
        const size_t j = static_cast<size_t>(ny) * W + nx;
        if (kind[j] == 1) {
          kind[j] = 2;
          stack.push_back(j);
        }
      }
  }
  return out;
}

}  // namespace cg::data
