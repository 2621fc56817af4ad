// cyclegan_train: trains a model with the official train.py's options: CycleGAN (--model cycle_gan,
// the default) on DATAROOT/trainA and DATAROOT/trainB, or pix2pix (--model pix2pix) on the AB
// images of DATAROOT/train. One process, or one rank of `mpirun -np N` (data parallel), or N ranks
// it starts itself for --gpu_ids 0,1,... See `cyclegan_train --help` and README.md.
#include "models/common/trainer.h"

int main(int argc, char** argv) { return cg::models::training_main(argc, argv, cg::models::train_program()); }
