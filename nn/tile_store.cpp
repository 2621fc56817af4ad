#include "nn/tile_store.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "ops/ops.h"

namespace cg::nn {

namespace {
std::string why() { return std::strerror(errno); }
}  // namespace

TileStore::TileStore(const Shape& shape, const std::string& dir, std::string what)
    : shape_(shape), what_(std::move(what)), dir_(dir) {
  if (shape_.size() != 4) throw Error("TileStore: expected (N, C, H, W), got " + shape_str(shape_));
  if (dir.empty()) {
    memory_ = Tensor::empty(shape_);  // every element is written before it is read
    mem_ = memory_.data<float>();
    return;
  }
  std::string path = dir + "/cg_tiles_XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  fd_ = mkstemp(name.data());
  if (fd_ < 0) throw Error("cannot make a temporary file under '" + dir + "' for " + what_ + ": " + why());
  unlink(name.data());  // nameless from now on: nothing is left behind, whatever happens
}

TileStore::~TileStore() {
  if (fd_ >= 0) close(fd_);
}

int64_t TileStore::bytes() const { return shape_numel(shape_) * static_cast<int64_t>(sizeof(float)); }

void TileStore::check(const Rect& r, const char* op) const {
  if (r.y0 < 0 || r.x0 < 0 || r.y1 > shape_[2] || r.x1 > shape_[3] || r.h() <= 0 || r.w() <= 0)
    throw Error(std::string("TileStore::") + op + ": rows [" + std::to_string(r.y0) + ", " +
                std::to_string(r.y1) + ") and columns [" + std::to_string(r.x0) + ", " +
                std::to_string(r.x1) + ") are not inside " + what_ + " " + shape_str(shape_));
}

void TileStore::put(int64_t at, const float* src, int64_t count) {
  const char* p = reinterpret_cast<const char*>(src);
  size_t left = static_cast<size_t>(count) * sizeof(float);
  off_t off = static_cast<off_t>(at) * static_cast<off_t>(sizeof(float));
  while (left > 0) {
    const ssize_t n = pwrite(fd_, p, left, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error("writing " + what_ + " to its temporary file under '" + dir_ +
                  "' failed: " + (n < 0 ? why() : std::string("no progress")));
    p += n;
    left -= static_cast<size_t>(n);
    off += n;
  }
}

void TileStore::get(int64_t at, float* dst, int64_t count) const {
  char* p = reinterpret_cast<char*>(dst);
  size_t left = static_cast<size_t>(count) * sizeof(float);
  off_t off = static_cast<off_t>(at) * static_cast<off_t>(sizeof(float));
  while (left > 0) {
    const ssize_t n = pread(fd_, p, left, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error("reading " + what_ + " from its temporary file under '" + dir_ +
                  "' failed: " + (n < 0 ? why() : std::string("the file is shorter than written")));
    p += n;
    left -= static_cast<size_t>(n);
    off += n;
  }
}

Tensor TileStore::write(const Rect& r, const Tensor& tile) {
  check(r, "write");
  const int64_t N = shape_[0], C = shape_[1], H = shape_[2], W = shape_[3];
  if (tile.shape() != Shape{N, C, r.h(), r.w()} || tile.dtype() != DType::F32)
    throw Error("TileStore::write: " + what_ + " expects float32 [" + std::to_string(N) + ", " +
                std::to_string(C) + ", " + std::to_string(r.h()) + ", " + std::to_string(r.w()) + "], got " +
                tile.describe());
  const Tensor host = tile.detach().to(Device::CPU);  // (N, C, h, w)
  const float* src = std::as_const(host).data<float>();
  const int64_t rows = N * C * r.h();  // (n, c, y) row segments of w values
  auto at = [&](int64_t row) { return (row / r.h() * H + r.y0 + row % r.h()) * W + r.x0; };
  if (mem_) {
    memory_.bump_version();
#pragma omp parallel for schedule(static) if (rows > 64)
    for (int64_t row = 0; row < rows; ++row)
      std::memcpy(mem_ + at(row), src + row * r.w(), static_cast<size_t>(r.w()) * sizeof(float));
  } else {
    for (int64_t row = 0; row < rows; ++row) put(at(row), src + row * r.w(), r.w());
  }
  return host;
}

Tensor TileStore::read(const Rect& r, Device device) const {
  check(r, "read");
  const int64_t N = shape_[0], C = shape_[1], H = shape_[2], W = shape_[3];
  Tensor out = Tensor::empty({N, C, r.h(), r.w()});  // (N, C, h, w) on the host
  float* dst = out.data<float>();
  const int64_t rows = N * C * r.h();
  auto at = [&](int64_t row) { return (row / r.h() * H + r.y0 + row % r.h()) * W + r.x0; };
  if (mem_) {
#pragma omp parallel for schedule(static) if (rows > 64)
    for (int64_t row = 0; row < rows; ++row)
      std::memcpy(dst + row * r.w(), mem_ + at(row), static_cast<size_t>(r.w()) * sizeof(float));
  } else {
    for (int64_t row = 0; row < rows; ++row) get(at(row), dst + row * r.w(), r.w());
  }
  return out.to(device);
}

const Tensor& TileStore::whole() const {
  if (!memory_.defined()) throw Error("TileStore::whole: " + what_ + " is in a file, not in memory");
  return memory_;
}

int64_t free_disk_bytes(const std::string& dir) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) != 0) throw Error("cannot ask how much space '" + dir + "' has: " + why());
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

}  // namespace cg::nn
