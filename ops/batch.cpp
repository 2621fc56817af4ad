#include "ops/batch.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"

namespace cg {

static size_t row_bytes(const Tensor& x) {
  return x.size(0) ? x.nbytes() / static_cast<size_t>(x.size(0)) : 0;
}

// ---- slice0: dx = dy placed in rows [start, start + len) of zeros ----
Tensor slice0(const Tensor& x, int64_t start, int64_t len) {
  if (x.ndim() < 1 || start < 0 || len < 0 || start + len > x.size(0))
    throw Error("slice0: rows [" + std::to_string(start) + ", " + std::to_string(start + len) +
                ") out of range for " + x.describe());
  Shape s = x.shape();
  s[0] = len;
  Tensor y = Tensor::empty(s, x.dtype(), x.device());
  const size_t rb = row_bytes(x);
  CG_KERNEL(x.device(), copy, y.raw(), static_cast<const char*>(x.raw()) + rb * static_cast<size_t>(start),
            y.nbytes());
  const Shape xs = x.shape();
  record("slice0", {x}, y, [xs, start, rb](const Tensor& dy, const Need&) {
    Tensor dx = Tensor::zeros(xs, dy.dtype(), dy.device());
    CG_KERNEL(dy.device(), copy, static_cast<char*>(dx.raw()) + rb * static_cast<size_t>(start), dy.raw(),
              dy.nbytes());
    return Grads{dx};
  });
  return y;
}

// ---- cat0: each input's gradient is its slice of dy ----
Tensor cat0(const std::vector<Tensor>& xs) {
  if (xs.empty()) throw Error("cat0: no tensors to join");
  Shape s = xs[0].shape();
  if (s.empty()) throw Error("cat0: cannot join 0-dim tensors");
  int64_t rows = 0;
  for (const Tensor& t : xs) {
    check_same_device("cat0", {&xs[0], &t});
    check_same_dtype("cat0", {&xs[0], &t});
    if (t.ndim() != xs[0].ndim() || !std::equal(t.shape().begin() + 1, t.shape().end(), s.begin() + 1))
      throw Error("cat0: " + t.describe() + " does not match " + xs[0].describe() + " beyond dim 0");
    rows += t.size(0);
  }
  s[0] = rows;
  Tensor y = Tensor::empty(s, xs[0].dtype(), xs[0].device());
  size_t off = 0;
  std::vector<int64_t> lens;
  for (const Tensor& t : xs) {
    CG_KERNEL(t.device(), copy, static_cast<char*>(y.raw()) + off, t.raw(), t.nbytes());
    off += t.nbytes();
    lens.push_back(t.size(0));
  }
  record("cat0", xs, y, [lens](const Tensor& dy, const Need& need) {
    Grads g(lens.size());
    int64_t start = 0;
    for (size_t i = 0; i < lens.size(); ++i) {
      if (need[i]) g[i] = slice0(dy, start, lens[i]);
      start += lens[i];
    }
    return g;
  });
  return y;
}

// Channels [start, start + len) of (N, C, ...) x, copied block by block; not recorded (cat1's
// backward uses it).
static Tensor channel_slice(const Tensor& x, int64_t start, int64_t len) {
  Shape s = x.shape();
  s[1] = len;
  Tensor y = Tensor::empty(s, x.dtype(), x.device());
  const size_t plane = x.size(1) ? x.nbytes() / static_cast<size_t>(x.size(0) * x.size(1)) : 0;  // bytes
  for (int64_t n = 0; n < x.size(0); ++n)
    CG_KERNEL(x.device(), copy, static_cast<char*>(y.raw()) + n * len * plane,
              static_cast<const char*>(x.raw()) + (n * x.size(1) + start) * plane, len * plane);
  return y;
}

Tensor cat1(const std::vector<Tensor>& xs) {
  if (xs.empty()) throw Error("cat1: no tensors to join");
  Shape s = xs[0].shape();
  if (s.size() < 2) throw Error("cat1: needs tensors of 2 or more dims, got " + xs[0].describe());
  int64_t channels = 0;
  for (const Tensor& t : xs) {
    check_same_device("cat1", {&xs[0], &t});
    check_same_dtype("cat1", {&xs[0], &t});
    bool match = t.ndim() == xs[0].ndim() && t.size(0) == s[0];
    for (size_t d = 2; match && d < s.size(); ++d) match = t.shape()[d] == s[d];
    if (!match)
      throw Error("cat1: " + t.describe() + " does not match " + xs[0].describe() + " except in dim 1");
    channels += t.size(1);
  }
  s[1] = channels;
  Tensor y = Tensor::empty(s, xs[0].dtype(), xs[0].device());  // (N, sum C_i, ...)
  const int64_t N = s[0];
  const size_t plane = y.numel() ? y.nbytes() / static_cast<size_t>(N * channels) : 0;  // bytes per channel
  std::vector<int64_t> lens;
  int64_t at = 0;
  for (const Tensor& t : xs) {
    for (int64_t n = 0; n < N; ++n)  // sample n's channels of t go after those of the tensors before it
      CG_KERNEL(t.device(), copy, static_cast<char*>(y.raw()) + (n * channels + at) * plane,
                static_cast<const char*>(t.raw()) + n * t.size(1) * plane, t.size(1) * plane);
    at += t.size(1);
    lens.push_back(t.size(1));
  }
  record("cat1", xs, y, [lens](const Tensor& dy, const Need& need) {
    Grads g(lens.size());
    int64_t start = 0;
    for (size_t i = 0; i < lens.size(); ++i) {
      if (need[i]) g[i] = channel_slice(dy, start, lens[i]);
      start += lens[i];
    }
    return g;
  });
  return y;
}

}  // namespace cg
