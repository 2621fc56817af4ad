// One CycleGAN training iteration (optimize_parameters: both generators' forward and backward,
// both discriminators, both Adam steps) at the default architecture (resnet_9blocks, ngf 64,
// basic D, ndf 64, batch 1), at 128x128 and 256x256, on the CPU.
// Run: ./build/bench/bench_step   (threads: OMP_NUM_THREADS; --benchmark_filter=size:256 for one size)
#include <cstdio>

#include "bench/common.h"
#include "bench/peak.h"
#include "cpu/kernels.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "ops/ops.h"

using namespace cg;

static void BM_train_step(benchmark::State& st) {
  const int64_t size = st.range(0);
  cyclegan::Options o;
  o.seed = 1;
  cyclegan::CycleGANModel model(o, true);
  Generator g(2);
  model.set_input(Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0,
                  Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0);
  model.optimize_parameters();  // warm-up: caches, packed buffers, the allocator's blocks
  const uint64_t f0 = cpu::conv_flops();
  model.optimize_parameters();
  const double flops = static_cast<double>(cpu::conv_flops() - f0);  // convolution FLOPs of one step
  const uint64_t allocs = cpu::large_system_allocs();
  bench::run(st, flops, [&] { model.optimize_parameters(); });
  st.counters["new_large_allocs"] = static_cast<double>(cpu::large_system_allocs() - allocs);
  st.counters["conv_TFLOP"] = flops * 1e-12;
  st.counters["peak_RSS_MiB"] = bench::peak_rss_mib();
}
BENCHMARK(BM_train_step)->ArgName("size")->Arg(128)->Arg(256)->Iterations(3)->UseManualTime()->Unit(benchmark::kSecond);

int main(int argc, char** argv) {
  const char* isa = "";
  bench::g_peak = bench::fma_peak_gflops(omp_get_max_threads(), &isa);
  std::printf("threads %d, FMA peak %.1f GFLOP/s (%s)\n", omp_get_max_threads(), bench::g_peak, isa);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
