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

#include "data/combine.h"
#include "data/dataset.h"
#include "data/loader.h"
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

namespace {
// An AB image of two coordinate halves: pixel (x, y) of each half is (x, y, marker), the A half's
// marker 7 and the B half's 99, so a crop's first pixel tells its offset in either half.
Image coordinate_pair(int half_width, int height) {
  const Image half = coordinates(half_width, height);
  Image ab{2 * half_width, height, 3, std::vector<uint8_t>(static_cast<size_t>(2 * half_width) * height * 3)};
  for (int y = 0; y < height; ++y) {
    std::copy(half.row(y), half.row(y) + half_width * 3, ab.row(y));
    std::copy(half.row(y), half.row(y) + half_width * 3, ab.row(y) + half_width * 3);
    for (int x = 0; x < half_width; ++x) ab.row(y)[(half_width + x) * 3 + 2] = 99;
  }
  return ab;
}
}  // namespace

TEST_CASE(
    "the aligned dataset splits AB images: A the left half - B the right - one crop and flip for both") {
  const std::string root = scratch("aligned_split");
  std::filesystem::create_directories(root + "/train");
  write_png(root + "/train/0.png", coordinate_pair(40, 36));
  DatasetOptions o;
  o.dataroot = root;
  o.preprocess = {"crop", 286, 32, true, 3};
  const AlignedDataset ds(o);
  REQUIRE(ds.size() == 1);
  Generator g(31);
  const int n = 4000;
  std::set<int> lefts, tops;
  int flipped = 0;
  for (int i = 0; i < n; ++i) {
    const Sample s = ds.get(0, g);
    CHECK(s.A_path == root + "/train/0.png");
    CHECK(s.B_path == s.A_path);
    const auto a = s.A.to_vector<float>(), b = s.B.to_vector<float>();  // (3, 32, 32) each
    REQUIRE(a.size() == 3 * 32 * 32);
    // the same crop and the same flip: the coordinate channels agree everywhere
    bool same = true;
    for (size_t k = 0; k < 2 * 32 * 32; ++k) same = same && a[k] == b[k];
    CHECK(same);
    CHECK(byte_of(a[2 * 32 * 32]) == 7);   // A is the left half
    CHECK(byte_of(b[2 * 32 * 32]) == 99);  // B the right
    const int x0 = byte_of(a[0]), x1 = byte_of(a[1]);
    flipped += x1 < x0;
    lefts.insert(std::min(x0, byte_of(a[31])));
    tops.insert(byte_of(a[32 * 32]));
  }
  // the draws still cover every offset (left 0..8 of a 40-wide half, top 0..4) and flip half the time
  CHECK(lefts.size() == 9);
  CHECK(*lefts.rbegin() == 8);
  CHECK(tops.size() == 5);
  CHECK_MESSAGE(plausible(flipped, n, 0.5), flipped);
}

TEST_CASE(
    "aligned: gray per side as the official - BtoA swaps which side is the input - --max_dataset_size") {
  const std::string root = scratch("aligned_channels");
  std::filesystem::create_directories(root + "/test");
  for (int i = 0; i < 3; ++i) write_png(root + "/test/" + std::to_string(i) + ".png", coordinate_pair(16, 8));
  DatasetOptions o;
  o.dataroot = root;
  o.phase = "test";
  o.input_nc = 1;
  o.output_nc = 3;
  o.preprocess = {"none", 16, 16, false, 3};
  Generator g(1);
  Sample s = AlignedDataset(o).get(0, g);
  CHECK(s.A.shape() == Shape{1, 8, 16});  // the generator's input side is gray
  CHECK(s.B.shape() == Shape{3, 8, 16});
  // gray is PIL's L of the RGB half: (19595 R + 38470 G + 7471 B + 2^15) >> 16 at pixel (3, 2)
  CHECK(byte_of(s.A.to_vector<float>()[2 * 16 + 3]) == (19595 * 3 + 38470 * 2 + 7471 * 7 + 32768) >> 16);
  o.a_to_b = false;  // BtoA: the A half (still the left) is the output side, so it gets output_nc
  s = AlignedDataset(o).get(0, g);
  CHECK(s.A.shape() == Shape{3, 8, 16});
  CHECK(s.B.shape() == Shape{1, 8, 16});
  CHECK(byte_of(s.A.to_vector<float>()[2 * 8 * 16]) == 7);  // the left half all the same
  o.max_dataset_size = 2;
  CHECK(AlignedDataset(o).size() == 2);
  CHECK(AlignedDataset(o).file(1) == root + "/test/1.png");
}

TEST_CASE("aligned: an odd-width AB image - or halves smaller than the crop - is an error naming the file") {
  const std::string root = scratch("aligned_bad");
  std::filesystem::create_directories(root + "/train");
  write_png(root + "/train/odd.png", coordinates(33, 16));
  write_png(root + "/train/small.png", coordinate_pair(20, 16));
  DatasetOptions o;
  o.dataroot = root;
  o.preprocess = {"crop", 286, 32, false, 3};
  const AlignedDataset ds(o);
  Generator g(2);
  CHECK_THROWS_WITH_AS(ds.get(0, g),
                       doctest::Contains(("AB image '" + root + "/train/odd.png' is 33x16").c_str()), Error);
  CHECK_THROWS_WITH_AS(ds.get(0, g), doctest::Contains("the width must be even"), Error);
  CHECK_THROWS_WITH_AS(
      ds.get(1, g),
      doctest::Contains(
          ("AB image '" + root + "/train/small.png' (40x16) has halves of 20x16, smaller than --crop_size 32")
              .c_str()),
      Error);
  o.preprocess = {"scale_width_and_crop", 40, 32, false, 3};  // 20x16 -> 40x32: no longer smaller
  CHECK(AlignedDataset(o).get(1, g).A.shape() == Shape{3, 32, 32});
  o.preprocess = {"scale_width_and_crop", 24, 32, false, 3};  // 20x16 -> 24x32
  CHECK_THROWS_WITH_AS(
      AlignedDataset(o).get(1, g),
      doctest::Contains("has halves of 20x16 (24x32 after --preprocess scale_width_and_crop), "
                        "smaller than --crop_size 32"),
      Error);
  // the loader names the failing file, drops its batch and goes on
  o.preprocess = {"crop", 286, 16, false, 3};
  const AlignedDataset two(o);
  Loader loader(two, 1, false, 1, 3);
  loader.start_epoch(1, 0);
  Batch b;
  CHECK_THROWS_AS(loader.next(b), LoadError);
  loader.start_epoch(1, 0);
  try {
    loader.next(b);
  } catch (const LoadError& e) {
    CHECK(e.file == root + "/train/odd.png");
  }
  REQUIRE(loader.next(b));
  CHECK(b.A_paths[0] == root + "/train/small.png");
  CHECK_FALSE(loader.next(b));
}

namespace {
Image filled(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  Image im{w, h, 3, {}};
  for (int i = 0; i < w * h; ++i) im.pixels.insert(im.pixels.end(), {r, g, b});
  return im;
}
}  // namespace

TEST_CASE("combine_A_and_B: N_A with N_B (--use_AB) into N.png - A left - B right - unpaired named") {
  const std::string root = scratch("combine_use_ab");
  std::filesystem::create_directories(root + "/A");
  std::filesystem::create_directories(root + "/B");
  write_png(root + "/A/0_A.png", filled(8, 4, 10, 20, 30));
  write_png(root + "/B/0_B.png", filled(8, 4, 200, 210, 220));
  write_png(root + "/A/1_A.png", filled(8, 4, 1, 2, 3));
  write_png(root + "/B/1_B.png", coordinates(8, 4));
  write_png(root + "/A/2_A.png", filled(8, 4, 5, 5, 5));    // no 2_B
  write_png(root + "/A/notes.png", filled(8, 4, 5, 5, 5));  // not an _A file: ignored with --use_AB
  CombineOptions o{root + "/A", root + "/B", root + "/AB", 1000000, true, false};
  const CombineResult r = combine_A_and_B(o);
  REQUIRE(r.splits.size() == 1);
  CHECK(r.splits[0].written == 2);
  REQUIRE(r.splits[0].unpaired.size() == 1);
  CHECK(r.splits[0].unpaired[0] == root + "/A/2_A.png");
  CHECK(r.errors.empty());
  const Image ab = read_image(root + "/AB/1.png", 3);
  REQUIRE(ab.width == 16);
  REQUIRE(ab.height == 4);
  const Image b = coordinates(8, 4);
  for (int y = 0; y < 4; ++y) {
    CHECK(std::vector<uint8_t>(ab.row(y), ab.row(y) + 3) == std::vector<uint8_t>{1, 2, 3});
    CHECK(std::vector<uint8_t>(ab.row(y) + 24, ab.row(y) + 48) ==
          std::vector<uint8_t>(b.row(y), b.row(y) + 24));
  }
  CHECK(read_image(root + "/AB/0.png", 3).pixels[24] == 200);
  CHECK_FALSE(std::filesystem::exists(root + "/AB/2.png"));
  // what the aligned dataset makes of it: the two halves again
  DatasetOptions d;
  d.dataroot = root;
  d.phase = "AB";
  d.preprocess = {"none", 8, 8, false, 3};
  Generator g(1);
  const Sample s = AlignedDataset(d).get(1, g);  // sorted: 0.png, 1.png
  CHECK(s.B.to_vector<float>() == to_tensor(b).to_vector<float>());
  // --num_imgs takes the first of the sorted list
  o.fold_AB = root + "/AB1";
  o.num_imgs = 1;
  CHECK(combine_A_and_B(o).splits[0].written == 1);
  CHECK(std::filesystem::exists(root + "/AB1/0.png"));
  CHECK_FALSE(std::filesystem::exists(root + "/AB1/1.png"));
}

TEST_CASE(
    "combine_A_and_B: splits as the official (train - test subfolders) - by name - by number - clear "
    "errors") {
  const std::string root = scratch("combine_splits");
  for (const char* sp : {"train", "test"}) {
    std::filesystem::create_directories(root + "/A/" + sp);
    std::filesystem::create_directories(root + "/B/" + sp);
  }
  write_png(root + "/A/train/x.png", filled(4, 4, 1, 1, 1));
  write_png(root + "/B/train/x.png", filled(4, 4, 2, 2, 2));
  write_png(root + "/A/test/y.jpg.png", filled(4, 4, 1, 1, 1));
  write_png(root + "/B/test/y.jpg.png", filled(5, 4, 2, 2, 2));  // another size: refused
  CombineOptions o{root + "/A", root + "/B", root + "/AB", 1000000, false, false};
  const CombineResult r = combine_A_and_B(o);
  REQUIRE(r.splits.size() == 2);
  CHECK(r.splits[0].name == "test");
  CHECK(r.splits[0].written == 0);
  CHECK(r.splits[1].name == "train");
  CHECK(r.splits[1].written == 1);
  CHECK(std::filesystem::exists(root + "/AB/train/x.png"));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("'" + root + "/A/test/y.jpg.png' is 4x4 but '" + root +
                         "/B/test/y.jpg.png' is 5x4") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(root + "/AB/test/y.jpg.png"));
  // by the number in the names, whatever else they say (leading zeros aside)
  const std::string num = scratch("combine_number");
  std::filesystem::create_directories(num + "/photos");
  std::filesystem::create_directories(num + "/maps");
  write_png(num + "/photos/tile_012.png", filled(4, 2, 9, 9, 9));
  write_png(num + "/maps/map12.png", filled(4, 2, 8, 8, 8));
  write_png(num + "/photos/tile_013.png", filled(4, 2, 9, 9, 9));
  const CombineResult n =
      combine_A_and_B({num + "/photos", num + "/maps", num + "/AB", 1000000, false, true});
  CHECK(n.splits[0].written == 1);
  CHECK(read_image(num + "/AB/tile_012.png", 3).pixels[12] == 8);
  CHECK(n.splits[0].unpaired.size() == 1);
  CHECK_THROWS_WITH_AS(combine_A_and_B({num + "/nothing", num + "/maps", num + "/AB", 10, false, false}),
                       doctest::Contains(("folder A '" + num + "/nothing' does not exist").c_str()), Error);
  CHECK_THROWS_WITH_AS(combine_A_and_B({num + "/photos", num + "/maps", num + "/AB", 10, true, true}),
                       doctest::Contains("--use_AB and --by_number"), Error);
  CHECK_THROWS_WITH_AS(combine_A_and_B({num + "/photos", num + "/maps", num + "/AB", 10, true, false}),
                       doctest::Contains("holds no images named *_A.*"), Error);
  // the program: exit 1 and the error on stderr for a refused pair; 0 and the counts otherwise
  const std::string bin = std::string(CG_BINARY_DIR) + "/apps/combine_A_and_B";
  const auto bad = test::run_command(bin + " --fold_A " + root + "/A --fold_B " + root + "/B --fold_AB " +
                                     root + "/AB2 2>&1");
  CHECK(bad.first == 1);
  CHECK(bad.second.find("split = train, wrote 1 AB images") != std::string::npos);
  CHECK(bad.second.find("error: '" + root + "/A/test/y.jpg.png' is 4x4") != std::string::npos);
  const auto good = test::run_command(bin + " --fold_A " + num + "/photos --fold_B " + num +
                                      "/maps --fold_AB " + num + "/AB3 --by_number");
  CHECK(good.first == 0);
  CHECK(good.second.find("1 image(s) of A have no partner in B") != std::string::npos);
}
