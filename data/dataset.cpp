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

uint64_t splitmix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Seeds for the epoch's order and for each sample: functions of (seed, epoch, position) only.
uint64_t epoch_seed(uint64_t seed, int epoch) {
  return splitmix(splitmix(seed) ^ static_cast<uint64_t>(epoch));
}
uint64_t sample_seed(uint64_t seed, int epoch, int64_t position) {
  return splitmix(epoch_seed(seed, epoch) ^ splitmix(static_cast<uint64_t>(position) + 0x51ED27ull));
}

const char* const kDecodable[] = {".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG"};
const char* const kOfficialOnly[] = {".ppm", ".PPM", ".bmp", ".BMP", ".tif", ".TIF", ".tiff", ".TIFF"};

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// The official __scale_width: width to target_size, height keeping the aspect ratio but at least
// crop_size (int() truncation, as Python's).
Image scale_width(const Image& img, int target, int crop_size) {
  if (img.width == target && img.height >= crop_size) return img;
  const int h = static_cast<int>(
      std::max(static_cast<double>(target) * img.height / img.width, static_cast<double>(crop_size)));
  return resize_bicubic(img, target, h);
}

// The official __make_power_2 with base 4: Python's round() (ties to even), as std::nearbyint.
std::pair<int, int> power2_size(int w, int h) {
  return {static_cast<int>(std::nearbyint(w / 4.0) * 4), static_cast<int>(std::nearbyint(h / 4.0) * 4)};
}

std::once_flag g_power2_warning;

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
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string path = it->path().string();
    if (!has_image_extension(path)) continue;
    bool decodable = false;
    for (const char* e : kDecodable) decodable = decodable || ends_with(path, e);
    if (!decodable)
      throw Error("'" + path + "' is a " + it->path().extension().string() +
                  " image; this build reads PNG and JPEG only: convert the dataset to PNG");
    files.push_back(path);
  }
  if (ec) throw Error("cannot list dataset folder '" + dir + "': " + ec.message());
  if (files.empty()) throw Error("dataset folder '" + dir + "' holds no PNG or JPEG images");
  std::sort(files.begin(), files.end());
  // The official truncates in directory order, then sorts; truncating the sorted list is the
  // deterministic version of that.
  if (static_cast<int64_t>(files.size()) > max_size)
    files.resize(static_cast<size_t>(std::max<int64_t>(max_size, 0)));
  return files;
}

void validate(const Preprocess& p) {
  static const char* const modes[] = {"resize_and_crop", "crop", "scale_width", "scale_width_and_crop",
                                      "none"};
  bool known = false;
  for (const char* m : modes) known = known || p.mode == m;
  if (!known)
    throw Error("--preprocess '" + p.mode +
                "' is not one of resize_and_crop, crop, scale_width, scale_width_and_crop, none");
  if (p.load_size <= 0 || p.crop_size <= 0) throw Error("--load_size and --crop_size must be positive");
  if (p.channels != 1 && p.channels != 3)
    throw Error("images have 1 or 3 channels, not " + std::to_string(p.channels));
}

namespace {

// The size an image of width x height has when the crop comes: after the resize or scale_width.
std::pair<int, int> size_before_crop(int width, int height, const Preprocess& p) {
  if (p.mode.find("resize") != std::string::npos) return {p.load_size, p.load_size};
  if (p.mode.find("scale_width") != std::string::npos && !(width == p.load_size && height >= p.crop_size))
    return {p.load_size, static_cast<int>(std::max(static_cast<double>(p.load_size) * height / width,
                                                   static_cast<double>(p.crop_size)))};
  return {width, height};
}

}  // namespace

TransformParams draw_params(int width, int height, const Preprocess& p, Generator& gen) {
  TransformParams t;
  if (p.mode.find("crop") != std::string::npos) {
    const auto [w, h] = size_before_crop(width, height, p);
    const int th = p.crop_size, tw = p.crop_size;
    // as torchvision's RandomCrop: no draws when it fits exactly (and none for an image too
    // small, which transform refuses)
    if (w >= tw && h >= th && (w != tw || h != th)) {
      t.top = static_cast<int>(gen.below(static_cast<uint64_t>(h - th + 1)));
      t.left = static_cast<int>(gen.below(static_cast<uint64_t>(w - tw + 1)));
    }
  }
  t.flip = p.flip && gen.uniform() < 0.5;
  return t;
}

Tensor transform(const Image& input, const Preprocess& p, Generator& gen, const std::string& path) {
  return transform(input, p, draw_params(input.width, input.height, p, gen), path);
}

Tensor transform(const Image& input, const Preprocess& p, const TransformParams& params,
                 const std::string& path) {
  Image img = p.channels == 1 ? to_gray(input) : input;
  const bool resize = p.mode.find("resize") != std::string::npos;
  if (resize)
    img = resize_bicubic(img, p.load_size, p.load_size);
  else if (p.mode.find("scale_width") != std::string::npos)
    img = scale_width(img, p.load_size, p.crop_size);
  if (p.mode.find("crop") != std::string::npos) {
    const int th = p.crop_size, tw = p.crop_size;
    if (img.width < tw || img.height < th)
      throw Error("image '" + path + "' is " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                  " after --preprocess " + p.mode + ", smaller than --crop_size " +
                  std::to_string(p.crop_size));
    if (params.left < 0 || params.top < 0 || params.left + tw > img.width || params.top + th > img.height)
      throw Error("image '" + path + "': a crop at (" + std::to_string(params.left) + ", " +
                  std::to_string(params.top) + ") does not fit its " + std::to_string(img.width) + "x" +
                  std::to_string(img.height));
    img = crop(img, params.left, params.top, tw, th);
  }
  if (p.mode == "none") {
    // (not a structured binding: clang before 16 cannot capture one in the lambda below)
    int w, h;
    std::tie(w, h) = power2_size(img.width, img.height);
    if (w != img.width || h != img.height) {
      std::call_once(g_power2_warning, [&] {
        std::fprintf(
            stderr,
            "The image size needs to be a multiple of 4. The loaded image size was (%d, %d), so it was "
            "adjusted to (%d, %d). This adjustment will be done to all images whose sizes are not "
            "multiples of 4\n",
            img.width, img.height, w, h);
      });
      if (w <= 0 || h <= 0)
        throw Error("image '" + path + "' (" + std::to_string(img.width) + "x" + std::to_string(img.height) +
                    ") is too small for the networks (sides must round to a positive multiple of 4)");
      img = resize_bicubic(img, w, h);
    }
  }
  if (params.flip) img = flip_horizontal(img);
  return to_tensor(img);
}

std::pair<int, int> transformed_size(int width, int height, const Preprocess& p) {
  auto [w, h] = size_before_crop(width, height, p);
  if (p.mode.find("crop") != std::string::npos) w = h = p.crop_size;
  if (p.mode == "none") std::tie(w, h) = power2_size(w, h);
  return {w, h};
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
  s.A = transform(read_image(s.A_path, pre_A_.channels, pre_A_.max_pixels), pre_A_, gen, s.A_path);
  s.B = transform(read_image(s.B_path, pre_B_.channels, pre_B_.max_pixels), pre_B_, gen, s.B_path);
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
  const Image ab = read_image(path, 3, pre_A_.max_pixels);
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
  s.A = transform(read_image(s.A_path, pre_.channels, pre_.max_pixels), pre_, gen, s.A_path);
  return s;
}

// ---- the loader ----

Loader::Loader(const Dataset& ds, int batch_size, bool shuffle, int threads, uint64_t seed,
               int64_t max_dataset_size, int rank, int world)
    : ds_(ds),
      batch_size_(batch_size),
      shuffle_(shuffle),
      threads_(std::max(1, threads)),
      seed_(seed),
      rank_(rank),
      world_(world) {
  if (batch_size < 1) throw Error("--batch_size must be >= 1");
  if (world < 1 || rank < 0 || rank >= world)
    throw Error("Loader: rank " + std::to_string(rank) + " of " + std::to_string(world));
  // The official loop stops at the first batch i with i * batch_size >= max_dataset_size (the
  // global batch, in data parallel).
  const int64_t global_batch = int64_t{batch_size} * world;
  const int64_t cap_batches = max_dataset_size / global_batch + (max_dataset_size % global_batch != 0);
  epoch_len_ = std::min(ds.size(), cap_batches > ds.size() ? ds.size() : cap_batches * global_batch);
  ring_.resize(static_cast<size_t>(4 * batch_size + 2 * threads_));
  next_to_claim_ = next_to_deliver_ = end_ = 0;  // nothing to do before start_epoch
  for (int t = 0; t < threads_; ++t) workers_.emplace_back([this] { worker(); });
}

Loader::~Loader() { stop_workers(); }

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_)
    if (t.joinable()) t.join();
}

void Loader::start_epoch(int epoch, int64_t skip) {
  std::vector<int64_t> order(static_cast<size_t>(ds_.size()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  if (shuffle_) {
    Generator g(epoch_seed(seed_, epoch));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);  // Fisher-Yates
  }
  order.resize(static_cast<size_t>(epoch_len_));
  // what is left after skip, padded by wrapping around to a multiple of the rank count
  skip = std::clamp<int64_t>(skip, 0, epoch_len_);
  const int64_t per_rank = (epoch_len_ - skip + world_ - 1) / world_;
  for (int64_t g = epoch_len_; g < skip + per_rank * world_; ++g)
    order.push_back(order[static_cast<size_t>(g % std::max<int64_t>(epoch_len_, 1))]);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    epoch_ = epoch;
    order_ = std::move(order);
    skip_ = skip;
    end_ = per_rank;
    next_to_claim_ = next_to_deliver_ = 0;
    for (Slot& s : ring_) s = Slot{};
  }
  cv_.notify_all();
}

void Loader::worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] {
      return stopping_ || (next_to_claim_ < end_ &&
                           next_to_claim_ < next_to_deliver_ + static_cast<int64_t>(ring_.size()));
    });
    if (stopping_) return;
    const int64_t j = next_to_claim_++;
    const int64_t pos = skip_ + rank_ + j * world_;  // the global position: the sample's random choices
    const uint64_t gen_id = generation_;
    const int epoch = epoch_;
    const int64_t index = order_[static_cast<size_t>(pos)];
    lock.unlock();
    Slot filled;
    try {
      Generator g(sample_seed(seed_, epoch, pos));
      filled.sample = ds_.get(index, g);
    } catch (...) {
      filled.error = std::current_exception();
      filled.file = ds_.file(index);
    }
    filled.ready = true;
    lock.lock();
    if (gen_id == generation_) {
      ring_[static_cast<size_t>(j) % ring_.size()] = std::move(filled);
      cv_.notify_all();
    }
  }
}

bool Loader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_deliver_ >= end_) return false;
  const int64_t n = std::min<int64_t>(batch_size_, end_ - next_to_deliver_);
  std::vector<Sample> samples;
  std::exception_ptr error;
  std::string error_file;
  for (int64_t p = next_to_deliver_; p < next_to_deliver_ + n; ++p) {
    Slot& slot = ring_[static_cast<size_t>(p) % ring_.size()];
    cv_.wait(lock, [&] { return slot.ready; });
    if (slot.error && !error) {
      error = slot.error;
      error_file = slot.file;
    }
    samples.push_back(std::move(slot.sample));
    slot = Slot{};
  }
  next_to_deliver_ += n;  // a failed batch is dropped whole: the next call goes on after it
  lock.unlock();
  cv_.notify_all();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      throw LoadError(e.what(), error_file);
    }
  }

  std::vector<Tensor> as, bs;
  std::vector<float> labels;
  out = Batch{};
  const bool has_B = samples[0].B.defined(), has_label = samples[0].label >= 0;
  for (auto& s : samples) {
    if (s.A.shape() != samples[0].A.shape() || (has_B && s.B.shape() != samples[0].B.shape()))
      throw Error("images of one batch differ in size: '" + s.A_path + "' " + shape_str(s.A.shape()) +
                  (has_B ? " / '" + s.B_path + "' " + shape_str(s.B.shape()) : std::string()) + " vs '" +
                  samples[0].A_path + "' " + shape_str(samples[0].A.shape()) +
                  "; use --batch_size 1 or a cropping --preprocess");
    as.push_back(s.A.reshape({1, s.A.size(0), s.A.size(1), s.A.size(2)}));
    if (has_B) bs.push_back(s.B.reshape({1, s.B.size(0), s.B.size(1), s.B.size(2)}));
    out.A_paths.push_back(s.A_path);
    out.B_paths.push_back(s.B_path);
    labels.push_back(static_cast<float>(s.label));
  }
  out.A = as.size() == 1 ? as[0] : cat0(as);
  if (has_B) out.B = bs.size() == 1 ? bs[0] : cat0(bs);
  if (has_label) out.label = Tensor::from_vector(labels, {static_cast<int64_t>(labels.size())});
  return true;
}

}  // namespace cg::data
