// Every option of the official CycleGAN (base, train and test options, cycle_gan model) that this
// framework uses, with the official defaults. apps/ fill it from the command line.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace cg::cyclegan {

struct Options {
  // ---- base ----
  std::string dataroot;
  std::string name = "experiment_name";
  std::string checkpoints_dir = "./checkpoints";
  std::string model = "cycle_gan";  // cycle_gan | test
  int input_nc = 3, output_nc = 3;
  int ngf = 64, ndf = 64;
  std::string netD = "basic";           // basic | n_layers | pixel
  std::string netG = "resnet_9blocks";  // resnet_9blocks | resnet_6blocks
  int n_layers_D = 3;
  std::string norm = "instance";  // instance | none
  std::string init_type = "normal";
  double init_gain = 0.02;
  bool no_dropout = true;  // the cycle_gan model's default: no dropout in the generators
  std::string direction = "AtoB";
  bool serial_batches = false;
  int num_threads = 4;
  int batch_size = 1;
  int load_size = 286, crop_size = 256;
  int64_t max_dataset_size = std::numeric_limits<int64_t>::max();
  std::string preprocess = "resize_and_crop";
  bool no_flip = false;
  std::string epoch = "latest";
  std::string device = "cpu";  // cpu | cuda (ours; the official uses --gpu_ids)
  uint64_t seed = 0;           // ours: the official is not seeded
  // ---- train ----
  int display_freq = 400, print_freq = 100;
  int save_latest_freq = 5000, save_epoch_freq = 5;
  bool save_by_iter = false, continue_train = false;
  int epoch_count = 1;
  std::string phase = "train";
  int n_epochs = 100, n_epochs_decay = 100;
  double beta1 = 0.5, lr = 0.0002;
  std::string gan_mode = "lsgan";  // lsgan | vanilla | wgangp
  int pool_size = 50;
  std::string lr_policy = "linear";
  int lr_decay_iters = 50;
  double lambda_A = 10.0, lambda_B = 10.0, lambda_identity = 0.5;
  // ---- test ----
  std::string results_dir = "./results/";
  int64_t num_test = std::numeric_limits<int64_t>::max();  // ours: all images (the official: 50)
  std::string model_suffix;
};

}  // namespace cg::cyclegan
