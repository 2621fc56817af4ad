// One CycleGAN training iteration (optimize_parameters: both generators' forward and backward,
// both discriminators, both Adam steps) at the default architecture (resnet_9blocks, ngf 64,
// basic D, ndf 64), batch 1 at 128x128 and 256x256 on the CPU, and where there is a GPU
// (BM_train_step_cuda, with the peak GPU memory in use) at 256, 512 and 1024 with batch 1 and 256
// with batch 4, the sizes of bench/compare_cuda.sh. On the GPU the timed steps are replays of the
// captured CUDA graphs (the first step is eager, the second captures).
// Also CUT's and FastCUT's iteration at 256x256 on the CPU (BM_cut_step).
// Run: ./build/bench/bench_step   (threads: OMP_NUM_THREADS; --benchmark_filter=size:256 for one size;
// CG_AMP=1 for the step with --amp; CG_RECOMPUTE=1 with --recompute; CG_STEP_SIZES=512 for
// other CPU sizes than 128,256, CG_STEP_ITERS=1 for one timed iteration; one size per process for
// its own peak RSS)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "backend/device.h"
#include "bench/common.h"
#include "bench/peak.h"
#include "cpu/kernels.h"
#include "models/cut/cut_model.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "models/networks/networks.h"
#include "ops/ops.h"

using namespace cg;

// The step on `device`; on cuda every timed step ends with a stream synchronisation.
static void train_step(benchmark::State& st, const std::string& device) {
  const int64_t size = st.range(0), batch = st.range(1);
  models::Options o = models::default_options("cycle_gan", true);
  o.seed = 1;
  o.device = device;
  const char* amp = std::getenv("CG_AMP");
  o.amp = amp && std::string(amp) == "1";
  const char* recompute = std::getenv("CG_RECOMPUTE");
  o.recompute = recompute && std::string(recompute) == "1";
  cyclegan::CycleGANModel model(o, true);
  if (o.recompute)  // as models::create_model does for the flag
    for (const auto& [name, net] : model.networks()) models::recompute_resnet(*net, true);
  Generator g(2);
  model.set_input(Tensor::rand({batch, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0,
                  Tensor::rand({batch, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0);
  const bool gpu = device == "cuda";
  auto step = [&] {
    model.optimize_parameters();
    if constexpr (kHaveCuda)
      if (gpu) backend::synchronize(Device::CUDA);
  };
  step();  // warm-up: caches, packed buffers, the allocator's blocks, cuDNN's engine search
  const uint64_t f0 = cpu::conv_flops();
  step();
  if (gpu) step();  // the first step was eager, this one captured the graphs: the timed ones replay
  // convolution FLOPs of one step (counted by the CPU kernels; on the GPU, taken from a CPU step)
  const double flops = gpu ? 0.0 : static_cast<double>(cpu::conv_flops() - f0);
  const uint64_t allocs = cpu::large_system_allocs();
  if constexpr (kHaveCuda)
    if (gpu &&
        std::getenv("CG_PROFILE_STEP")) {  // one replayed step for a profiler (ncu --profile-from-start off)
      backend::profiler_range(true);
      step();
      backend::profiler_range(false);
    }
  // On the GPU the peak covers the warm-up steps: the blocks a captured graph uses are counted when
  // it is captured, not when it is replayed.
  bench::run(st, flops, step);
  st.counters["amp"] = o.amp;
  st.counters["recompute"] = o.recompute;
  if (!gpu) {
    st.counters["new_large_allocs"] = static_cast<double>(cpu::large_system_allocs() - allocs);
    st.counters["conv_TFLOP"] = flops * 1e-12;
    st.counters["peak_RSS_MiB"] = bench::peak_rss_mib();
  } else if constexpr (kHaveCuda) {
    st.counters["peak_GPU_MiB"] = static_cast<double>(backend::gpu_memory().peak_in_use) / (1 << 20);
    st.counters["reserved_GPU_MiB"] = static_cast<double>(backend::gpu_memory().reserved) / (1 << 20);
    st.counters["graph_replays"] = model.graph_replays();
  }
}

// One CUT (mode 0) or FastCUT (mode 1) training iteration (CUTModel::optimize_parameters: G on the
// batch (and on real_B for CUT's identity PatchNCE), D's step, G's and F's step on the GAN and
// PatchNCE losses) at the official defaults (resnet_9blocks antialiased, ngf 64; basic D
// antialiased, ndf 64; F: mlp_sample, 256 channels, 256 positions per layer at 0,4,8,12,16), batch 1,
// on the CPU. One process per model gives each its own peak memory (bench/compare_cut.py).
static void BM_cut_step(benchmark::State& st) {
  const int64_t size = st.range(0);
  const std::string mode = st.range(1) == 0 ? "CUT" : "FastCUT";
  models::Options o = models::default_options("cut", true, [&](const std::string& flag) {
    return flag == "CUT_mode" ? std::optional<std::string>(mode) : std::nullopt;
  });
  o.set("CUT_mode", mode);
  o.seed = 1;
  cut::CUTModel model(o, true);
  Generator g(2);
  model.set_input(Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0,
                  Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0);
  model.optimize_parameters();  // warm-up: caches, packed buffers, the allocator's blocks
  const uint64_t f0 = cpu::conv_flops();
  model.optimize_parameters();
  const double flops = static_cast<double>(cpu::conv_flops() - f0);
  bench::run(st, flops, [&] { model.optimize_parameters(); });
  st.counters["conv_TFLOP"] = flops * 1e-12;
  st.counters["peak_RSS_MiB"] = bench::peak_rss_mib();
}
BENCHMARK(BM_cut_step)
    ->ArgNames({"size", "mode"})
    ->Args({256, 0})
    ->Args({256, 1})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

static void BM_train_step(benchmark::State& st) { train_step(st, "cpu"); }

static std::vector<std::string> split_sizes(const std::string& list) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t comma = std::min(list.find(',', at), list.size());
    if (comma > at) out.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}
static void BM_train_step_cuda(benchmark::State& st) { train_step(st, "cuda"); }

int main(int argc, char** argv) {
  const char* isa = "";
  bench::g_peak = bench::fma_peak_gflops(omp_get_max_threads(), &isa);
  std::printf("threads %d, FMA peak %.1f GFLOP/s (%s)\n", omp_get_max_threads(), bench::g_peak, isa);
  const char* sizes = std::getenv("CG_STEP_SIZES");  // the CPU step's sizes, "128,256" by default
  const char* iters = std::getenv("CG_STEP_ITERS");  // timed iterations per size, 3 by default
  for (const std::string& size : split_sizes(sizes ? sizes : "128,256"))
    benchmark::RegisterBenchmark("BM_train_step", BM_train_step)
        ->ArgNames({"size", "batch"})
        ->Args({std::stoll(size), 1})
        ->Iterations(iters ? std::stoll(iters) : 3)
        ->UseManualTime()
        ->Unit(benchmark::kSecond);
  if (cuda_available())  // the GPU step, where there is a GPU: ms per iteration
    for (auto [size, batch, iters] : {std::tuple{256, 1, 30}, {512, 1, 20}, {1024, 1, 10}, {256, 4, 20}})
      benchmark::RegisterBenchmark("BM_train_step_cuda", BM_train_step_cuda)
          ->ArgNames({"size", "batch"})
          ->Args({size, batch})
          ->Iterations(iters)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
