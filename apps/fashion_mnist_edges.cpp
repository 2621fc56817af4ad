// fashion_mnist_edges: writes the pix2pix demo's paired dataset, the paper's edges2shoes setting
// made from Debian's Fashion-MNIST shoes: each image (sandals, sneakers, ankle boots by default)
// scaled up to --size, beside its edge map, as AB images OUT/train/NNNNN.png and OUT/test/NNNNN.png
// (A the edges, B the image, both gray). The edges are Canny's (data/edges.h), black lines one
// pixel wide on white; they are not the paper's HED edges.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "data/edges.h"
#include "data/fashion_mnist.h"
#include "data/image.h"

namespace fs = std::filesystem;

namespace {

// Up to `per_class` images of each class in `classes` from one split, as AB images in `dir`.
int write_pairs(const cg::data::FashionMnist& fm, const std::set<int>& classes, int per_class, int size,
                const cg::data::CannyOptions& canny, const fs::path& dir) {
  fs::create_directories(dir);
  std::map<int, int> taken;
  int written = 0;
  for (int i = 0; i < fm.count; ++i) {
    const int cls = fm.labels[static_cast<size_t>(i)];
    if (!classes.count(cls) || taken[cls] >= per_class) continue;
    ++taken[cls];
    const cg::data::Image b = cg::data::resize_bicubic(fm.image(i), size, size);
    const cg::data::Image a = cg::data::canny_edges(b, canny);
    cg::data::Image ab{2 * size, size, 1, std::vector<uint8_t>(static_cast<size_t>(2 * size) * size)};
    for (int y = 0; y < size; ++y) {
      std::copy(a.row(y), a.row(y) + size, ab.row(y));
      std::copy(b.row(y), b.row(y) + size, ab.row(y) + size);
    }
    char name[32];
    std::snprintf(name, sizeof name, "%05d.png", written++);
    cg::data::write_png((dir / name).string(), ab);
  }
  return written;
}

}  // namespace

int main(int argc, char** argv) {
  std::string source = cg::data::kFashionMnistDir, out, class_list = "5,7,9";
  int n_train = 1000, n_test = 100, size = 128;
  cg::data::CannyOptions canny;
  CLI::App app(
      "Writes Fashion-MNIST shoes beside their Canny edge maps as a pix2pix dataset (OUT/train, OUT/test of AB "
      "images: A the edges, B the image).",
      "fashion_mnist_edges");
  app.add_option("--source", source, "folder of the IDX files")->capture_default_str();
  app.add_option("--out", out, "dataset folder to write")->required();
  app.add_option("--classes", class_list, "classes to take (5 sandal, 7 sneaker, 9 ankle boot)")
      ->capture_default_str();
  app.add_option("--train", n_train, "training images per class")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--test", n_test, "test images per class")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--size", size, "side of each half, in pixels (the 28x28 images are scaled up, bicubic)")
      ->capture_default_str()
      ->check(CLI::Range(8, 1024));
  app.add_option("--sigma", canny.sigma, "Canny: the blur before the gradient, in pixels")->capture_default_str();
  app.add_option("--low", canny.low, "Canny: the low threshold, a fraction of the largest gradient")
      ->capture_default_str();
  app.add_option("--high", canny.high, "Canny: the high threshold, likewise")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    std::set<int> classes;
    std::stringstream in(class_list);
    for (std::string item; std::getline(in, item, ',');) {
      size_t used = 0;
      int c = -1;
      try {
        c = std::stoi(item, &used);
      } catch (const std::exception&) {
      }
      if (used != item.size() || c < 0 || c > 9) throw cg::Error("--classes: '" + item + "' is not a class 0-9");
      classes.insert(c);
    }
    if (classes.empty()) throw cg::Error("--classes: no class given");
    // each flag checked by name (NaN fails every comparison, so it is refused here too)
    if (!(canny.sigma > 0 && canny.sigma <= 100))
      throw cg::Error("--sigma must be a number above 0 and at most 100 (the blur, in pixels), got " +
                      std::to_string(canny.sigma));
    if (!(canny.low >= 0 && canny.low <= 1))
      throw cg::Error("--low must be a number from 0 to 1, got " + std::to_string(canny.low));
    if (!(canny.high >= canny.low && canny.high <= 1))
      throw cg::Error("--high must be a number from --low (" + std::to_string(canny.low) + ") to 1, got " +
                      std::to_string(canny.high));
    cg::data::canny_edges(cg::data::Image{1, 1, 1, {0}}, canny);  // and as the library checks them
    const fs::path o(out);
    const int tr = write_pairs(cg::data::read_fashion_mnist(source, "train"), classes, n_train, size, canny, o / "train");
    const int te = write_pairs(cg::data::read_fashion_mnist(source, "t10k"), classes, n_test, size, canny, o / "test");
    std::printf("wrote %s: train %d, test %d AB images (%dx%d: edges | image, gray PNG)\n", out.c_str(), tr, te,
                2 * size, size);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
