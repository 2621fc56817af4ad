// Every bit of the input: 16-bit PNG read at full precision and written back exactly, TIFF through
// libtiff (8 and 16 bits, gray and RGB, strips and tiles, interleaved and planar, compressed), the
// refusals that name what a TIFF has, 16-bit resampling and tensors, and the datasets reading them.
#include <tiffio.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image.h"
#include "data/transforms.h"
#include "helpers.h"

using namespace cg;
using namespace cg::data;
namespace fs = std::filesystem;

namespace {

// A sample pattern that uses all 16 bits and differs per channel and position.
uint16_t pattern(int x, int y, int c, int bits = 16) {
  const uint32_t v =
      (static_cast<uint32_t>(x) * 40503u + static_cast<uint32_t>(y) * 9973u + c * 21011u) ^ 0x5a5au;
  return static_cast<uint16_t>(bits == 16 ? v & 0xffff : v & 0xff);
}

Image patterned16(int w, int h, int ch) {
  Image im = Image::make16(w, h, ch);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < ch; ++c) im.row16(y)[x * ch + c] = pattern(x, y, c);
  return im;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A PNG made here byte by byte (zlib for the data): 16-bit samples big-endian as the format says,
// so the decoder is checked against the format, not against our own writer.
std::vector<uint8_t> png16_by_hand(int w, int h, int ch) {
  std::vector<uint8_t> raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < ch; ++c) {
        raw.push_back(static_cast<uint8_t>(pattern(x, y, c) >> 8));
        raw.push_back(static_cast<uint8_t>(pattern(x, y, c) & 0xff));
      }
  }
  uLongf zn = compressBound(raw.size());
  std::vector<uint8_t> z(zn);
  compress(z.data(), &zn, raw.data(), raw.size());
  z.resize(zn);
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto be32 = [](std::vector<uint8_t>& v, uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
  };
  auto chunk = [&](const char* type, const std::vector<uint8_t>& data) {
    be32(out, static_cast<uint32_t>(data.size()));
    std::vector<uint8_t> td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    out.insert(out.end(), td.begin(), td.end());
    be32(out, static_cast<uint32_t>(crc32(0, td.data(), static_cast<uInt>(td.size()))));
  };
  std::vector<uint8_t> ihdr;
  be32(ihdr, static_cast<uint32_t>(w));
  be32(ihdr, static_cast<uint32_t>(h));
  ihdr.insert(ihdr.end(), {16, static_cast<uint8_t>(ch == 3 ? 2 : 0), 0, 0, 0});
  chunk("IHDR", ihdr);
  chunk("IDAT", z);
  chunk("IEND", {});
  return out;
}

// ---- TIFFs written with libtiff itself ----

struct TiffSpec {
  int w = 13, h = 11, spp = 3, bps = 16;
  uint16_t photometric = PHOTOMETRIC_RGB;
  uint16_t compression = COMPRESSION_NONE;
  uint16_t format = SAMPLEFORMAT_UINT;
  bool tiled = false, separate = false;
  uint32_t rows_per_strip = 4;
};

// Writes the pattern (every sample of spp) as the spec says; returns the path.
std::string write_tiff(const std::string& path, const TiffSpec& s) {
  TIFF* t = TIFFOpen(path.c_str(), "w");
  REQUIRE(t);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(s.w));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(s.h));
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, static_cast<uint16_t>(s.spp));
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, static_cast<uint16_t>(s.bps));
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, s.format);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s.photometric);
  TIFFSetField(t, TIFFTAG_COMPRESSION, s.compression);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, s.separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
  if ((s.photometric == PHOTOMETRIC_RGB && s.spp == 4) ||
      (s.photometric == PHOTOMETRIC_MINISBLACK && s.spp == 2)) {
    const uint16_t extra = EXTRASAMPLE_UNASSALPHA;
    TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
  }
  if (s.compression == COMPRESSION_JPEG) TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
  const int per_pixel = s.separate ? 1 : s.spp, bytes = s.bps / 8;
  auto sample = [&](int x, int y, int c) -> uint32_t {
    if (s.format == SAMPLEFORMAT_IEEEFP) return 0;
    return pattern(x, y, c, s.bps);
  };
  auto put = [&](uint8_t* dst, uint32_t v) {
    if (bytes == 1) *dst = static_cast<uint8_t>(v);
    if (bytes == 2) {
      const uint16_t w16 = static_cast<uint16_t>(v);
      std::memcpy(dst, &w16, 2);
    }
    if (bytes == 4) std::memset(dst, 0, 4);
  };
  const int planes = s.separate ? s.spp : 1;
  if (s.tiled) {
    const uint32_t tw = 16, th = 16;  // tiles are multiples of 16; the image is smaller than two
    TIFFSetField(t, TIFFTAG_TILEWIDTH, tw);
    TIFFSetField(t, TIFFTAG_TILELENGTH, th);
    std::vector<uint8_t> buf(static_cast<size_t>(tw * th * per_pixel * bytes), 0);
    for (int p = 0; p < planes; ++p)
      for (uint32_t y0 = 0; y0 < static_cast<uint32_t>(s.h); y0 += th)
        for (uint32_t x0 = 0; x0 < static_cast<uint32_t>(s.w); x0 += tw) {
          std::fill(buf.begin(), buf.end(), 0);
          for (uint32_t y = 0; y < th && y0 + y < static_cast<uint32_t>(s.h); ++y)
            for (uint32_t x = 0; x < tw && x0 + x < static_cast<uint32_t>(s.w); ++x)
              for (int k = 0; k < per_pixel; ++k)
                put(&buf[((y * tw + x) * per_pixel + k) * bytes], sample(x0 + x, y0 + y, s.separate ? p : k));
          REQUIRE(TIFFWriteTile(t, buf.data(), x0, y0, 0, static_cast<uint16_t>(p)) >= 0);
        }
  } else {
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s.rows_per_strip);
    std::vector<uint8_t> row(static_cast<size_t>(s.w * per_pixel * bytes));
    for (int p = 0; p < planes; ++p)
      for (int y = 0; y < s.h; ++y) {
        for (int x = 0; x < s.w; ++x)
          for (int k = 0; k < per_pixel; ++k)
            put(&row[(x * per_pixel + k) * bytes], sample(x, y, s.separate ? p : k));
        REQUIRE(TIFFWriteScanline(t, row.data(), static_cast<uint32_t>(y), static_cast<uint16_t>(p)) == 1);
      }
  }
  TIFFClose(t);
  return path;
}

// The samples a reader must give for the pattern written as `s`: the first `channels` of each pixel,
// inverted for min-is-white.
void check_pattern(const Image& im, const TiffSpec& s, int channels) {
  REQUIRE(im.width == s.w);
  REQUIRE(im.height == s.h);
  REQUIRE(im.channels == channels);
  const uint32_t top = s.bps == 16 ? 65535 : 255;
  int64_t wrong = 0;
  for (int y = 0; y < s.h; ++y)
    for (int x = 0; x < s.w; ++x)
      for (int c = 0; c < channels; ++c) {
        uint32_t want = pattern(x, y, c, s.bps);
        if (s.photometric == PHOTOMETRIC_MINISWHITE) want = top - want;
        const uint32_t got = im.bits == 16 ? im.row16(y)[x * channels + c] : im.row(y)[x * channels + c];
        if (im.bits == 8 && s.bps == 16) want >>= 8;
        wrong += got != want;
      }
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("16-bit PNG: read at full precision, written and read back exactly") {
  const std::string dir = test::scratch("png16");
  for (int ch : {1, 3}) {
    CAPTURE(ch);
    // a file made by hand, big-endian as the format says
    const Image by_hand = decode_image(png16_by_hand(7, 5, ch), "hand.png", ch, kMaxPixels, Depth::kFull);
    CHECK(by_hand.bits == 16);
    CHECK(by_hand.pixels16 == patterned16(7, 5, ch).pixels16);
    // Depth::k8 (the default, what scores and tools read): the high byte, as before
    const Image cut = decode_image(png16_by_hand(7, 5, ch), "hand.png", ch);
    CHECK(cut.bits == 8);
    CHECK(cut.pixels[1] == patterned16(7, 5, ch).pixels16[1] >> 8);
    // our writer, then our reader: every sample back
    const Image im = patterned16(31, 17, ch);
    write_png(dir + "/x.png", im);
    const Image back = read_image(dir + "/x.png", ch, kMaxPixels, Depth::kFull);
    CHECK(back.bits == 16);
    CHECK(back.pixels16 == im.pixels16);
    CHECK(read_bytes(dir + "/x.png") == read_bytes(dir + "/x.png"));
  }
  // a gray 16-bit file read as RGB spreads each sample; an RGB one read as gray uses PIL's weights
  const Image gray = decode_image(png16_by_hand(4, 3, 1), "g.png", 3, kMaxPixels, Depth::kFull);
  CHECK((gray.channels == 3 && gray.row16(1)[3] == pattern(1, 1, 0) && gray.row16(1)[5] == pattern(1, 1, 0)));
  const Image l = decode_image(png16_by_hand(4, 3, 3), "c.png", 1, kMaxPixels, Depth::kFull);
  const uint64_t r = pattern(2, 1, 0), g = pattern(2, 1, 1), b = pattern(2, 1, 2);
  CHECK(l.row16(1)[2] == (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

TEST_CASE("TIFF: 8 and 16 bits, gray and RGB, strips and tiles, planar, compressed, read exactly") {
  const std::string dir = test::scratch("tiff");
  int n = 0;
  for (int bps : {8, 16})
    for (bool tiled : {false, true})
      for (bool separate : {false, true})
        for (uint16_t compression : {COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE})
          for (int kind = 0; kind < 4; ++kind) {  // RGB, RGBA, gray, min-is-white gray + alpha
            TiffSpec s;
            s.bps = bps;
            s.tiled = tiled;
            s.separate = separate;
            s.compression = compression;
            s.spp = kind == 0 ? 3 : kind == 1 ? 4 : kind == 2 ? 1 : 2;
            s.photometric = kind < 2    ? PHOTOMETRIC_RGB
                            : kind == 2 ? PHOTOMETRIC_MINISBLACK
                                        : PHOTOMETRIC_MINISWHITE;
            const int channels = kind < 2 ? 3 : 1;
            const std::string path = write_tiff(dir + "/" + std::to_string(n++) + ".tif", s);
            CAPTURE(path);
            const Image full = read_image(path, channels, kMaxPixels, Depth::kFull);
            CHECK(full.bits == bps);
            check_pattern(full, s, channels);
            check_pattern(read_image(path, channels), s, channels);  // 16 -> 8: the high byte
          }
  CHECK(n == 96);
  // JPEG-compressed YCbCr comes back as RGB (lossy: close, not equal)
  TiffSpec jpeg;
  jpeg.bps = 8;
  jpeg.w = jpeg.h = 16;
  jpeg.rows_per_strip = 16;
  jpeg.compression = COMPRESSION_JPEG;
  jpeg.photometric = PHOTOMETRIC_YCBCR;
  const Image j = read_image(write_tiff(dir + "/jpeg.tif", jpeg), 3);
  CHECK((j.width == 16 && j.channels == 3 && j.bits == 8));
}

TEST_CASE("TIFF: what the reader cannot take is an error naming the file and what it has") {
  const std::string dir = test::scratch("tiff_refused");
  TiffSpec f;
  f.bps = 32;
  f.format = SAMPLEFORMAT_IEEEFP;
  const std::string fpath = write_tiff(dir + "/float.tif", f);
  CHECK_THROWS_WITH_AS(read_image(fpath, 3), doctest::Contains("float.tif"), Error);
  CHECK_THROWS_WITH_AS(read_image(fpath, 3), doctest::Contains("32-bit floating-point samples"), Error);
  TiffSpec i = TiffSpec{};
  i.format = SAMPLEFORMAT_INT;
  CHECK_THROWS_WITH_AS(read_image(write_tiff(dir + "/int.tif", i), 3), doctest::Contains("signed integer"),
                       Error);
  TiffSpec cmyk;
  cmyk.bps = 8;
  cmyk.spp = 4;
  cmyk.photometric = PHOTOMETRIC_SEPARATED;
  CHECK_THROWS_WITH_AS(read_image(write_tiff(dir + "/cmyk.tif", cmyk), 3),
                       doctest::Contains("separated (CMYK)"), Error);
  // a compression this libtiff lacks: the compression tag of a good file changed to JPEG 2000's 34712
  TiffSpec plain;
  plain.bps = 8;
  std::vector<uint8_t> bytes = read_bytes(write_tiff(dir + "/plain.tif", plain));
  bool patched = false;
  for (size_t k = 8; k + 12 <= bytes.size() && !patched; k += 2)  // the IFD entry: tag 259, SHORT, count 1
    if (bytes[k] == 3 && bytes[k + 1] == 1 && bytes[k + 2] == 3 && bytes[k + 3] == 0 && bytes[k + 4] == 1 &&
        bytes[k + 8] == 1 && bytes[k + 9] == 0) {
      bytes[k + 8] = 34712 & 0xff;
      bytes[k + 9] = 34712 >> 8;
      patched = true;
    }
  REQUIRE(patched);
  CHECK_THROWS_WITH_AS(decode_image(bytes, "j2k.tif", 3),
                       doctest::Contains("is not available in this build of libtiff"), Error);
  // truncated: the strips end early
  std::vector<uint8_t> cut = read_bytes(write_tiff(dir + "/cut.tif", TiffSpec{}));
  cut.resize(cut.size() / 3);
  CHECK_THROWS_WITH_AS(decode_image(cut, "cut.tif", 3), doctest::Contains("cut.tif"), Error);
  // more pixels than allowed: refused from the header
  CHECK_THROWS_WITH_AS(read_image(fpath, 3, 100), doctest::Contains("more than the limit of 100"), Error);
}

TEST_CASE("16-bit resampling: PIL's bicubic taps in double - 8-bit results times 257 within a level") {
  Generator g(3);
  Image im8(23, 17, 3);
  im8.pixels.resize(im8.samples());
  for (uint8_t& p : im8.pixels) p = static_cast<uint8_t>(g.below(256));
  Image im16 = Image::make16(23, 17, 3);
  for (size_t i = 0; i < im8.pixels.size(); ++i)
    im16.pixels16[i] = static_cast<uint16_t>(im8.pixels[i] * 257);
  for (const std::pair<int, int>& size : {std::pair{40, 31}, std::pair{9, 7}, std::pair{23, 30}}) {
    const int w = size.first, h = size.second;  // not a structured binding: doctest captures w
    CAPTURE(w);
    const Image a = resize_bicubic(im8, w, h), b = resize_bicubic(im16, w, h);
    REQUIRE(b.bits == 16);
    int worst = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<int>(std::lround(b.pixels16[i] / 257.0)) - a.pixels[i]));
    CHECK(worst <= 1);
  }
  // a flat image stays flat to the sample, and crop and flip move 16-bit samples as they move 8-bit ones
  Image flat = Image::make16(10, 6, 1);
  std::fill(flat.pixels16.begin(), flat.pixels16.end(), 54321);
  for (uint16_t v : resize_bicubic(flat, 17, 4).pixels16) CHECK(v == 54321);
  const Image c = crop(im16, 3, 2, 5, 4), f = flip_horizontal(im16);
  CHECK(c.row16(1)[2 * 3 + 1] == im16.row16(3)[5 * 3 + 1]);
  CHECK(f.row16(4)[0] == im16.row16(4)[22 * 3]);
}

TEST_CASE("16-bit tensors: 0..65535 to [-1, 1] as 0..255 - tensor2im with 65535 - gray stays gray") {
  Image im = Image::make16(3, 1, 1);
  im.pixels16 = {0, 65535, 1000};
  const auto v = to_tensor(im).to_vector<float>();
  CHECK(v[0] == -1.0f);
  CHECK(v[1] == 1.0f);
  CHECK(v[2] == (1000.0f / 65535.0f - 0.5f) / 0.5f);  // the same float32 operations as for 8 bits
  const Image back = from_tensor(to_tensor(im), 16);
  CHECK((back.bits == 16 && back.channels == 1));
  CHECK(back.pixels16[0] == 0);
  CHECK(back.pixels16[1] == 65535);
  CHECK(std::abs(static_cast<int>(back.pixels16[2]) - 1000) <= 1);  // tensor2im truncates
  CHECK(from_tensor(to_tensor(im)).channels == 3);  // 8-bit: gray saved as RGB, as the official
}

TEST_CASE("datasets read 16-bit PNG and TIFF at full precision") {
  const std::string root = test::scratch("data16");
  fs::create_directories(root + "/testA");
  const Image im = patterned16(12, 8, 3);
  write_png(root + "/testA/a.png", im);
  TiffSpec s;
  s.w = 12;
  s.h = 8;
  write_tiff(root + "/testA/b.tiff", s);
  SingleDataset::Options o;
  o.dataroot = root + "/testA";
  o.preprocess.mode = "none";
  o.preprocess.flip = false;
  SingleDataset ds(o);
  REQUIRE(ds.size() == 2);
  Generator g(1);
  for (int64_t i = 0; i < 2; ++i) {
    const auto v = ds.get(i, g).A.to_vector<float>();  // (3, 8, 12)
    const float want = (static_cast<float>(pattern(5, 3, 1)) / 65535.0f - 0.5f) / 0.5f;
    CHECK(v[static_cast<size_t>((1 * 8 + 3) * 12 + 5)] == want);
  }
}

TEST_CASE("TIFF: the committed seeds read as PIL reads them") {
  // fuzz/corpus/tiff holds files libtiff wrote with the pattern above; Pillow 9.4 reads
  // gray16_tiles_lzw.tif (I;16) and rgb8_strips.tif (RGB) as exactly that pattern too (checked when
  // they were committed), so this reader agrees with an independent one on them.
  const std::string dir = std::string(CG_SOURCE_DIR) + "/fuzz/corpus/tiff/";
  TiffSpec gray;
  gray.spp = 1;
  gray.photometric = PHOTOMETRIC_MINISBLACK;
  check_pattern(read_image(dir + "gray16_tiles_lzw.tif", 1, kMaxPixels, Depth::kFull), gray, 1);
  TiffSpec rgb;
  rgb.bps = 8;
  check_pattern(read_image(dir + "rgb8_strips.tif", 3), rgb, 3);
  CHECK_THROWS_WITH_AS(read_image(dir + "float32.tif", 3), doctest::Contains("floating-point"), Error);
}
