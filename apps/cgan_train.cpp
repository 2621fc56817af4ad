// cgan_train: trains the conditional GAN of GANs in Action (chapter 8) on DATAROOT/<class>/ images,
// 28x28 gray, with the book's settings; the checkpoints, resume, signals, logs and page are the
// training harness's (models/common/trainer.h), as for CycleGAN. See `cgan_train --help`.
#include <cstdio>

#include "data/class_folders.h"
#include "models/common/cli.h"
#include "models/common/trainer.h"

int main(int argc, char** argv) {
  cg::models::Parsed p = cg::models::parse_cgan_train_args(argc, argv);
  if (p.exit_code) return *p.exit_code;
  try {
    cg::models::validate_options(p.opt, true);  // the flags first, then the folders
    p.opt.num_classes = static_cast<int>(cg::data::class_folder_names(p.opt.dataroot).size());
    return cg::models::run_training(p.opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
