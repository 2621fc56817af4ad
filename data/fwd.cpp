#include "data/fwd.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "backend/types.h"

namespace cg::data {

namespace {

std::string size_str(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

}  // namespace

// --- the wavelet packets ------------------------------------------------------------------------

WaveletPackets::WaveletPackets(int level, std::string what) : level_(level), what_(std::move(what)) {
  // 4^level * 255 must fit the int32 sums
  if (level < 1 || level > 10)
    throw Error("FWD: the wavelet level must be 1 to 10, got " + std::to_string(level));
}

void WaveletPackets::set_size(const Image& img, const std::string& name) {
  if (img.channels != 1 && img.channels != 3)
    throw Error("FWD: '" + name + "' has " + std::to_string(img.channels) + " channels (1 or 3 expected)");
  if (images_ > 0) {
    if (img.width != width_ || img.height != height_)
      throw Error("FWD compares sets of one image size: '" + name + "' is " +
                  size_str(img.width, img.height) + " but '" + first_ + "' (" + what_ + ") is " +
                  size_str(width_, height_));
    return;
  }
  // Each level halves the sides (rounding up: an odd side is padded by reflecting its last-but-one
  // sample, which needs 2 samples).
  int h = img.height, w = img.width;
  for (int l = 0; l < level_; ++l) {
    if (h < 2 || w < 2)
      throw Error("FWD: '" + name + "' is " + size_str(img.width, img.height) +
                  ", too small for Haar packets to level " + std::to_string(level_) +
                  " (each side must keep 2 samples or more down to the last level)");
    h = (h + 1) / 2;
    w = (w + 1) / 2;
  }
  width_ = img.width;
  height_ = img.height;
  band_h_ = h;
  band_w_ = w;
  first_ = name;
}

void WaveletPackets::transform(const Image& img, int32_t* out) const {
  const int64_t P = packets(), band = int64_t{band_h_} * band_w_;
  std::vector<int32_t> cur, next;
  for (int c = 0; c < channels_; ++c) {
    int h = height_, w = width_;
    cur.resize(static_cast<size_t>(h) * w);  // (1, h, w)
    const int src_c = img.channels == 1 ? 0 : c;
    for (size_t i = 0; i < cur.size(); ++i) cur[i] = img.pixels[i * img.channels + src_c];
    int64_t bands = 1;
    for (int l = 0; l < level_; ++l) {
      const int h2 = (h + 1) / 2, w2 = (w + 1) / 2;
      const int64_t sub = int64_t{h2} * w2;
      next.resize(
          static_cast<size_t>(bands * 4 * sub));  // (bands * 4, h2, w2): band q's children at 4q..4q+3
      for (int64_t q = 0; q < bands; ++q) {
        const int32_t* s = cur.data() + q * h * w;
        int32_t* d = next.data() + q * 4 * sub;
        for (int i = 0; i < h2; ++i) {
          const int r0 = 2 * i, r1 = 2 * i + 1 < h ? 2 * i + 1 : 2 * i - 1;  // reflect: row h is row h - 2
          for (int j = 0; j < w2; ++j) {
            const int c0 = 2 * j, c1 = 2 * j + 1 < w ? 2 * j + 1 : 2 * j - 1;
            const int32_t x00 = s[r0 * w + c0], x01 = s[r0 * w + c1], x10 = s[r1 * w + c0],
                          x11 = s[r1 * w + c1];
            // The orthonormal 2-D Haar step is these sums over 2; the halving is in scale(). The
            // signs of the detail bands are a convention (pywt's flips some): a sign applied to a
            // coefficient in every image leaves the Fréchet distance unchanged, as does the order
            // of the packets and of the coefficients within one.
            d[0 * sub + i * w2 + j] = x00 + x01 + x10 + x11;
            d[1 * sub + i * w2 + j] = x00 + x01 - x10 - x11;
            d[2 * sub + i * w2 + j] = x00 - x01 + x10 - x11;
            d[3 * sub + i * w2 + j] = x00 - x01 - x10 + x11;
          }
        }
      }
      std::swap(cur, next);
      bands *= 4;
      h = h2;
      w = w2;
    }
    for (int64_t p = 0; p < P; ++p)
      std::copy(cur.begin() + p * band, cur.begin() + (p + 1) * band, out + (p * channels_ + c) * band);
  }
}

void WaveletPackets::add(const Image& img, const std::string& name) {
  set_size(img, name);
  const int64_t per = packets() * packet_size();
  coef_.resize(static_cast<size_t>((images_ + 1) * per));
  transform(img, coef_.data() + images_ * per);
  ++images_;
}

void WaveletPackets::add(const Tensor& x, const std::string& name) {
  if (x.ndim() != 3 && x.ndim() != 4)
    throw Error("FWD: expected images (N, C, H, W) or (C, H, W), got " + x.describe());
  const int64_t n = x.ndim() == 4 ? x.size(0) : 1, per = x.numel() / std::max<int64_t>(n, 1);
  const Shape shape = {x.size(-3), x.size(-2), x.size(-1)};
  const std::vector<float> v = x.to_vector<float>();
  for (int64_t i = 0; i < n; ++i) {
    const Tensor one =
        Tensor::from_vector(std::vector<float>(v.begin() + i * per, v.begin() + (i + 1) * per), shape);
    add(from_tensor(one), name + "[" + std::to_string(i) + "]");
  }
}

void WaveletPackets::add_files(const std::vector<std::string>& files) {
  if (files.empty()) return;
  const int64_t start = images_ == 0 ? 1 : 0;
  if (start) add(read_image(files[0], 3), files[0]);  // sets the size the others must have
  const int64_t per = packets() * packet_size(), more = static_cast<int64_t>(files.size()) - start;
  coef_.resize(static_cast<size_t>((images_ + more) * per));
  std::vector<std::string> errors(static_cast<size_t>(more));
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < more; ++i) {
    try {
      const std::string& f = files[static_cast<size_t>(start + i)];
      const Image img = read_image(f, 3);
      if (img.width != width_ || img.height != height_)
        throw Error("FWD compares sets of one image size: '" + f + "' is " + size_str(img.width, img.height) +
                    " but '" + first_ + "' (" + what_ + ") is " + size_str(width_, height_));
      transform(img, coef_.data() + (images_ + i) * per);
    } catch (const std::exception& e) {
      errors[static_cast<size_t>(i)] = e.what();
    }
  }
  for (const std::string& e : errors)
    if (!e.empty()) {
      coef_.resize(static_cast<size_t>(images_ * per));
      throw Error(e);
    }
  images_ += more;
}

// --- FWD ----------------------------------------------------------------------------------------

double fwd(const WaveletPackets& a, const WaveletPackets& b, double offset) {
  for (const WaveletPackets* s : {&a, &b})
    if (s->images() < 2)
      throw Error("FWD needs 2 or more images in each set for a covariance: " + s->what() + " has " +
                  std::to_string(s->images()));
  if (a.level() != b.level())
    throw Error("FWD: the two sets have wavelet levels " + std::to_string(a.level()) + " and " +
                std::to_string(b.level()));
  if (a.width() != b.width() || a.height() != b.height())
    throw Error("FWD compares sets of one image size: " + a.what() + " are " +
                size_str(a.width(), a.height()) + " ('" + a.first() + "') but " + b.what() + " are " +
                size_str(b.width(), b.height()) + " ('" + b.first() + "')");
  const int64_t P = a.packets(), D = a.packet_size(), n1 = a.images(), n2 = b.images();
  std::vector<double> fd(static_cast<size_t>(P));
  std::vector<std::string> errors(static_cast<size_t>(P));
#pragma omp parallel for schedule(dynamic)
  for (int64_t p = 0; p < P; ++p) {
    try {
      auto rows = [p, D](const WaveletPackets& s) {
        std::vector<double> r(static_cast<size_t>(s.images() * D));  // (N, D) in [0, 1] units
        for (int64_t n = 0; n < s.images(); ++n) {
          const int32_t* c = s.coefficients(n, p);
          for (int64_t j = 0; j < D; ++j) r[n * D + j] = c[j] * s.scale();
        }
        return r;
      };
      const std::vector<double> x = rows(a), y = rows(b);
      double v = frechet_distance(x.data(), n1, y.data(), n2, D, offset);
      if (!std::isfinite(v) && offset == 0) v = frechet_distance(x.data(), n1, y.data(), n2, D, kFrechetEps);
      if (!std::isfinite(v))
        throw Error("FWD: packet " + std::to_string(p) + "'s Fréchet distance is not finite");
      fd[static_cast<size_t>(p)] = v;
    } catch (const std::exception& e) {
      errors[static_cast<size_t>(p)] = e.what();
    }
  }
  for (const std::string& e : errors)
    if (!e.empty()) throw Error(e);
  double sum = 0;
  for (double v : fd) sum += v;
  return sum / static_cast<double>(P);
}

double fwd(const std::vector<Image>& a, const std::vector<Image>& b, int level) {
  WaveletPackets pa(level, "the first set"), pb(level, "the second set");
  for (size_t i = 0; i < a.size(); ++i) pa.add(a[i], "first set image " + std::to_string(i));
  for (size_t i = 0; i < b.size(); ++i) pb.add(b[i], "second set image " + std::to_string(i));
  return fwd(pa, pb);
}

double fwd_files(const std::vector<std::string>& a, const std::string& what_a,
                 const std::vector<std::string>& b, const std::string& what_b, int level) {
  WaveletPackets pa(level, what_a), pb(level, what_b);
  pa.add_files(a);
  pb.add_files(b);
  return fwd(pa, pb);
}

}  // namespace cg::data
