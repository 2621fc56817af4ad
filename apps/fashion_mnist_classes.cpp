// fashion_mnist_classes: writes Debian's Fashion-MNIST as class folders for cgan_train (the
// ImageFolder convention): OUT/<k>_<name>/NNNNN.png, 28x28 gray, the folder names sorting in the
// order of the class numbers 0-9, so that class k of the data set is class k of the model.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <map>

#include "data/fashion_mnist.h"
#include "data/image.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::string source = cg::data::kFashionMnistDir, out, split = "train";
  int per_class = 0;
  CLI::App app(
      "Writes Fashion-MNIST as one folder of 28x28 gray PNG images per class (OUT/0_tshirt, OUT/1_trouser, "
      "...).",
      "fashion_mnist_classes");
  app.add_option("--source", source, "folder of the IDX files")->capture_default_str();
  app.add_option("--out", out, "folder to write the class folders into")->required();
  app.add_option("--split", split, "train (60000 images) or t10k (10000)")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "t10k"}));
  app.add_option("--per_class", per_class, "at most this many images per class (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  static const char* const kNames[10] = {"tshirt", "trouser", "pullover", "dress", "coat",
                                         "sandal", "shirt",   "sneaker",  "bag",   "ankle_boot"};
  try {
    const cg::data::FashionMnist fm = cg::data::read_fashion_mnist(source, split);
    std::map<int, int> taken;
    for (int i = 0; i < fm.count; ++i) {
      const int k = fm.labels[static_cast<size_t>(i)];
      if (k < 0 || k > 9)
        throw cg::Error("'" + source + "': label " + std::to_string(k) + " of image " + std::to_string(i) +
                        " is not a class 0-9");
      if (per_class > 0 && taken[k] >= per_class) continue;
      const fs::path dir = fs::path(out) / (std::to_string(k) + "_" + kNames[k]);
      if (taken[k] == 0) fs::create_directories(dir);
      char name[32];
      std::snprintf(name, sizeof name, "%05d.png", taken[k]++);
      cg::data::write_png((dir / name).string(), fm.image(i));
    }
    int total = 0;
    for (const auto& [k, n] : taken) total += n;
    std::printf("wrote %s: %d images in %zu class folders (28x28 gray PNG)\n", out.c_str(), total,
                taken.size());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
