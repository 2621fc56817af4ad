// cyclegan_train: trains a model with the official train.py's options: CycleGAN (--model cycle_gan,
// the default) on DATAROOT/trainA and DATAROOT/trainB, or pix2pix (--model pix2pix) on the AB
// images of DATAROOT/train. See `cyclegan_train --help` and README.md.
#include <cstdio>

#include "models/common/cli.h"
#include "models/common/trainer.h"

int main(int argc, char** argv) {
  const cg::models::Parsed p = cg::models::parse_train_args(argc, argv);
  if (p.exit_code) return *p.exit_code;
  try {
    return cg::models::run_training(p.opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
