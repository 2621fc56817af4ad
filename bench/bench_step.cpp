// One CycleGAN training iteration (optimize_parameters: both generators' forward and backward,
// both discriminators, both Adam steps) at the default architecture (resnet_9blocks, ngf 64,
// basic D, ndf 64, batch 1), at 128x128 and 256x256 on the CPU, and at 256x256 on the GPU where
// there is one (BM_train_step_cuda, with the peak GPU memory in use).
// Run: ./build/bench/bench_step   (threads: OMP_NUM_THREADS; --benchmark_filter=size:256 for one size)
#include <cstdio>

#include "bench/common.h"
#include "bench/peak.h"
#include "cpu/kernels.h"
#include "cuda/kernels.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "ops/ops.h"

using namespace cg;

// The step on `device`; on cuda every timed step ends with a stream synchronisation.
static void train_step(benchmark::State& st, const std::string& device) {
  const int64_t size = st.range(0);
  cyclegan::Options o;
  o.seed = 1;
  o.device = device;
  cyclegan::CycleGANModel model(o, true);
  Generator g(2);
  model.set_input(Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0,
                  Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0);
  const bool gpu = device == "cuda";
  auto step = [&] {
    model.optimize_parameters();
    if constexpr (kHaveCuda)
      if (gpu) cuda::synchronize();
  };
  step();  // warm-up: caches, packed buffers, the allocator's blocks, cuDNN's algorithm search
  const uint64_t f0 = cpu::conv_flops();
  step();
  // convolution FLOPs of one step (counted by the CPU kernels; on the GPU, taken from a CPU step)
  const double flops = gpu ? 0.0 : static_cast<double>(cpu::conv_flops() - f0);
  const uint64_t allocs = cpu::large_system_allocs();
  if constexpr (kHaveCuda)
    if (gpu) cuda::reset_peak_bytes_in_use();
  bench::run(st, flops, step);
  if (!gpu) {
    st.counters["new_large_allocs"] = static_cast<double>(cpu::large_system_allocs() - allocs);
    st.counters["conv_TFLOP"] = flops * 1e-12;
    st.counters["peak_RSS_MiB"] = bench::peak_rss_mib();
  } else if constexpr (kHaveCuda) {
    st.counters["peak_GPU_MiB"] = static_cast<double>(cuda::peak_bytes_in_use()) / (1 << 20);
  }
}

static void BM_train_step(benchmark::State& st) { train_step(st, "cpu"); }
static void BM_train_step_cuda(benchmark::State& st) { train_step(st, "cuda"); }
BENCHMARK(BM_train_step)
    ->ArgName("size")
    ->Arg(128)
    ->Arg(256)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

int main(int argc, char** argv) {
  const char* isa = "";
  bench::g_peak = bench::fma_peak_gflops(omp_get_max_threads(), &isa);
  std::printf("threads %d, FMA peak %.1f GFLOP/s (%s)\n", omp_get_max_threads(), bench::g_peak, isa);
  if (cuda_available())  // the GPU step, where there is a GPU: ms per iteration, 20 iterations
    benchmark::RegisterBenchmark("BM_train_step_cuda", BM_train_step_cuda)
        ->ArgName("size")
        ->Arg(256)
        ->Iterations(20)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
