// fashion_mnist_domains: writes two classes of Fashion-MNIST (Debian's dataset-fashion-mnist) as
// a CycleGAN dataset of 28x28 gray PNGs: OUT/trainA, trainB, testA, testB. The demo translates
// sneakers (class 7) into ankle boots (class 9) and back.
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image.h"

namespace fs = std::filesystem;

namespace {

// An IDX file (gzip-compressed): big-endian magic, dims, then the bytes.
std::vector<uint8_t> read_idx(const std::string& path, std::vector<int>& dims) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw cg::Error("cannot open '" + path + "' (install Debian's dataset-fashion-mnist)");
  auto read = [&](void* p, unsigned n) {
    if (gzread(f, p, n) != static_cast<int>(n)) {
      gzclose(f);
      throw cg::Error("'" + path + "' is truncated or not an IDX file");
    }
  };
  unsigned char magic[4];
  read(magic, 4);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08) {
    gzclose(f);
    throw cg::Error("'" + path + "' is not an unsigned-byte IDX file");
  }
  // The sizes come from the file: checked before anything is allocated, and the data is read in
  // chunks, so a header that lies costs no more memory than the file really holds.
  constexpr uint64_t kMaxBytes = uint64_t{1} << 31;  // Fashion-MNIST's largest file holds 47 MB
  dims.clear();
  uint64_t total = 1;
  std::string shape;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    read(b, 4);
    const uint64_t n = uint64_t{b[0]} << 24 | uint64_t{b[1]} << 16 | uint64_t{b[2]} << 8 | b[3];
    shape += (d ? "x" : "") + std::to_string(n);
    if (n > INT32_MAX || __builtin_mul_overflow(total, n, &total) || total > kMaxBytes) {
      gzclose(f);
      throw cg::Error("'" + path + "' claims dimensions " + shape +
                      "..., more values than an IDX file of images can hold (2^31)");
    }
    dims.push_back(static_cast<int>(n));
  }
  std::vector<uint8_t> data;
  while (data.size() < total) {
    const size_t at = data.size(), n = std::min<size_t>(total - at, size_t{1} << 20);
    data.resize(at + n);
    read(data.data() + at, static_cast<unsigned>(n));
  }
  gzclose(f);
  return data;
}

// Writes up to `limit` images of `cls` from one split into OUT/<split><domain>.
int write_class(const std::string& source, const std::string& split_file, int cls, int limit,
                const fs::path& dir) {
  std::vector<int> idims, ldims;
  const auto images = read_idx(source + "/" + split_file + "-images-idx3-ubyte.gz", idims);
  const auto labels = read_idx(source + "/" + split_file + "-labels-idx1-ubyte.gz", ldims);
  if (idims.size() != 3 || ldims.size() != 1 || idims[0] != ldims[0])
    throw cg::Error("'" + source + "' images and labels of '" + split_file + "' do not match");
  fs::create_directories(dir);
  const int h = idims[1], w = idims[2];
  int written = 0;
  for (int i = 0; i < idims[0] && written < limit; ++i) {
    if (labels[static_cast<size_t>(i)] != cls) continue;
    cg::data::Image img{w, h, 1, {}};
    img.pixels.assign(images.begin() + static_cast<long>(i) * w * h,
                      images.begin() + static_cast<long>(i + 1) * w * h);
    char name[32];
    std::snprintf(name, sizeof name, "%05d.png", written);
    cg::data::write_png((dir / name).string(), img);
    ++written;
  }
  return written;
}

}  // namespace

int main(int argc, char** argv) {
  std::string source = "/usr/share/datasets/fashion-mnist", out;
  int class_a = 7, class_b = 9, n_train = 1000, n_test = 100;
  CLI::App app("Writes two Fashion-MNIST classes as a CycleGAN dataset (trainA, trainB, testA, testB).",
               "fashion_mnist_domains");
  app.add_option("--source", source, "folder of the IDX files")->capture_default_str();
  app.add_option("--out", out, "dataset folder to write")->required();
  app.add_option("--class_a", class_a, "class of domain A (7 = sneaker)")->capture_default_str();
  app.add_option("--class_b", class_b, "class of domain B (9 = ankle boot)")->capture_default_str();
  app.add_option("--train", n_train, "training images per domain")->capture_default_str();
  app.add_option("--test", n_test, "test images per domain")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const fs::path o(out);
    const int ta = write_class(source, "train", class_a, n_train, o / "trainA");
    const int tb = write_class(source, "train", class_b, n_train, o / "trainB");
    const int sa = write_class(source, "t10k", class_a, n_test, o / "testA");
    const int sb = write_class(source, "t10k", class_b, n_test, o / "testB");
    std::printf("wrote %s: trainA %d, trainB %d, testA %d, testB %d images (28x28 gray PNG)\n", out.c_str(),
                ta, tb, sa, sb);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
