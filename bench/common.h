// Shared by the benchmark programs: the measured FMA peak, and a timing helper that reports
// GFLOP/s and the share of that peak as plain counters.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>

namespace cg::bench {

inline double g_peak = 0;  // GFLOP/s of all threads, measured once in main

// Times each iteration of `body` by the wall clock (the kernels are multi-threaded).
template <class F>
void run(benchmark::State& st, double flops, F body) {
  body();  // warm-up, untimed: first-touch page faults, packed buffers, caches
  double total = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.SetIterationTime(s);
    total += s;
  }
  if (flops <= 0) return;  // memory-bound ops report their own GB/s
  const double gflops = flops * static_cast<double>(st.iterations()) / total * 1e-9;
  st.counters["GFLOP/s"] = gflops;
  st.counters["peak%"] = gflops / g_peak * 100;
}

// The process's peak resident memory so far, in MiB.
inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace cg::bench
