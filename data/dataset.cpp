#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <tuple>

#include "ops/batch.h"

namespace cg::data {

namespace fs = std::filesystem;

namespace {

const char* const kDecodable[] = {".jpg", ".JPG", ".jpeg", ".JPEG", ".png",
                                  ".PNG", ".tif", ".TIF",  ".tiff", ".TIFF"};
const char* const kOfficialOnly[] = {".ppm", ".PPM", ".bmp", ".BMP"};

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

bool has_image_extension(const std::string& name) {
  for (const char* e : kDecodable)
    if (ends_with(name, e)) return true;
  for (const char* e : kOfficialOnly)
    if (ends_with(name, e)) return true;
  return false;
}

std::vector<std::string> find_images(const std::string& dir, int64_t max_size) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("dataset folder '" + dir + "' does not exist or is not a folder");
  std::vector<std::string> files;
  // As the official os.walk: `dir` itself may be a link, but links to folders below it are not
  // followed (links to files are). A link to a folder above or beside it (`a -> .`, `up -> ..`)
  // would otherwise walk forever, or count the same images again.
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) {
      ec.clear();  // a dangling link, a socket: not an image
      continue;
    }
    const std::string path = it->path().string();
    if (!has_image_extension(path)) continue;
    bool decodable = false;
    for (const char* e : kDecodable) decodable = decodable || ends_with(path, e);
    if (!decodable)
      throw Error("'" + path + "' is a " + it->path().extension().string() +
                  " image; this build reads PNG, JPEG and TIFF only: convert the dataset to PNG");
    files.push_back(path);
  }
  if (ec) throw Error("cannot list dataset folder '" + dir + "': " + ec.message());
  if (files.empty()) throw Error("dataset folder '" + dir + "' holds no PNG, JPEG or TIFF images");
  std::sort(files.begin(), files.end());
  // The official truncates in directory order, then sorts; truncating the sorted list is the
  // deterministic version of that.
  if (static_cast<int64_t>(files.size()) > max_size)
    files.resize(static_cast<size_t>(std::max<int64_t>(max_size, 0)));
  return files;
}

// ---- the datasets ----

UnalignedDataset::UnalignedDataset(Options opt) : opt_(std::move(opt)) {
  pre_A_ = pre_B_ = opt_.preprocess;
  pre_A_.channels = a_channels(opt_.a_to_b, opt_.input_nc, opt_.output_nc);
  pre_B_.channels = b_channels(opt_.a_to_b, opt_.input_nc, opt_.output_nc);
  validate(pre_A_);
  validate(pre_B_);
  const std::string root = opt_.dataroot.empty() ? "." : opt_.dataroot;
  a_paths_ = find_images((fs::path(root) / (opt_.phase + "A")).string(), opt_.max_dataset_size);
  b_paths_ = find_images((fs::path(root) / (opt_.phase + "B")).string(), opt_.max_dataset_size);
}

Sample UnalignedDataset::get(int64_t index, Generator& gen) const {
  Sample s;
  s.A_path = a_paths_[static_cast<size_t>(index % size_A())];
  const int64_t b_index = opt_.serial_batches
                              ? index % size_B()
                              : static_cast<int64_t>(gen.below(static_cast<uint64_t>(size_B())));
  s.B_path = b_paths_[static_cast<size_t>(b_index)];
  s.A = transform(read_image(s.A_path, pre_A_.channels, pre_A_.max_pixels, Depth::kFull), pre_A_, gen,
                  s.A_path);
  s.B = transform(read_image(s.B_path, pre_B_.channels, pre_B_.max_pixels, Depth::kFull), pre_B_, gen,
                  s.B_path);
  return s;
}

AlignedDataset::AlignedDataset(Options opt) : opt_(std::move(opt)) {
  pre_A_ = pre_B_ = opt_.preprocess;
  pre_A_.channels = a_channels(opt_.a_to_b, opt_.input_nc, opt_.output_nc);
  pre_B_.channels = b_channels(opt_.a_to_b, opt_.input_nc, opt_.output_nc);
  validate(pre_A_);
  validate(pre_B_);
  const std::string root = opt_.dataroot.empty() ? "." : opt_.dataroot;
  paths_ = find_images((fs::path(root) / opt_.phase).string(), opt_.max_dataset_size);
}

Sample AlignedDataset::get(int64_t index, Generator& gen) const {
  Sample s;
  s.A_path = s.B_path = paths_[static_cast<size_t>(index)];
  const std::string& path = s.A_path;
  // Read as RGB, as the official's convert('RGB'); a gray side is converted by its transform.
  const Image ab = read_image(path, 3, pre_A_.max_pixels, Depth::kFull);
  const std::string size = std::to_string(ab.width) + "x" + std::to_string(ab.height);
  if (ab.width % 2 != 0 || ab.width < 2)
    throw Error("AB image '" + path + "' is " + size +
                ": an aligned dataset's images are two halves side by side (A left, B right), so the "
                "width must be even");
  const int w2 = ab.width / 2;
  const std::string half = std::to_string(w2) + "x" + std::to_string(ab.height);
  if (pre_A_.mode.find("crop") != std::string::npos) {
    const auto [w, h] = size_before_crop(w2, ab.height, pre_A_);
    if (w < pre_A_.crop_size || h < pre_A_.crop_size)
      throw Error("AB image '" + path + "' (" + size + ") has halves of " + half +
                  (w != w2 || h != ab.height ? " (" + std::to_string(w) + "x" + std::to_string(h) +
                                                   " after --preprocess " + pre_A_.mode + ")"
                                             : std::string()) +
                  ", smaller than --crop_size " + std::to_string(pre_A_.crop_size));
  }
  const TransformParams params = draw_params(w2, ab.height, pre_A_, gen);
  s.A = transform(crop(ab, 0, 0, w2, ab.height), pre_A_, params, path);
  s.B = transform(crop(ab, w2, 0, w2, ab.height), pre_B_, params, path);
  return s;
}

SingleDataset::SingleDataset(Options opt) : opt_(std::move(opt)) {
  pre_ = opt_.preprocess;
  pre_.channels = a_channels(opt_.a_to_b, opt_.input_nc, opt_.output_nc);
  validate(pre_);
  paths_ = find_images(opt_.dataroot.empty() ? "." : opt_.dataroot, opt_.max_dataset_size);
}

Sample SingleDataset::get(int64_t index, Generator& gen) const {
  Sample s;
  s.A_path = paths_[static_cast<size_t>(index)];
  s.A = transform(read_image(s.A_path, pre_.channels, pre_.max_pixels, Depth::kFull), pre_, gen, s.A_path);
  return s;
}

}  // namespace cg::data
