// Every convolution of the default CycleGAN at 256x256 (generator and discriminator; forward,
// backward-data, backward-weight), instance norm and reflection pad, in GFLOP/s and as a share of
// the measured FMA peak; CUT's antialiasing blurs (depthwise) and PatchNCE's bmm.
// Run: ./build/bench/bench_ops  (threads: OMP_NUM_THREADS)
#include <cstdio>

#include "backend/dispatch.h"
#include "bench/common.h"
#include "bench/peak.h"
#include "cpu/gemm.h"
#include "ops/ops.h"

using namespace cg;
using bench::run;

namespace {

// Args: C, K, H (= W, the kernel's input), R (= S), stride, padding.
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

// Args: C, H (= W), fused ReLU. Memory traffic reported as GB/s.
void BM_instance_norm_forward(benchmark::State& st) {
  const int64_t C = st.range(0), H = st.range(1);
  Tensor x = Tensor::randn({1, C, H, H}), y = Tensor::empty({1, C, H, H}), r = Tensor::empty({C});
  Tensor out = Tensor::empty({1, C, H, H});
  const bool act = st.range(2) != 0;  // with the fused ReLU
  run(st, 0, [&] {
    cpu::instance_norm_forward(DType::F32, x.raw(), y.raw(), r.raw(), C, H * H, 1e-5, act, 0.0, out.raw());
  });
  st.counters["GB/s"] =
      benchmark::Counter(3.0 * 4 * C * H * H * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
void BM_instance_norm_backward(benchmark::State& st) {
  const int64_t C = st.range(0), H = st.range(1);
  Tensor g = Tensor::randn({1, C, H, H}), y = Tensor::randn({1, C, H, H}), r = Tensor::ones({C}),
         dx = Tensor::empty({1, C, H, H});
  const bool act = st.range(2) != 0;
  run(st, 0, [&] {
    cpu::instance_norm_backward(DType::F32, g.raw(), y.raw(), r.raw(), dx.raw(), C, H * H, act, 0.0);
  });
  st.counters["GB/s"] =
      benchmark::Counter(5.0 * 4 * C * H * H * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
// Args: C, H (= W), pad.
void BM_reflection_pad_forward(benchmark::State& st) {
  const int64_t C = st.range(0), H = st.range(1), p = st.range(2);
  Tensor x = Tensor::randn({1, C, H, H}), y = Tensor::empty({1, C, H + 2 * p, H + 2 * p});
  run(st, 0, [&] { cpu::reflection_pad2d_forward(DType::F32, x.raw(), y.raw(), C, H, H, p, p, p, p); });
  st.counters["GB/s"] = benchmark::Counter(4.0 * C * (H * H + (H + 2 * p) * (H + 2 * p)) * 1e-9,
                                           benchmark::Counter::kIsIterationInvariantRate);
}
void BM_reflection_pad_backward(benchmark::State& st) {
  const int64_t C = st.range(0), H = st.range(1), p = st.range(2);
  Tensor dy = Tensor::randn({1, C, H + 2 * p, H + 2 * p}), dx = Tensor::empty({1, C, H, H});
  run(st, 0, [&] { cpu::reflection_pad2d_backward(DType::F32, dy.raw(), dx.raw(), C, H, H, p, p, p, p); });
  st.counters["GB/s"] = benchmark::Counter(4.0 * C * (H * H + (H + 2 * p) * (H + 2 * p)) * 1e-9,
                                           benchmark::Counter::kIsIterationInvariantRate);
}

// CUT's blurs, depthwise (Args: C, H (= W, the kernel's input), R (= S), stride, padding): its
// Downsample is the forward, its Upsample the backward-data of the convolution it transposes.
kern::ConvGeom depthwise_geom(const benchmark::State& st) {
  kern::ConvGeom g{1,           st.range(0), st.range(1), st.range(1), st.range(0),
                   st.range(2), st.range(2), st.range(3), st.range(4)};
  g.P = (g.H + 2 * g.pad - g.R) / g.stride + 1;
  g.Q = (g.W + 2 * g.pad - g.S) / g.stride + 1;
  return g;
}
void BM_depthwise_forward(benchmark::State& st) {
  const auto g = depthwise_geom(st);
  Tensor x = Tensor::randn({1, g.C, g.H, g.W}), w = Tensor::randn({g.C, 1, g.R, g.S}),
         y = Tensor::empty({1, g.C, g.P, g.Q});
  run(st, 2.0 * g.C * g.P * g.Q * g.R * g.S,
      [&] { cpu::depthwise_conv2d_forward(DType::F32, x.raw(), w.raw(), y.raw(), g); });
}
void BM_depthwise_backward_data(benchmark::State& st) {
  const auto g = depthwise_geom(st);
  Tensor dy = Tensor::randn({1, g.C, g.P, g.Q}), w = Tensor::randn({g.C, 1, g.R, g.S}),
         dx = Tensor::empty({1, g.C, g.H, g.W});
  run(st, 2.0 * g.C * g.P * g.Q * g.R * g.S,
      [&] { cpu::depthwise_conv2d_backward_data(DType::F32, dy.raw(), w.raw(), dx.raw(), g); });
}
// Args: B, M, K, N.
void BM_bmm(benchmark::State& st) {
  const int64_t B = st.range(0), M = st.range(1), K = st.range(2), N = st.range(3);
  Tensor a = Tensor::randn({B, M, K}), b = Tensor::randn({B, K, N}), c = Tensor::empty({B, M, N});
  run(st, 2.0 * B * M * N * K,
      [&] { cpu::batched_gemm(DType::F32, a.raw(), b.raw(), c.raw(), B, M, N, K, false, false); });
}
void depthwise_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "H", "R", "s", "p"});
  b->Args({128, 258, 3, 2, 0});  // G Downsample 1 (reflection-padded 256x256)
  b->Args({256, 130, 3, 2, 0});  // G Downsample 2
  b->Args({256, 130, 4, 2, 2});  // G Upsample 1 (the conv it transposes: 130 -> 66, replication-padded 64)
  b->Args({128, 258, 4, 2, 2});  // G Upsample 2
  b->Args({64, 257, 3, 2, 0});   // D Downsample 1
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

// The convolutions of the default networks at 256x256. The generator's reflection-padded convs
// see their padded input with padding 0. A transposed conv (upsampling) is listed as the
// convolution it transposes: its forward is that conv's backward-data, its backward-data that
// conv's forward.
void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "K", "H", "R", "s", "p"});
  b->Args({3, 64, 262, 7, 1, 0});     // G head 7x7 3->64
  b->Args({64, 128, 256, 3, 2, 1});   // G down 1
  b->Args({128, 256, 128, 3, 2, 1});  // G down 2
  b->Args({256, 256, 66, 3, 1, 0});   // G residual block 3x3 256->256 (x18)
  b->Args({256, 256, 34, 3, 1, 0});   // ... the same at 128x128 images
  b->Args({128, 256, 128, 3, 2, 1});  // G up 1 = transposed 256->128, 64 -> 128
  b->Args({64, 128, 256, 3, 2, 1});   // G up 2 = transposed 128->64, 128 -> 256
  b->Args({64, 3, 262, 7, 1, 0});     // G tail 7x7 64->3
  b->Args({3, 64, 256, 4, 2, 1});     // D 1
  b->Args({64, 128, 128, 4, 2, 1});   // D 2
  b->Args({128, 256, 64, 4, 2, 1});   // D 3
  b->Args({256, 512, 32, 4, 1, 1});   // D 4
  b->Args({512, 1, 31, 4, 1, 1});     // D 5
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}
// The generator's instance norms at 256x256 (Args: C, H, fused ReLU 0/1), and one without ReLU
// (the residual blocks' second norm).
void norm_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "H", "relu"});
  b->Args({64, 256, 1});
  b->Args({128, 128, 1});
  b->Args({256, 64, 1});
  b->Args({256, 64, 0});
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}
}  // namespace

BENCHMARK(BM_conv_forward)->Apply(conv_shapes);
BENCHMARK(BM_conv_backward_data)->Apply(conv_shapes);
BENCHMARK(BM_conv_backward_weight)->Apply(conv_shapes);
BENCHMARK(BM_instance_norm_forward)->Apply(norm_shapes);
BENCHMARK(BM_instance_norm_backward)->Apply(norm_shapes);
BENCHMARK(BM_reflection_pad_forward)
    ->ArgNames({"C", "H", "p"})
    ->Args({3, 256, 3})
    ->Args({64, 256, 3})
    ->Args({256, 64, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_reflection_pad_backward)
    ->ArgNames({"C", "H", "p"})
    ->Args({64, 256, 3})
    ->Args({256, 64, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_depthwise_forward)->Apply(depthwise_shapes);
BENCHMARK(BM_depthwise_backward_data)->Apply(depthwise_shapes);
// PatchNCE with 256 patches of 256 features: the negatives (one 256x256x256 product per image) and
// the positives (256 dot products)
BENCHMARK(BM_bmm)
    ->ArgNames({"B", "M", "K", "N"})
    ->Args({1, 256, 256, 256})
    ->Args({256, 1, 256, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  const char* isa = "";
  bench::g_peak = bench::fma_peak_gflops(omp_get_max_threads(), &isa);
  std::printf("threads %d, FMA peak %.1f GFLOP/s (%s), GEMM micro-kernel %s\n", omp_get_max_threads(),
              bench::g_peak, isa, cpu::gemm_isa());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
