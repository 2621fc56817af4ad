// The pixel operations of the official preprocessing, as PIL does them (bicubic resampling, crop,
// flip, RGB -> L) and the conversions to and from tensors; decoding and encoding files is
// data/codecs.cpp's.
#include "data/image.h"

#include <cmath>
#include <cstring>

namespace cg::data {

namespace {

// ---- PIL's resampling (Resample.c), for 8-bit images ----

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// For each output index: the first input index, the number of taps, and the weights: normalised
// doubles (`w`, what the 16-bit passes use) and PIL's fixed point (`kk`, the 8-bit passes).
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // (out, 2): xmin, count
  std::vector<int32_t> kk;  // (out, ksize)
  std::vector<double> w;    // (out, ksize)
};

Coeffs precompute(int in_size, int out_size) {
  const float in0 = 0.0f, in1 = static_cast<float>(in_size);
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 2.0 * filterscale;  // bicubic support 2, widened when shrinking
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.kk.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  c.w.assign(static_cast<size_t>(out_size) * c.ksize, 0.0);
  std::vector<double> k(static_cast<size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = bicubic((x + xmin - center + 0.5) * ss);
      k[static_cast<size_t>(x)] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      double v = k[static_cast<size_t>(x)];
      if (ww != 0.0) v /= ww;
      c.w[static_cast<size_t>(xx) * c.ksize + x] = v;
      // to fixed point, rounding half away from zero as PIL's normalize_coeffs_8bpc
      c.kk[static_cast<size_t>(xx) * c.ksize + x] =
          v < 0 ? static_cast<int32_t>(-0.5 + v * (1 << kPrecisionBits))
                : static_cast<int32_t>(0.5 + v * (1 << kPrecisionBits));
    }
    c.bounds[static_cast<size_t>(xx) * 2] = xmin;
    c.bounds[static_cast<size_t>(xx) * 2 + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int64_t in) {
  if (in >= (int64_t{1} << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<uint8_t>(in >> kPrecisionBits);
}

Image resample_horizontal(const Image& in, int width, const Coeffs& c, int row0, int rows) {
  Image out{width, rows, in.channels, {}};
  out.pixels.resize(static_cast<size_t>(width) * rows * in.channels);
  const int ch = in.channels;
  for (int yy = 0; yy < rows; ++yy) {
    const uint8_t* src = in.row(yy + row0);
    uint8_t* dst = out.row(yy);
    for (int xx = 0; xx < width; ++xx) {
      const int xmin = c.bounds[static_cast<size_t>(xx) * 2],
                xmax = c.bounds[static_cast<size_t>(xx) * 2 + 1];
      const int32_t* k = &c.kk[static_cast<size_t>(xx) * c.ksize];
      for (int b = 0; b < ch; ++b) {
        int32_t ss = 1 << (kPrecisionBits - 1);  // PIL accumulates in 32-bit ints
        for (int x = 0; x < xmax; ++x) ss += src[(x + xmin) * ch + b] * k[x];
        dst[xx * ch + b] = clip8(ss);
      }
    }
  }
  return out;
}

Image resample_vertical(const Image& in, int height, const Coeffs& c, int row_shift) {
  Image out{in.width, height, in.channels, {}};
  out.pixels.resize(static_cast<size_t>(in.width) * height * in.channels);
  const int ch = in.channels, rowlen = in.width * ch;
  for (int yy = 0; yy < height; ++yy) {
    const int ymin = c.bounds[static_cast<size_t>(yy) * 2] - row_shift,
              ymax = c.bounds[static_cast<size_t>(yy) * 2 + 1];
    const int32_t* k = &c.kk[static_cast<size_t>(yy) * c.ksize];
    uint8_t* dst = out.row(yy);
    for (int i = 0; i < rowlen; ++i) {
      int32_t ss = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < ymax; ++y) ss += in.row(y + ymin)[i] * k[y];
      dst[i] = clip8(ss);
    }
  }
  return out;
}

// ---- the same passes on 16-bit samples, in double (data/image.h states the rule) ----

uint16_t round16(double v) {
  v = std::floor(v + 0.5);
  return v <= 0.0 ? 0 : v >= 65535.0 ? 65535 : static_cast<uint16_t>(v);
}

Image resample16_horizontal(const Image& in, int width, const Coeffs& c, int row0, int rows) {
  Image out = Image::make16(width, rows, in.channels);
  const int ch = in.channels;
  for (int yy = 0; yy < rows; ++yy) {
    const uint16_t* src = in.row16(yy + row0);
    uint16_t* dst = out.row16(yy);
    for (int xx = 0; xx < width; ++xx) {
      const int xmin = c.bounds[static_cast<size_t>(xx) * 2],
                xmax = c.bounds[static_cast<size_t>(xx) * 2 + 1];
      const double* k = &c.w[static_cast<size_t>(xx) * c.ksize];
      for (int b = 0; b < ch; ++b) {
        double ss = 0.0;
        for (int x = 0; x < xmax; ++x) ss += src[(x + xmin) * ch + b] * k[x];
        dst[xx * ch + b] = round16(ss);
      }
    }
  }
  return out;
}

Image resample16_vertical(const Image& in, int height, const Coeffs& c, int row_shift) {
  Image out = Image::make16(in.width, height, in.channels);
  const int rowlen = in.width * in.channels;
  for (int yy = 0; yy < height; ++yy) {
    const int ymin = c.bounds[static_cast<size_t>(yy) * 2] - row_shift,
              ymax = c.bounds[static_cast<size_t>(yy) * 2 + 1];
    const double* k = &c.w[static_cast<size_t>(yy) * c.ksize];
    uint16_t* dst = out.row16(yy);
    for (int i = 0; i < rowlen; ++i) {
      double ss = 0.0;
      for (int y = 0; y < ymax; ++y) ss += in.row16(y + ymin)[i] * k[y];
      dst[i] = round16(ss);
    }
  }
  return out;
}

// The width x height block of `img` from row y0 whose column x is img's column source(x0 + x), for
// 8- and 16-bit samples alike (crop and flip).
template <class F>
Image remap_columns(const Image& img, int x0, int y0, int width, int height, F source) {
  Image out(width, height, img.channels);
  out.bits = img.bits;
  const int ch = img.channels;
  auto copy = [&](auto* dst_rows, const auto* src_rows) {
    for (int r = 0; r < height; ++r)
      for (int x = 0; x < width; ++x)
        for (int b = 0; b < ch; ++b)
          dst_rows[(static_cast<size_t>(r) * width + x) * ch + b] =
              src_rows[(static_cast<size_t>(y0 + r) * img.width + source(x0 + x)) * ch + b];
  };
  if (img.bits == 16) {
    out.pixels16.resize(out.samples());
    copy(out.pixels16.data(), img.pixels16.data());
  } else {
    out.pixels.resize(out.samples());
    copy(out.pixels.data(), img.pixels.data());
  }
  return out;
}

}  // namespace

Image resize_bicubic(const Image& img, int width, int height) {
  if (width <= 0 || height <= 0)
    throw Error("resize to " + std::to_string(width) + "x" + std::to_string(height) +
                ": sizes must be positive");
  if (width == img.width && height == img.height) return img;
  const Coeffs ch = precompute(img.width, width), cv = precompute(img.height, height);
  const bool wide = img.bits == 16;
  auto horizontal = wide ? resample16_horizontal : resample_horizontal;
  auto vertical = wide ? resample16_vertical : resample_vertical;
  // The horizontal pass only needs the rows the vertical pass will read.
  const int first = cv.bounds[0];
  const int last =
      cv.bounds[static_cast<size_t>(height) * 2 - 2] + cv.bounds[static_cast<size_t>(height) * 2 - 1];
  if (width != img.width) {
    const Image tmp = horizontal(img, width, ch, first, last - first);
    if (height == img.height) return tmp;  // first = 0 and all rows kept
    return vertical(tmp, height, cv, first);
  }
  return vertical(img, height, cv, 0);
}

Image crop(const Image& img, int x, int y, int width, int height) {
  if (x < 0 || y < 0 || width < 0 || height < 0 || x + width > img.width || y + height > img.height)
    throw Error("crop (" + std::to_string(x) + ", " + std::to_string(y) + ", " + std::to_string(width) + "x" +
                std::to_string(height) + ") does not fit a " + std::to_string(img.width) + "x" +
                std::to_string(img.height) + " image");
  if (img.bits == 16) return remap_columns(img, x, y, width, height, [](int c) { return c; });
  Image out{width, height, img.channels, {}};
  out.pixels.resize(static_cast<size_t>(width) * height * img.channels);
  for (int r = 0; r < height; ++r)
    std::memcpy(out.row(r), img.row(y + r) + static_cast<size_t>(x) * img.channels,
                static_cast<size_t>(width) * img.channels);
  return out;
}

Image flip_horizontal(const Image& img) {
  if (img.bits == 16)
    return remap_columns(img, 0, 0, img.width, img.height, [&](int c) { return img.width - 1 - c; });
  Image out = img;
  const int ch = img.channels;
  for (int r = 0; r < img.height; ++r) {
    const uint8_t* s = img.row(r);
    uint8_t* d = out.row(r);
    for (int x = 0; x < img.width; ++x)
      for (int b = 0; b < ch; ++b) d[x * ch + b] = s[(img.width - 1 - x) * ch + b];
  }
  return out;
}

Image to_gray(const Image& img) {
  if (img.channels == 1) return img;
  Image out(img.width, img.height, 1);
  out.bits = img.bits;
  if (img.bits == 16) {
    out.pixels16.resize(out.samples());
    for (size_t i = 0; i < out.pixels16.size(); ++i) {
      const uint16_t* p = &img.pixels16[3 * i];
      out.pixels16[i] = static_cast<uint16_t>(
          (p[0] * uint64_t{19595} + p[1] * uint64_t{38470} + p[2] * uint64_t{7471} + 0x8000u) >> 16);
    }
    return out;
  }
  out.pixels.resize(static_cast<size_t>(img.width) * img.height);
  for (size_t i = 0; i < out.pixels.size(); ++i) {
    const uint8_t* p = &img.pixels[3 * i];
    out.pixels[i] = static_cast<uint8_t>((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
  }
  return out;
}

Tensor to_tensor(const Image& img) {
  std::vector<float> v(img.samples());  // (C, H, W)
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  const bool wide = img.bits == 16;
  const float top = wide ? 65535.0f : 255.0f;
  for (int c = 0; c < img.channels; ++c)
    for (size_t i = 0; i < plane; ++i) {
      const size_t k = i * img.channels + c;
      const float x = static_cast<float>(wide ? img.pixels16[k] : img.pixels[k]) / top;  // ToTensor
      v[c * plane + i] = (x - 0.5f) / 0.5f;                                              // Normalize
    }
  return Tensor::from_vector(v, {img.channels, img.height, img.width});
}

Image from_tensor(const Tensor& x, int bits) {
  const Tensor t = x.ndim() == 4 ? x.reshape({x.size(1), x.size(2), x.size(3)}) : x;
  if (t.ndim() != 3 || (t.size(0) != 1 && t.size(0) != 3))
    throw Error("from_tensor: expected (C, H, W) or (1, C, H, W) with C = 1 or 3, got " + x.describe());
  if (bits != 8 && bits != 16) throw Error("from_tensor: 8 or 16 bits, not " + std::to_string(bits));
  const auto v = t.to_vector<float>();
  const int C = static_cast<int>(t.size(0)), H = static_cast<int>(t.size(1)), W = static_cast<int>(t.size(2));
  const size_t plane = static_cast<size_t>(W) * H;
  if (bits == 16) {  // tensor2im with 65535 for 255; gray stays gray
    Image img = Image::make16(W, H, C);
    for (size_t i = 0; i < plane; ++i)
      for (int c = 0; c < C; ++c) {
        float f = (v[c * plane + i] + 1.0f) / 2.0f * 65535.0f;
        f = std::min(65535.0f, std::max(0.0f, f));
        img.pixels16[i * C + c] = static_cast<uint16_t>(f);  // truncation, as numpy's astype
      }
    return img;
  }
  Image img{W, H, 3, {}};  // gray results are saved as RGB, as the official tensor2im does
  img.pixels.resize(static_cast<size_t>(W) * H * 3);
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) {
      float f = (v[(C == 1 ? 0 : c) * plane + i] + 1.0f) / 2.0f * 255.0f;
      f = std::min(255.0f, std::max(0.0f, f));
      img.pixels[i * 3 + c] = static_cast<uint8_t>(f);  // truncation, as numpy's astype(uint8)
    }
  return img;
}

}  // namespace cg::data
