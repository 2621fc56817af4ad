// fashion_mnist_domains: writes two classes of Fashion-MNIST (Debian's dataset-fashion-mnist) as
// a CycleGAN dataset of 28x28 gray PNGs: OUT/trainA, trainB, testA, testB. The demo translates
// sneakers (class 7) into ankle boots (class 9) and back.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/image.h"

namespace fs = std::filesystem;

namespace {

// Writes up to `limit` images of `cls` from one split into OUT/<split><domain>.
int write_class(const std::string& source, const std::string& split_file, int cls, int limit,
                const fs::path& dir) {
  const cg::data::FashionMnist fm = cg::data::read_fashion_mnist(source, split_file);
  fs::create_directories(dir);
  int written = 0;
  for (int i = 0; i < fm.count && written < limit; ++i) {
    if (fm.labels[static_cast<size_t>(i)] != cls) continue;
    char name[32];
    std::snprintf(name, sizeof name, "%05d.png", written);
    cg::data::write_png((dir / name).string(), fm.image(i));
    ++written;
  }
  return written;
}

}  // namespace

int main(int argc, char** argv) {
  std::string source = cg::data::kFashionMnistDir, out;
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
