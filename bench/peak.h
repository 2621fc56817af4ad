// The machine's FMA peak, measured rather than looked up: every thread runs independent chains of
// fused multiply-adds on the widest vectors the CPU has (12 chains hide the FMA latency), so the
// result is what the FMA units can do. Benchmarks report their GFLOP/s as a share of this.
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <chrono>

namespace cg::bench {

__attribute__((target("avx512f"))) inline float fma_chains_512(long iters) {
  __m512 a[12];
  const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
  }
  alignas(64) float t[16];
  float s = 0;
  for (int i = 0; i < 12; ++i) {
    _mm512_store_ps(t, a[i]);
    for (float v : t) s += v;
  }
  return s;
}

__attribute__((target("avx2,fma"))) inline float fma_chains_256(long iters) {
  __m256 a[12];
  const __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
  }
  alignas(32) float t[8];
  float s = 0;
  for (int i = 0; i < 12; ++i) {
    _mm256_store_ps(t, a[i]);
    for (float v : t) s += v;
  }
  return s;
}

// float32 GFLOP/s of `threads` threads (an FMA counts as 2 FLOPs), best of 3 runs.
inline double fma_peak_gflops(int threads, const char** isa = nullptr) {
  __builtin_cpu_init();
  const bool wide = __builtin_cpu_supports("avx512f");
  if (isa) *isa = wide ? "avx512" : "avx2";
  const long iters = 20000000;
  double best = 0;
  volatile float sink = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    float part = 0;
#pragma omp parallel num_threads(threads) reduction(+ : part)
    part += wide ? fma_chains_512(iters) : fma_chains_256(iters);
    sink = sink + part;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double flops = 2.0 * (wide ? 16 : 8) * 12 * static_cast<double>(iters) * threads;
    if (flops / s / 1e9 > best) best = flops / s / 1e9;
  }
  return best;
}

}  // namespace cg::bench
