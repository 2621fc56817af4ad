#include "data/class_folders.h"

#include <algorithm>
#include <filesystem>

#include "data/files.h"

namespace cg::data {

namespace fs = std::filesystem;

std::vector<std::string> class_folder_names(const std::string& root) {
  if (root.empty()) throw Error("--dataroot is required: a folder with one folder of images per class");
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Error("--dataroot '" + root + "' is not a folder");
  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());  // ImageFolder: sorted names are the class numbers
  if (classes.empty())
    throw Error("--dataroot '" + root + "' has no class folders (expected one folder of images per class, " +
                "e.g. " + root + "/0/, " + root + "/1/, ...)");
  // A class folder may be a link (as ImageFolder's), but not to --dataroot or above it, nor to a
  // folder that holds or lies in another class's: its images would be counted twice, under two
  // classes.
  std::vector<std::string> real(classes.size());
  for (size_t k = 0; k < classes.size(); ++k) {
    real[k] = fs::canonical(fs::path(root) / classes[k]).string();
    if (within_folder(root, real[k]))
      throw Error("class folder '" + root + "/" + classes[k] + "' is a link to '" + real[k] +
                  "', which holds --dataroot itself: every class's images would be class " +
                  std::to_string(k) + "'s too");
    for (size_t j = 0; j < k; ++j)
      if (within_folder(real[j], real[k]) || within_folder(real[k], real[j]))
        throw Error("class folders '" + root + "/" + classes[j] + "' and '" + root + "/" + classes[k] +
                    "' are the same folder or one holds the other (through a link): their images would be "
                    "counted under both classes");
  }
  return classes;
}

ClassFolderDataset::ClassFolderDataset(std::string root, int size, int64_t max_pixels)
    : root_(std::move(root)), size_(size), max_pixels_(max_pixels) {
  classes_ = class_folder_names(root_);
  for (size_t k = 0; k < classes_.size(); ++k) {
    const std::string dir = root_ + "/" + classes_[k];
    std::vector<std::string> files;
    try {
      files = find_images(dir, INT64_MAX);
    } catch (const Error& e) {
      throw Error("class " + std::to_string(k) + " ('" + classes_[k] + "'): " + e.what());
    }
    for (std::string& f : files) {
      paths_.push_back(std::move(f));
      labels_.push_back(static_cast<int64_t>(k));
    }
  }
}

Sample ClassFolderDataset::get(int64_t index, Generator&) const {
  const std::string& path = paths_[static_cast<size_t>(index)];
  const Image img = read_image(path, 1, max_pixels_);  // RGB -> L by PIL's rule
  if (img.width != size_ || img.height != size_)
    throw Error("'" + path + "' is " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                " pixels; the conditional GAN's images are " + std::to_string(size_) + "x" +
                std::to_string(size_));
  Sample s;
  s.A = to_tensor(img);  // (1, size, size) in [-1, 1]
  s.A_path = path;
  s.label = labels_[static_cast<size_t>(index)];
  return s;
}

Sample RandomDraws::get(int64_t, Generator& gen) const {
  const auto pick = static_cast<int64_t>(gen.below(static_cast<uint64_t>(base_->size())));
  return base_->get(pick, gen);
}

}  // namespace cg::data
