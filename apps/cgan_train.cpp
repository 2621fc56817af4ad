// cgan_train: trains the conditional GAN of GANs in Action (chapter 8) on DATAROOT/<class>/ images,
// 28x28 gray, with the book's settings; the checkpoints, resume, signals, logs and page are the
// training harness's (models/common/trainer.h), as for CycleGAN. See `cgan_train --help`.
#include "models/cgan/spec.h"
#include "models/common/trainer.h"

int main(int argc, char** argv) { return cg::models::training_main(argc, argv, cg::cgan::train_program()); }
