// Peak memory and time of one translation by the default CycleGAN generator (resnet_9blocks, ngf
// 64, instance norm; random weights: the cost does not depend on them), whole (net(x)) or tiled
// (nn::tiled_forward, what cyclegan_test --tile_size runs). One configuration per process, so that
// the peak resident memory it prints is that configuration's; bench/bench_tiled.sh runs the table
// of bench/README.md. The input is made in place (no decoded image beside it), as a (1, 3, H, W)
// float32 tensor whose halves differ, as the tests' frames do.
//   bench_tiled WIDTH HEIGHT TILE [NGF] [NETG]     (TILE 0: the whole image at once)
// Temporary files go to $TMPDIR, else /tmp. CG_SAVE_G=FILE writes the network's weights to FILE
// (a checkpoint cyclegan_test --model test can load) and exits.
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/common.h"
#include "models/networks/networks.h"
#include "nn/safetensors.h"
#include "nn/tiled.h"
#include "ops/ops.h"

using namespace cg;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s WIDTH HEIGHT TILE [NGF] [NETG]   (TILE 0: whole)\n", argv[0]);
    return 2;
  }
  const int64_t W = std::atoll(argv[1]), H = std::atoll(argv[2]), tile = std::atoll(argv[3]);
  const int ngf = argc > 4 ? std::atoi(argv[4]) : 64;
  const std::string netG = argc > 5 ? argv[5] : "resnet_9blocks";
  try {
    Generator g(1);
    auto net = models::define_G(3, 3, ngf, netG, "instance", false, "normal", 0.02, g);
    if (const char* save = std::getenv("CG_SAVE_G")) {  // the same network for cyclegan_test --model test
      safetensors::save(save, net->state_dict());
      return 0;
    }
    Tensor x = Tensor::empty({1, 3, H, W});  // (1, 3, H, W)
    float* p = x.data<float>();
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t i = 0; i < W; ++i)
          *p++ = i < W / 2 ? -0.6f + 0.1f * std::sin(0.01f * static_cast<float>(y * 3 + c))
                           : 0.4f * std::sin(0.37f * static_cast<float>(i) + static_cast<float>(y % 17 + c));
    const double base = bench::peak_rss_mib();
    nn::TiledOptions o;
    o.tile_size = tile;
    const char* tmp = std::getenv("TMPDIR");
    o.temp_dir = tmp && *tmp ? tmp : "/tmp";
    nn::TiledPlan plan;
    if (tile > 0) plan = nn::plan_tiled(*net, x.shape(), o);
    auto cpu_seconds = [] {  // user + system time of every thread so far
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
             1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
    };
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    Tensor y;
    {
      NoGradGuard no_grad;
      y = tile > 0 ? nn::tiled_forward(*net, x, o) : (*net)(x);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    const double check = y.defined() ? static_cast<double>(sum(y).item()) : 0;  // the result was made
    std::printf(
        "%s %lldx%lld tile %lld: %.2f s (CPU %.2f s), peak RSS %.0f MiB (%.0f MiB before the call), "
        "threads %d, stages %d, temporary files up to %.2f GiB, kept values in memory up to %.0f MiB, "
        "sum %.4g\n",
        netG.c_str(), static_cast<long long>(W), static_cast<long long>(H), static_cast<long long>(tile), s,
        cpu, bench::peak_rss_mib(), base, omp_get_max_threads(), plan.stages,
        static_cast<double>(plan.temp_file_bytes) / (1 << 30),
        static_cast<double>(plan.memory_bytes) / (1 << 20), check);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
