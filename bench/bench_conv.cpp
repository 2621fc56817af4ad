// Convolution speed at CycleGAN's real shapes, in GFLOP/s and as a share of the measured FMA peak.
// Run: ./build/bench/bench_conv   (threads: OMP_NUM_THREADS, default all cores)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>

#include "backend/dispatch.h"
#include "bench/peak.h"
#include "cpu/gemm.h"
#include "ops/ops.h"

using namespace cg;

namespace {
double g_peak = 0;  // GFLOP/s of all threads, measured once in main

// Times each iteration of `body` (wall clock: the kernels are multi-threaded) and reports GFLOP/s
// and the share of the FMA peak as plain counters.
template <class F>
void run(benchmark::State& st, double flops, F body) {
  double total = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.SetIterationTime(s);
    total += s;
  }
  const double gflops = flops * static_cast<double>(st.iterations()) / total * 1e-9;
  st.counters["GFLOP/s"] = gflops;
  st.counters["peak%"] = gflops / g_peak * 100;
}

// Args: C, K, H (= W), R (= S), stride, padding.
kern::ConvGeom geom(const benchmark::State& st) {
  kern::ConvGeom g{1,           st.range(0), st.range(2), st.range(2), st.range(1),
                   st.range(3), st.range(3), st.range(4), st.range(5)};
  g.P = (g.H + 2 * g.pad - g.R) / g.stride + 1;
  g.Q = (g.W + 2 * g.pad - g.S) / g.stride + 1;
  return g;
}
double conv_flops(const kern::ConvGeom& g) { return 2.0 * g.N * g.K * g.P * g.Q * g.C * g.R * g.S; }

struct Buffers {
  Tensor x, w, b, y;
  explicit Buffers(const kern::ConvGeom& g)
      : x(Tensor::randn({g.N, g.C, g.H, g.W})),
        w(Tensor::randn({g.K, g.C, g.R, g.S}) * 0.02),
        b(Tensor::zeros({g.K})),
        y(Tensor::randn({g.N, g.K, g.P, g.Q})) {}
};

void BM_conv_forward(benchmark::State& st) {
  const auto g = geom(st);
  Buffers t(g);
  run(st, conv_flops(g),
      [&] { cpu::conv2d_forward(DType::F32, t.x.raw(), t.w.raw(), t.b.raw(), t.y.raw(), g); });
}

void BM_conv_backward_data(benchmark::State& st) {
  const auto g = geom(st);
  Buffers t(g);
  run(st, conv_flops(g), [&] { cpu::conv2d_backward_data(DType::F32, t.y.raw(), t.w.raw(), t.x.raw(), g); });
}

void BM_conv_backward_weight(benchmark::State& st) {
  const auto g = geom(st);
  Buffers t(g);
  run(st, conv_flops(g),
      [&] { cpu::conv2d_backward_weight(DType::F32, t.x.raw(), t.y.raw(), t.w.raw(), t.b.raw(), g); });
}

// The residual-block convolution: 3x3, 256 -> 256 on 64x64 (after its reflection pad: 66x66, pad 0).
#define RES_BLOCK Args({256, 256, 66, 3, 1, 0})
}  // namespace

BENCHMARK(BM_conv_forward)
    ->RES_BLOCK->ArgNames({"C", "K", "HW", "R", "s", "p"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv_backward_data)
    ->RES_BLOCK->ArgNames({"C", "K", "HW", "R", "s", "p"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv_backward_weight)
    ->RES_BLOCK->ArgNames({"C", "K", "HW", "R", "s", "p"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  const char* isa = "";
  g_peak = bench::fma_peak_gflops(omp_get_max_threads(), &isa);
  std::printf("threads %d, FMA peak %.1f GFLOP/s (%s), GEMM micro-kernel %s\n", omp_get_max_threads(), g_peak,
              isa, cpu::gemm_isa());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
