// The random preprocessing and sampling, statistically: crop offsets over exactly the valid range,
// the flip rate, B drawn uniformly, each epoch a permutation; and the resize each preprocess mode
// applies. Every statistical bound is 4 standard deviations of the count, with fixed seeds, so a
// wrong rate or range fails while the right one passes on every run.
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "data/dataset.h"
#include "helpers.h"

using namespace cg;
using namespace cg::data;
using cg::test::make_dataset;
using cg::test::scratch;

namespace {

// An image whose pixel (x, y) is (x, y, 7): a crop's first pixel tells its offset, a flip shows as
// a first pixel from the right edge.
Image coordinates(int width, int height) {
  Image img{width, height, 3, {}};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (uint8_t v : {static_cast<uint8_t>(x), static_cast<uint8_t>(y), uint8_t{7}})
        img.pixels.push_back(v);
  return img;
}

// The 0..255 value a [-1, 1] pixel came from.
int byte_of(float v) { return static_cast<int>(std::lround((v + 1.0f) / 2.0f * 255.0f)); }

// `count` of `n` draws is what probability `p` gives, within 4 standard deviations.
bool plausible(int64_t count, int64_t n, double p) {
  return std::abs(static_cast<double>(count) - n * p) <= 4.0 * std::sqrt(n * p * (1.0 - p));
}

}  // namespace

TEST_CASE("random crops take every valid offset - uniformly - and none outside the image") {
  // 40x36 cropped to 32: left in 0..8, top in 0..4, both ends included (torchvision's RandomCrop)
  const Image img = coordinates(40, 36);
  const Preprocess p{"crop", 286, 32, false, 3};
  Generator g(21);
  const int n = 9000;
  std::map<int, int> lefts, tops;
  for (int i = 0; i < n; ++i) {
    const std::vector<float> t = transform(img, p, g, "coords.png").to_vector<float>();  // (3, 32, 32)
    ++lefts[byte_of(t[0])];
    ++tops[byte_of(t[32 * 32])];
  }
  CHECK(lefts.size() == 9);
  CHECK(lefts.begin()->first == 0);
  CHECK(lefts.rbegin()->first == 8);
  // (pairs, not structured bindings: clang 14 cannot capture those in CHECK_MESSAGE)
  for (const auto& kv : lefts) CHECK_MESSAGE(plausible(kv.second, n, 1.0 / 9), kv.first << ": " << kv.second);
  CHECK(tops.size() == 5);
  CHECK(tops.begin()->first == 0);
  CHECK(tops.rbegin()->first == 4);
  for (const auto& kv : tops) CHECK_MESSAGE(plausible(kv.second, n, 1.0 / 5), kv.first << ": " << kv.second);
  // one side exactly the crop's size: the other side still draws over its whole range (as when
  // scale_width_and_crop has load_size == crop_size)
  for (const auto& wh : {std::pair<int, int>{32, 36}, std::pair<int, int>{40, 32}}) {
    CAPTURE(wh.first);
    std::set<int> ls, ts;
    for (int i = 0; i < 400; ++i) {
      const std::vector<float> t =
          transform(coordinates(wh.first, wh.second), p, g, "side.png").to_vector<float>();
      ls.insert(byte_of(t[0]));
      ts.insert(byte_of(t[32 * 32]));
    }
    CHECK(ls.size() == static_cast<size_t>(wh.first - 32 + 1));
    CHECK(ts.size() == static_cast<size_t>(wh.second - 32 + 1));
  }
  // an image exactly the crop's size is taken whole, with no draw
  Generator a(5), b(5);
  CHECK(transform(coordinates(32, 32), p, a, "fit.png").to_vector<float>()[0] == -1.0f);
  CHECK(a.uniform() == b.uniform());
}

TEST_CASE("a flip happens with probability one half - mirrors the image - and never without --flip") {
  const Image img = coordinates(8, 4);
  Generator g(22);
  const int n = 4000;
  int flipped = 0;
  for (int i = 0; i < n; ++i) {
    const std::vector<float> t = transform(img, {"none", 286, 256, true, 3}, g, "c.png").to_vector<float>();
    const int first = byte_of(t[0]), last = byte_of(t[7]);
    REQUIRE(((first == 0 && last == 7) || (first == 7 && last == 0)));
    flipped += first == 7;
  }
  CHECK_MESSAGE(plausible(flipped, n, 0.5), flipped);
  for (int i = 0; i < 200; ++i)
    CHECK(byte_of(transform(img, {"none", 286, 256, false, 3}, g, "c.png").to_vector<float>()[0]) == 0);
}

TEST_CASE("B is drawn uniformly for each sample - or taken in order with serial_batches") {
  const std::string root = make_dataset(scratch("b_draws"), 1, 5, 8, 8, 4);
  UnalignedDataset::Options o;
  o.dataroot = root;
  o.preprocess = {"none", 286, 256, false, 3};
  const UnalignedDataset ds(o);
  Generator g(23);
  const int n = 5000;
  std::map<std::string, int> drawn;
  for (int i = 0; i < n; ++i) ++drawn[ds.get(i, g).B_path];
  CHECK(drawn.size() == 5);
  for (const auto& kv : drawn) CHECK_MESSAGE(plausible(kv.second, n, 0.2), kv.first << ": " << kv.second);
  o.serial_batches = true;
  const UnalignedDataset serial(o);
  for (int i = 0; i < 10; ++i)
    CHECK(serial.get(i, g).B_path == root + "/trainB/" + std::to_string(i % 5) + "_B.png");
}

TEST_CASE("each epoch visits every sample once - shuffled anew each epoch - in order without shuffle") {
  const std::string root = make_dataset(scratch("epochs"), 12, 3, 8, 8, 5);
  UnalignedDataset::Options o;
  o.dataroot = root;
  o.preprocess = {"none", 286, 256, false, 3};
  const UnalignedDataset ds(o);
  auto epoch_order = [&](Loader& loader, int epoch) {
    std::vector<std::string> order;
    loader.start_epoch(epoch, 0);
    Loader::Batch b;
    while (loader.next(b)) order.insert(order.end(), b.A_paths.begin(), b.A_paths.end());
    return order;
  };
  Loader shuffled(ds, 2, true, 2, 7);
  const auto e1 = epoch_order(shuffled, 1), e2 = epoch_order(shuffled, 2);
  CHECK(e1.size() == 12);
  CHECK(std::set<std::string>(e1.begin(), e1.end()).size() == 12);
  CHECK(std::set<std::string>(e2.begin(), e2.end()).size() == 12);
  CHECK(e1 != e2);
  std::vector<std::string> sorted = e1;
  std::sort(sorted.begin(), sorted.end());
  CHECK(e1 != sorted);
  Loader in_order(ds, 2, false, 2, 7);
  const auto s1 = epoch_order(in_order, 1);
  Generator any(0);
  for (size_t i = 0; i < s1.size(); ++i) CHECK(s1[i] == ds.get(static_cast<int64_t>(i), any).A_path);
}

TEST_CASE("each preprocess mode resizes with PIL's bicubic to the official size - gray before resizing") {
  Generator noise(24);
  Image img{37, 29, 3, {}};
  for (int i = 0; i < 37 * 29 * 3; ++i) img.pixels.push_back(static_cast<uint8_t>(noise.below(256)));
  Generator g(1);
  // resize_and_crop: load_size x load_size (here the crop takes it whole)
  CHECK(test::identical(transform(img, {"resize_and_crop", 32, 32, false, 3}, g, "i"),
                        to_tensor(resize_bicubic(img, 32, 32))));
  // scale_width: 24 wide, int(max(24 * 29 / 37, crop)) = int(18.8) = 18 high (truncated, not rounded)
  CHECK(test::identical(transform(img, {"scale_width", 24, 16, false, 3}, g, "i"),
                        to_tensor(resize_bicubic(img, 24, 18))));
  // ... and no smaller than crop_size: int(max(18.8, 20)) = 20
  CHECK(test::identical(transform(img, {"scale_width", 24, 20, false, 3}, g, "i"),
                        to_tensor(resize_bicubic(img, 24, 20))));
  // ... and untouched when already load_size wide and at least crop_size high
  const Image w24 = resize_bicubic(img, 24, 30);
  CHECK(test::identical(transform(w24, {"scale_width", 24, 16, false, 3}, g, "i"), to_tensor(w24)));
  // none: each side to the nearest multiple of 4 (37 -> 36, 29 -> 28)
  CHECK(test::identical(transform(img, {"none", 286, 256, false, 3}, g, "i"),
                        to_tensor(resize_bicubic(img, 36, 28))));
  // ... rounded as Python's round(): 39 / 4 = 9.75 -> 40 (not down to 36), and a tie to the even
  // multiple, 34 / 4 = 8.5 -> 32 (not up to 36)
  Image wide{39, 34, 3, {}};
  for (int i = 0; i < 39 * 34 * 3; ++i) wide.pixels.push_back(static_cast<uint8_t>(noise.below(256)));
  CHECK(test::identical(transform(wide, {"none", 286, 256, false, 3}, g, "i"),
                        to_tensor(resize_bicubic(wide, 40, 32))));
  // crop alone never resizes: an exact fit comes back as it was
  const Image sq = resize_bicubic(img, 20, 20);
  CHECK(test::identical(transform(sq, {"crop", 286, 20, false, 3}, g, "i"), to_tensor(sq)));
  // 1 channel: converted to L first, then resized (the official converts on loading)
  CHECK(test::identical(transform(img, {"resize_and_crop", 32, 32, false, 1}, g, "i"),
                        to_tensor(resize_bicubic(to_gray(img), 32, 32))));
}

TEST_CASE(
    "--max_dataset_size ends an epoch as the official loop - at the first batch i with i * batch_size >= "
    "max") {
  const std::string root = make_dataset(scratch("max_dataset_size"), 12, 3, 8, 8, 6);
  UnalignedDataset::Options o;
  o.dataroot = root;
  o.preprocess = {"none", 286, 256, false, 3};
  const UnalignedDataset ds(o);
  REQUIRE(ds.size() == 12);
  // {batch_size, max_dataset_size, samples in an epoch}: partial batches are kept whole, and the
  // dataset's own size caps the last one
  for (const auto& c : std::vector<std::array<int64_t, 3>>{
           {5, 7, 10}, {5, 10, 10}, {5, 11, 12}, {5, 1, 5}, {1, 3, 3}, {2, 100, 12}, {4, 8, 8}}) {
    CAPTURE(c[0]);
    CAPTURE(c[1]);
    Loader loader(ds, static_cast<int>(c[0]), false, 1, 3, c[1]);
    CHECK(loader.samples_per_epoch() == c[2]);
    loader.start_epoch(1, 0);
    Loader::Batch b;
    int64_t delivered = 0;
    while (loader.next(b)) delivered += static_cast<int64_t>(b.A_paths.size());
    CHECK(delivered == c[2]);
  }
}

TEST_CASE("image files are found by the official extensions - both cases - sorted - others skipped") {
  // The official IMG_EXTENSIONS: jpg jpeg png ppm bmp tif tiff, each lower and upper case.
  for (const char* e : {".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".ppm", ".PPM", ".bmp", ".BMP",
                        ".tif", ".TIF", ".tiff", ".TIFF"})
    CHECK_MESSAGE(data::has_image_extension(std::string("x") + e), e);
  for (const char* e : {".gif", ".webp", ".Jpg", ".txt", "jpg", ".png.bak"})
    CHECK_MESSAGE(!data::has_image_extension(std::string("x") + e), e);
  // every decodable one is listed (the content is read later), in sorted order; other files are not
  const std::string dir = scratch("extensions");
  std::vector<std::string> want;
  for (const char* name : {"a.jpg", "b.JPG", "c.jpeg", "d.JPEG", "e.png", "f.PNG"}) {
    std::ofstream(dir + "/" + name) << "x";
    want.push_back(dir + "/" + name);
  }
  std::ofstream(dir + "/notes.txt") << "x";
  std::ofstream(dir + "/g.gif") << "x";
  CHECK(data::find_images(dir, 100) == want);
}
