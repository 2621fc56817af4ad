// The GPU suites. Without a device they do not run: the program says so and exits with 77, which
// ctest reports as "Skipped" (never as passed).
#define DOCTEST_CONFIG_IMPLEMENT
#include <cstdio>

#include "../run_guard.h"
#include "backend/device.h"
#include "tensor/tensor.h"

int main(int argc, char** argv) {
  if (!cg::cuda_available()) {
    std::printf("SKIPPED: the CUDA tests need a GPU; this machine has %s\n",
                cg::backend::gpu_description().c_str());
    return 77;
  }
  std::printf("CUDA device: %s\n", cg::backend::gpu_description().c_str());
  return cg::test::run_tests(argc, argv);
}
