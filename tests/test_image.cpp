// Image IO and pixel operations against PIL (what the official pipeline runs), bit for bit.
#include <zlib.h>
#include <cstdio>
#include <fstream>

#include "data/files.h"
#include "data/image.h"
#include "helpers.h"

using namespace cg;
using namespace cg::data;

namespace {
// (H, W, C) float32 of 0..255 from the fixture -> Image
Image from_fixture(const Tensor& t) {
  Image img{static_cast<int>(t.size(1)),
            static_cast<int>(t.size(0)),
            t.ndim() == 3 ? static_cast<int>(t.size(2)) : 1,
            {}};
  for (float v : t.to_vector<float>()) img.pixels.push_back(static_cast<uint8_t>(v));
  return img;
}

// Number of differing bytes (0 means identical), with the shapes checked first.
int64_t differences(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height || a.channels != b.channels) return -1;
  int64_t n = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) n += a.pixels[i] != b.pixels[i];
  return n;
}

std::string fixture_path(const std::string& name) { return std::string(CG_FIXTURE_DIR) + "/" + name; }
std::string temp_path(const std::string& name) { return std::string(CG_BINARY_DIR) + "/" + name; }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
}  // namespace

TEST_CASE("bicubic resize equals PIL's byte for byte - up - down - one axis - identity") {
  const auto fx = test::fixture("image.safetensors");
  const Image src = from_fixture(fx.tensors.at("src"));
  int sizes = 0;
  for (const auto& kv : fx.tensors) {  // (no structured binding: clang 14 cannot CAPTURE one)
    const std::string& key = kv.first;
    const Tensor& t = kv.second;
    if (key.rfind("resize.", 0) != 0) continue;
    CAPTURE(key);
    const Image expected = from_fixture(t);
    CHECK(differences(resize_bicubic(src, expected.width, expected.height), expected) == 0);
    ++sizes;
  }
  CHECK(sizes == 7);
  CHECK(differences(to_gray(src), from_fixture(fx.tensors.at("gray"))) == 0);
}

TEST_CASE("PNG and JPEG files decode to PIL's pixels - palette - RGBA - gray - gray+alpha - 16 bits") {
  const auto fx = test::fixture("image.safetensors");
  int files = 0;
  for (const auto& [key, t] : fx.tensors) {
    if (key.rfind("decoded.", 0) != 0) continue;
    const std::string file = key.substr(8);
    CAPTURE(file);
    const Image expected = from_fixture(t);
    CHECK(differences(read_image(fixture_path(file), expected.channels), expected) == 0);
    ++files;
  }
  CHECK(files == 7);  // img_rgb16.png: each 16-bit sample's high byte, as PIL (not rounded)
  // 1-channel reading of an RGB file applies PIL's luma weights to the decoded RGB
  const Image rgb = read_image(fixture_path("img_rgb.jpg"), 3);
  CHECK(differences(read_image(fixture_path("img_rgb.jpg"), 1), to_gray(rgb)) == 0);
}

TEST_CASE("CMYK JPEG decodes to PIL's convert('RGB') and convert('L') exactly") {
  // img_cmyk.jpg is PIL's own CMYK JPEG (Adobe marker, inverted samples) whose decoded samples reach
  // 0 and 255 in every channel: a missing inversion or another rounding of PIL's cmyk2rgb shows here.
  // Both sides decode with the same libjpeg-turbo (Debian's PIL links the system library), so the
  // comparison is exact.
  const auto fx = test::fixture("image.safetensors");
  const std::string path = fixture_path("img_cmyk.jpg");
  const Image rgb = read_image(path, 3);
  const Image expected_rgb = from_fixture(fx.tensors.at("decoded.img_cmyk.jpg"));
  REQUIRE(expected_rgb.channels == 3);
  CHECK(differences(rgb, expected_rgb) == 0);
  const Image expected_gray = from_fixture(fx.tensors.at("decoded_gray.img_cmyk.jpg"));
  REQUIRE(expected_gray.channels == 1);
  CHECK(differences(read_image(path, 1), expected_gray) == 0);
}

TEST_CASE("PNG round trip and atomic write") {
  const auto fx = test::fixture("image.safetensors");
  const Image src = from_fixture(fx.tensors.at("src"));
  const std::string path = temp_path("roundtrip.png");
  write_png(path, src);
  CHECK(differences(read_image(path, 3), src) == 0);
  const Image g = to_gray(src);
  write_png(path, g);
  CHECK(differences(read_image(path, 1), g) == 0);
  std::ifstream tmp(path + ".tmp");
  CHECK_FALSE(tmp.good());  // no temporary left behind
  std::remove(path.c_str());
}

TEST_CASE("an atomic write starts afresh over a stale temporary file left by a crash") {
  const std::string path = temp_path("stale.html");
  std::ofstream(path + ".tmp", std::ios::binary) << std::string(5000, 'x');  // a crash's half file
  data::write_file_atomically(path, "<p>new</p>");
  CHECK(test::read_file(path) == "<p>new</p>");
  CHECK_FALSE(std::ifstream(path + ".tmp").good());
  std::remove(path.c_str());
}

TEST_CASE(
    "an atomic write whose rename fails names both paths - leaves no temporary - keeps what was there") {
  // the name is taken by a folder that is not empty: the temporary is written, the rename refused
  const std::string path = temp_path("taken_by_a_folder");
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path + "/inside");
  CHECK_THROWS_WITH_AS(data::write_file_atomically(path, "bytes"),
                       doctest::Contains(("cannot rename '" + path + ".tmp' to '" + path + "'").c_str()),
                       Error);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK(std::filesystem::is_directory(path + "/inside"));
  std::filesystem::remove_all(path);
}

TEST_CASE("corrupt - truncated - empty and non-image files fail with the file's name") {
  // (the JPEG is cut inside its entropy-coded scan, after the start-of-scan marker FF DA)
  const std::string jpg = read_bytes(fixture_path("img_rgb.jpg")),
                    png = read_bytes(fixture_path("img_rgba.png"));
  const std::string dir = std::string(CG_BINARY_DIR);
  struct Case {
    std::string name, bytes, why;
  };
  for (const Case& c :
       {Case{"trunc.jpg", jpg.substr(0, (jpg.find("\xFF\xDA") + jpg.size()) / 2), "truncated"},
        Case{"trunc.png", png.substr(0, png.size() - 300), "truncated"},
        Case{"garbage.jpg", std::string("\xFF\xD8\xFF") + std::string(200, 'x'), "corrupt JPEG"},
        Case{"bad_crc.png", png.substr(0, 40) + "XXXX" + png.substr(44), "corrupt"},
        Case{"empty.png", "", "empty"}, Case{"text.png", "hello, not an image", "not a PNG, JPEG or TIFF"}}) {
    CAPTURE(c.name);
    const std::string path = dir + "/" + c.name;
    write_bytes(path, c.bytes);
    try {
      read_image(path, 3);
      FAIL("read a bad image without error");
    } catch (const Error& e) {
      const std::string m = e.what();
      CHECK(m.find(path) != std::string::npos);
      CHECK_MESSAGE(m.find(c.why) != std::string::npos, m);
    }
    std::remove(path.c_str());
  }
  CHECK_THROWS_WITH_AS(read_image(dir + "/does_not_exist.png", 3), doctest::Contains("does_not_exist.png"),
                       Error);
}

TEST_CASE("to_tensor maps 0..255 to [-1 1] as ToTensor + Normalize - from_tensor inverts it") {
  Image img{2, 1, 3, {0, 128, 255, 1, 2, 3}};
  const Tensor t = to_tensor(img);
  CHECK(t.shape() == Shape{3, 1, 2});
  const auto v = t.to_vector<float>();
  CHECK(v[0] == -1.0f);                            // c0 x0: 0
  CHECK(v[1] == (1.0f / 255.0f - 0.5f) / 0.5f);    // c0 x1: 1
  CHECK(v[4] == 1.0f);                             // c2 x0: 255
  CHECK(v[2] == (128.0f / 255.0f - 0.5f) / 0.5f);  // c1 x0: 128
  // The official tensor2im truncates (x + 1) / 2 * 255, which can land just below an integer:
  // a round trip may lose 1, never more; 0 and 255 are exact.
  const Image back = from_tensor(t);
  for (size_t i = 0; i < img.pixels.size(); ++i) CHECK(std::abs(back.pixels[i] - img.pixels[i]) <= 1);
  CHECK(back.pixels[0] == 0);
  CHECK(back.pixels[2] == 255);
  const Image g = from_tensor(Tensor::full({1, 1, 2, 2}, 0.0));
  CHECK(g.channels == 3);     // gray results are saved as RGB
  CHECK(g.pixels[0] == 127);  // (0 + 1) / 2 * 255 = 127.5, truncated
}

TEST_CASE("crop and flip") {
  Image img{3, 2, 1, {1, 2, 3, 4, 5, 6}};
  CHECK(flip_horizontal(img).pixels == std::vector<uint8_t>{3, 2, 1, 6, 5, 4});
  CHECK(crop(img, 1, 1, 2, 1).pixels == std::vector<uint8_t>{5, 6});
  CHECK_THROWS_WITH_AS(crop(img, 2, 0, 2, 1), doctest::Contains("does not fit a 3x2 image"), Error);
}

namespace {
// `png` with its IHDR claiming width x height (its CRC recomputed, so only the size is a lie).
std::string png_claiming(std::string png, uint32_t width, uint32_t height) {
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<char>(width >> (24 - 8 * i));
    png[20 + i] = static_cast<char>(height >> (24 - 8 * i));
  }
  const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17));
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
  return png;
}
// `jpg` with its start-of-frame header (baseline FFC0 or progressive FFC2) claiming width x height.
std::string jpeg_claiming(std::string jpg, uint16_t width, uint16_t height) {
  size_t sof = jpg.find("\xFF\xC0");
  if (sof == std::string::npos) sof = jpg.find("\xFF\xC2");
  REQUIRE(sof != std::string::npos);
  // FF Cx, length (2), precision (1), height (2), width (2)
  jpg[sof + 5] = static_cast<char>(height >> 8), jpg[sof + 6] = static_cast<char>(height & 255);
  jpg[sof + 7] = static_cast<char>(width >> 8), jpg[sof + 8] = static_cast<char>(width & 255);
  return jpg;
}
}  // namespace

TEST_CASE("a header claiming more pixels than the limit is refused before decoding - naming the file") {
  const std::string jpg = read_bytes(fixture_path("img_rgb.jpg")),
                    png = read_bytes(fixture_path("img_rgba.png"));
  const std::string dir = std::string(CG_BINARY_DIR);
  // PIL's refusal point, 2 * Image.MAX_IMAGE_PIXELS
  CHECK(kMaxPixels == 178956970);
  struct Case {
    std::string name, bytes, claim;
  };
  // the sizes a forged file was seen to claim: 24 GB, bad_alloc, 2.6 GB before this check existed
  for (const Case& c :
       {Case{"huge.jpg", jpeg_claiming(jpg, 65500, 65500), "65500x65500 = 4290250000 pixels"},
        Case{"huge.png", png_claiming(png, 100000, 100000), "100000x100000 = 10000000000 pixels"},
        Case{"big.png", png_claiming(png, 30000, 30000), "30000x30000 = 900000000 pixels"}}) {
    CAPTURE(c.name);
    const std::string path = dir + "/" + c.name;
    write_bytes(path, c.bytes);
    try {
      read_image(path, 3);
      FAIL("decoded an image over the pixel limit");
    } catch (const Error& e) {
      const std::string m = e.what();
      CHECK_MESSAGE(m.find(path) != std::string::npos, m);
      CHECK_MESSAGE(m.find(c.claim) != std::string::npos, m);
      CHECK_MESSAGE(m.find("more than the limit of 178956970 (--max_pixels") != std::string::npos, m);
    }
    std::remove(path.c_str());
  }
  // The boundary: exactly the limit decodes, one pixel less refuses.
  for (const std::string name : {"img_rgb.jpg", "img_rgba.png"}) {
    CAPTURE(name);
    const Image img = read_image(fixture_path(name), 3);
    const int64_t n = int64_t{img.width} * img.height;
    CHECK(differences(read_image(fixture_path(name), 3, n), img) == 0);
    CHECK_THROWS_WITH_AS(read_image(fixture_path(name), 3, n - 1),
                         doctest::Contains(("more than the limit of " + std::to_string(n - 1)).c_str()),
                         Error);
  }
}
