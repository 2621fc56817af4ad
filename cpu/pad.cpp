// Reflection padding: the border mirrors the interior without repeating the edge pixel
// (PyTorch's ReflectionPad2d), so for a row [a b c d] and pad 2: [c b | a b c d | c b].
// Replication padding repeats the edge pixel (ReplicationPad2d): [a a | a b c d | d d].
#include <algorithm>

#include "cpu/kernels.h"
#include "cpu/loops.h"

namespace cg::cpu {
namespace {

// The source index of padded position i for an axis of length n with `before` padding in front.
inline int64_t reflect(int64_t i, int64_t before, int64_t n) {
  int64_t k = i - before;
  if (k < 0) k = -k;
  if (k >= n) k = 2 * (n - 1) - k;
  return k;
}

template <class T>
void pad_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int64_t top, int64_t bottom,
                 int64_t left, int64_t right) {
  const int64_t Ho = H + top + bottom, Wo = W + left + right;
#pragma omp parallel for schedule(static) if (NC * Ho * Wo > kParallelGrain)
  for (int64_t plane = 0; plane < NC; ++plane) {
    const T* xp = x + plane * H * W;
    T* yp = y + plane * Ho * Wo;
    for (int64_t i = 0; i < Ho; ++i) {
      const T* xr = xp + reflect(i, top, H) * W;
      T* yr = yp + i * Wo;
      for (int64_t j = 0; j < left; ++j) yr[j] = xr[left - j];
      for (int64_t j = 0; j < W; ++j) yr[left + j] = xr[j];
      for (int64_t j = 0; j < right; ++j) yr[left + W + j] = xr[W - 2 - j];
    }
  }
}

template <class T>
void pad_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int64_t top, int64_t bottom,
                  int64_t left, int64_t right) {
  const int64_t Ho = H + top + bottom, Wo = W + left + right;
#pragma omp parallel for schedule(static) if (NC * Ho * Wo > kParallelGrain)
  for (int64_t plane = 0; plane < NC; ++plane) {  // planes are disjoint: no races
    T* dxp = dx + plane * H * W;
    const T* dyp = dy + plane * Ho * Wo;
    for (int64_t k = 0; k < H * W; ++k) dxp[k] = T(0);
    for (int64_t i = 0; i < Ho; ++i) {
      T* dr = dxp + reflect(i, top, H) * W;
      const T* gr = dyp + i * Wo;
      for (int64_t j = 0; j < left; ++j) dr[left - j] += gr[j];
      for (int64_t j = 0; j < W; ++j) dr[j] += gr[left + j];
      for (int64_t j = 0; j < right; ++j) dr[W - 2 - j] += gr[left + W + j];
    }
  }
}

// The source index of padded position i under replication: the nearest index inside [0, n).
inline int64_t clamp_index(int64_t i, int64_t before, int64_t n) {
  return std::clamp<int64_t>(i - before, 0, n - 1);
}

template <class T>
void replicate_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int64_t top, int64_t bottom,
                       int64_t left, int64_t right) {
  const int64_t Ho = H + top + bottom, Wo = W + left + right;
#pragma omp parallel for schedule(static) if (NC * Ho * Wo > kParallelGrain)
  for (int64_t plane = 0; plane < NC; ++plane) {
    const T* xp = x + plane * H * W;
    T* yp = y + plane * Ho * Wo;
    for (int64_t i = 0; i < Ho; ++i) {
      const T* xr = xp + clamp_index(i, top, H) * W;
      T* yr = yp + i * Wo;
      std::fill(yr, yr + left, xr[0]);
      std::copy(xr, xr + W, yr + left);
      std::fill(yr + left + W, yr + Wo, xr[W - 1]);
    }
  }
}

template <class T>
void replicate_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int64_t top, int64_t bottom,
                        int64_t left, int64_t right) {
  const int64_t Ho = H + top + bottom, Wo = W + left + right;
#pragma omp parallel for schedule(static) if (NC * Ho * Wo > kParallelGrain)
  for (int64_t plane = 0; plane < NC; ++plane) {  // planes are disjoint: no races
    T* dxp = dx + plane * H * W;
    const T* dyp = dy + plane * Ho * Wo;
    std::fill(dxp, dxp + H * W, T(0));
    for (int64_t i = 0; i < Ho; ++i) {
      T* dr = dxp + clamp_index(i, top, H) * W;
      const T* gr = dyp + i * Wo;
      for (int64_t j = 0; j < left; ++j) dr[0] += gr[j];
      for (int64_t j = 0; j < W; ++j) dr[j] += gr[left + j];
      for (int64_t j = 0; j < right; ++j) dr[W - 1] += gr[left + W + j];
    }
  }
}

}  // namespace

void replication_pad2d_forward(DType dt, const void* x, void* y, int64_t NC, int64_t H, int64_t W,
                               int64_t top, int64_t bottom, int64_t left, int64_t right) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    replicate_forward(static_cast<const T*>(x), static_cast<T*>(y), NC, H, W, top, bottom, left, right);
  });
}

void replication_pad2d_backward(DType dt, const void* dy, void* dx, int64_t NC, int64_t H, int64_t W,
                                int64_t top, int64_t bottom, int64_t left, int64_t right) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    replicate_backward(static_cast<const T*>(dy), static_cast<T*>(dx), NC, H, W, top, bottom, left, right);
  });
}

void reflection_pad2d_forward(DType dt, const void* x, void* y, int64_t NC, int64_t H, int64_t W, int64_t top,
                              int64_t bottom, int64_t left, int64_t right) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    pad_forward(static_cast<const T*>(x), static_cast<T*>(y), NC, H, W, top, bottom, left, right);
  });
}

void reflection_pad2d_backward(DType dt, const void* dy, void* dx, int64_t NC, int64_t H, int64_t W,
                               int64_t top, int64_t bottom, int64_t left, int64_t right) {
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    pad_backward(static_cast<const T*>(dy), static_cast<T*>(dx), NC, H, W, top, bottom, left, right);
  });
}

}  // namespace cg::cpu
