// cyclegan_train: trains CycleGAN on DATAROOT/trainA and DATAROOT/trainB with the official
// train.py's options. See `cyclegan_train --help` and README.md.
#include <cstdio>

#include "models/cyclegan/cli.h"
#include "models/cyclegan/trainer.h"

int main(int argc, char** argv) {
  const cg::cyclegan::Parsed p = cg::cyclegan::parse_train_args(argc, argv);
  if (p.exit_code) return *p.exit_code;
  try {
    return cg::cyclegan::run_training(p.opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
