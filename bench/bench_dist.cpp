// Data parallel on the CPU, at the default CycleGAN's real shapes (resnet_9blocks ngf 64, basic D
// ndf 64): what one training iteration costs each rank and how much of it the gradient averaging
// takes. Run alone for the one-process baseline, or under mpirun for N ranks:
//
//   OMP_NUM_THREADS=2 ./build/bench/bench_dist                       # 1 rank x 2 threads
//   OMP_NUM_THREADS=1 mpirun -np 2 --bind-to none ./build/bench/bench_dist   # 2 ranks x 1 thread
//
// - BM_average_gradients: distributed::average_gradients on gradients of the shapes of both generators'
//   parameters (22,756,358 floats, 91 MB) and then both discriminators' (5,529,474 floats, 22 MB),
//   as one step's two optimizers call it; reports the bytes, the algorithm bandwidth (bytes / time)
//   and the bus bandwidth NCCL's tests report (algbw x 2(N-1)/N: what each rank's link carried).
//   Only under mpirun (alone there is nothing to average).
// - BM_train_step_dp: one data-parallel iteration (optimize_parameters with the averaging hook),
//   batch 1 per rank at 128x128 (--benchmark_filter=size:256 for 256x256); reports the global
//   samples per second and the share of the iteration spent averaging.
//
// Google Benchmark picks iteration counts by timing, which would let the ranks disagree on how many
// collectives to run and deadlock; every benchmark here has a fixed count. Rank 0 reports.
// The PyTorch peer: bench/peer_dist.py (bench/compare_dist.sh runs all of it).
#include <cstdio>

#include "backend/comm.h"
#include "bench/common.h"
#include "bench/peak.h"
#include "distributed/data_parallel.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "ops/all_reduce.h"
#include "ops/ops.h"

using namespace cg;

namespace {

models::Options default_options() {
  models::Options o = models::default_options("cycle_gan", true);
  o.seed = 1;  // every rank builds the same weights, as a training's broadcast would leave them
  o.device = "cpu";
  return o;
}

// The gradients one step's optimizers hand to the averaging: both generators', both discriminators'.
std::vector<std::vector<Tensor>> gradient_sets(const cyclegan::CycleGANModel& model) {
  std::vector<std::vector<Tensor>> sets(2);
  Generator g(3 + static_cast<uint64_t>(comm::rank()));
  for (const auto& [name, net] : model.networks())
    for (const Tensor& p : net->parameters())
      sets[name[0] == 'G' ? 0 : 1].push_back(Tensor::rand(p.shape(), DType::F32, Device::CPU, &g));
  return sets;
}

// Runs `body` under bench::run and returns, over the timed iterations only (not its warm-up), the
// seconds per iteration and what average_gradients did in them.
struct Timed {
  double seconds = 0;                // per iteration
  distributed::ReduceStats reduced;  // over all timed iterations
};
template <class F>
Timed timed(benchmark::State& st, F body) {
  bool warm = false;
  distributed::ReduceStats r0;
  double total = 0;
  bench::run(st, 0, [&] {
    if (!warm) {  // the warm-up: packed buffers, the allocator's blocks, MPI's connections
      body();
      r0 = distributed::reduce_stats();
      warm = true;
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    body();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  });
  const distributed::ReduceStats r1 = distributed::reduce_stats();
  return {total / static_cast<double>(st.iterations()),
          {r1.bytes - r0.bytes, r1.seconds - r0.seconds, r1.calls - r0.calls}};
}

void average_gradients(benchmark::State& st) {
  const cyclegan::CycleGANModel model(default_options(), true);
  const auto sets = gradient_sets(model);
  double bytes = 0;
  for (const auto& s : sets)
    for (const Tensor& t : s) bytes += static_cast<double>(t.nbytes());
  const Timed t = timed(st, [&] {
    for (const auto& s : sets) distributed::average_gradients(s);
  });
  const int n = comm::size();
  st.counters["ranks"] = n;
  st.counters["MB"] = bytes * 1e-6;
  st.counters["algbw_GB/s"] = bytes / t.seconds * 1e-9;
  st.counters["busbw_GB/s"] = bytes / t.seconds * 1e-9 * 2.0 * (n - 1) / n;
  // average_gradients calls per iteration (2: G and D)
  st.counters["calls"] = static_cast<double>(t.reduced.calls) / static_cast<double>(st.iterations());
}

void train_step_dp(benchmark::State& st) {
  const int64_t size = st.range(0);
  cyclegan::CycleGANModel model(default_options(), true);
  Generator g(2 + static_cast<uint64_t>(comm::rank()));  // each rank its own images
  model.set_input(Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0,
                  Tensor::rand({1, 3, size, size}, DType::F32, Device::CPU, &g) * 2.0 - 1.0);
  const Timed t = timed(st, [&] { model.optimize_parameters(); });
  st.counters["ranks"] = comm::size();
  st.counters["threads_per_rank"] = omp_get_max_threads();
  st.counters["samples/s"] = comm::size() / t.seconds;
  st.counters["averaging%"] = t.reduced.seconds / (t.seconds * static_cast<double>(st.iterations())) * 100;
}

// What ranks other than 0 report to: nothing (rank 0 prints for all).
class Silent : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  try {
    comm::init(&argc, &argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_dist: %s\n", e.what());
    return 1;
  }
  if (comm::is_root()) {
    const char* isa = "";
    const double peak = bench::fma_peak_gflops(omp_get_max_threads(), &isa);
    std::printf("%d rank(s) x %d thread(s); FMA peak of one rank's threads %.1f GFLOP/s (%s)\n", comm::size(),
                omp_get_max_threads(), peak, isa);
  }
  if (comm::size() > 1)
    benchmark::RegisterBenchmark("BM_average_gradients", average_gradients)
        ->Iterations(5)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  for (int size : {128, 256})
    benchmark::RegisterBenchmark("BM_train_step_dp", train_step_dp)
        ->ArgNames({"size"})
        ->Arg(size)
        ->Iterations(3)
        ->UseManualTime()
        ->Unit(benchmark::kSecond);
  benchmark::Initialize(&argc, argv);
  if (comm::is_root()) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    Silent silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  comm::finalize();
  return 0;
}
