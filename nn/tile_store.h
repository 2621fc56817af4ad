// Where the tiled evaluator (nn/tiled.h) keeps a stage's output until the stages that read it have
// run: a (N, C, H, W) float32 value on the host, in memory or in a temporary file, written and read
// one rectangle at a time, one row segment per (n, c, row). The layout is the tensors' own, so a
// rectangle moves with plain copies (no transposition), and an in-memory store is a tensor.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace cg::nn {

// Rows [y0, y1) and columns [x0, x1) of a (N, C, H, W) value.
struct Rect {
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  int64_t h() const { return y1 - y0; }
  int64_t w() const { return x1 - x0; }
};

class TileStore {
 public:
  // In memory when `dir` is empty; else in a file made under `dir` and unlinked at once, so that its
  // space goes back to the system when the store is destroyed or the process ends, however it ends.
  // `what` names the value in errors.
  TileStore(const Shape& shape, const std::string& dir, std::string what);
  ~TileStore();
  TileStore(const TileStore&) = delete;
  TileStore& operator=(const TileStore&) = delete;

  const Shape& shape() const { return shape_; }
  bool in_file() const { return fd_ >= 0; }
  int64_t bytes() const;

  // Writes `tile`, (N, C, r.h, r.w) float32 on any device, into rectangle r. Returns the values
  // written, on the host (the tile itself when it is there), for the caller's statistics.
  Tensor write(const Rect& r, const Tensor& tile);
  // Rectangle r as (N, C, r.h, r.w) on `device`.
  Tensor read(const Rect& r, Device device) const;
  // An in-memory store's whole value, (N, C, H, W) on the host.
  const Tensor& whole() const;

 private:
  void check(const Rect& r, const char* op) const;
  // One row segment of the file: `count` floats at float offset `at`.
  void put(int64_t at, const float* src, int64_t count);
  void get(int64_t at, float* dst, int64_t count) const;

  Shape shape_;  // (N, C, H, W)
  std::string what_, dir_;
  int fd_ = -1;           // the file, or -1
  Tensor memory_;         // (N, C, H, W) on the host, when not in a file
  float* mem_ = nullptr;  // its data
};

// Bytes free for an unprivileged user on the file system that holds `dir` (statvfs); throws
// naming `dir` when it cannot be asked.
int64_t free_disk_bytes(const std::string& dir);

}  // namespace cg::nn
