// What the two cuDNN measurement programs (cudnn_layouts.cpp, cudnn_engines.cpp) share: error
// checks that stop the program, the convolutions of the default CycleGAN at one image size, event
// timing and device buffers of random values.
#pragma once

#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CK(x)                                                                                 \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                           \
    }                                                                                         \
  } while (0)
#define DN(x)                                                                                  \
  do {                                                                                         \
    cudnnStatus_t s_ = (x);                                                                    \
    if (s_ != CUDNN_STATUS_SUCCESS) {                                                          \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudnnGetErrorString(s_)); \
      std::exit(1);                                                                            \
    }                                                                                          \
  } while (0)

namespace cudnn_bench {

// A convolution: input (N, C, H, H), weight (K, C, R, R). A transposed convolution (T) is listed
// as the convolution it transposes.
struct Layer {
  const char* name;
  int C, H, K, R, stride, pad;
  int P() const { return (H + 2 * pad - R) / stride + 1; }
  double gflop(int N) const { return 2.0 * N * K * double(P()) * P() * C * R * R * 1e-9; }
};

// The default generator's and discriminator's convolutions for S x S images.
inline std::vector<Layer> cyclegan_layers(int S) {
  return {
      {"G c7s1-64 ", 3, S + 6, 64, 7, 1, 0},    {"G d128    ", 64, S, 128, 3, 2, 1},
      {"G d256    ", 128, S / 2, 256, 3, 2, 1}, {"G R256    ", 256, S / 4 + 2, 256, 3, 1, 0},
      {"G u128 (T)", 128, S / 2, 256, 3, 2, 1}, {"G u64 (T) ", 64, S, 128, 3, 2, 1},
      {"G c7s1-3  ", 64, S + 6, 3, 7, 1, 0},    {"D c64     ", 3, S, 64, 4, 2, 1},
      {"D c128    ", 64, S / 2, 128, 4, 2, 1},  {"D c256    ", 128, S / 4, 256, 4, 2, 1},
      {"D c512 s1 ", 256, S / 8, 512, 4, 1, 1}, {"D c1 s1   ", 512, S / 8 - 1, 1, 4, 1, 1},
  };
}

// Runs fn once to warm up, then `runs` times between events; the median in ms.
template <class F>
float time_ms(F fn, int runs) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  std::vector<float> t;
  fn();
  for (int i = 0; i < runs; ++i) {
    CK(cudaEventRecord(a));
    fn();
    CK(cudaEventRecord(b));
    CK(cudaEventSynchronize(b));
    float ms;
    CK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// A device buffer of n floats, uniform in [-0.5, 0.5) from a fixed linear congruential sequence.
inline float* random_buffer(size_t n, unsigned seed) {
  std::vector<float> h(n);
  for (auto& v : h) {
    seed = seed * 1664525u + 1013904223u;
    v = ((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
  }
  float* p;
  CK(cudaMalloc(&p, n * 4));
  CK(cudaMemcpy(p, h.data(), n * 4, cudaMemcpyHostToDevice));
  return p;
}

}  // namespace cudnn_bench
