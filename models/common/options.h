// Every option of the official train.py and test.py (base, train and test options, and the options
// of the cycle_gan, pix2pix and test models), with the official defaults, plus ours (device,
// seed). The member initialisers are the training defaults of the default model, cycle_gan; each
// model's own (the official modify_commandline_options: pix2pix's --norm batch --netG unet_256,
// ...) and the test program's come from default_options (models/common/model.h). apps/ fill it from the
// command line through the flag table in cli.cpp, which is the one list of names, defaults, help texts and
// listing order.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "data/image.h"  // kMaxPixels

namespace cg::models {

struct Options {
  // ---- base ----
  std::string dataroot;
  std::string name = "experiment_name";
  std::string checkpoints_dir = "./checkpoints";
  std::string model = "cycle_gan";  // cycle_gan | pix2pix | test | cgan
  int input_nc = 3, output_nc = 3;
  int ngf = 64, ndf = 64;
  std::string netD = "basic";           // basic | n_layers | pixel
  std::string netG = "resnet_9blocks";  // resnet_9blocks | resnet_6blocks | unet_256 | unet_128
  int n_layers_D = 3;
  std::string norm = "instance";  // instance | batch | syncbatch (statistics over every rank's batch) | none
  std::string init_type = "normal";
  double init_gain = 0.02;
  bool no_dropout = true;  // the cycle_gan model's default (base and pix2pix: false, dropout on)
  std::string direction = "AtoB";
  bool serial_batches = false;
  int num_threads = 4;
  int batch_size = 1;
  int load_size = 286, crop_size = 256;
  int64_t max_dataset_size = std::numeric_limits<int64_t>::max();
  std::string preprocess = "resize_and_crop";
  bool no_flip = false;
  int64_t max_pixels = data::kMaxPixels;  // ours: larger images are refused unread (PIL's limit)
  std::string epoch = "latest";
  std::string device = "cpu";  // cpu | cuda (ours; --gpu_ids sets it the official way)
  uint64_t seed = 0;           // ours: the official is not seeded
  bool amp = false;            // ours: bfloat16 convolutions (ops/conv.h, Bf16Autocast)
  // "-1": the CPU, "0": the first GPU, "0,1": a rank on each; kept in step with `device`
  std::string gpu_ids = "-1";
  std::string dist_backend = "auto";       // ours: GPU gradients between ranks over nccl | host (MPI) | auto
  std::string dataset_mode = "unaligned";  // unaligned (cycle_gan) | aligned (pix2pix) | single (model test)
  int display_winsize = 256;               // width of the images on the web pages, in pixels
  int load_iter = 0;                       // > 0: load checkpoint iter_<load_iter> instead of --epoch
  bool verbose = false;                    // print the networks' layers
  std::string suffix;                      // appended to the name: name_<suffix with {option} filled in>
  bool use_wandb = false;                  // accepted, ignored: no Weights & Biases here
  std::string wandb_project_name = "CycleGAN-and-pix2pix";
  // ---- train ----
  int display_freq = 400, print_freq = 100;
  int update_html_freq = 1000;  // the page keeps a row of images every this many iterations
  bool no_html = false;         // no training web page
  // visdom's: accepted, ignored (the web page replaces visdom)
  int display_ncols = 4, display_id = 1, display_port = 8097;
  std::string display_server = "http://localhost", display_env = "main";
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
  double lambda_A = 10.0, lambda_B = 10.0, lambda_identity = 0.5;  // cycle_gan's
  double lambda_L1 = 100.0;                                        // pix2pix's
  // ---- the conditional GAN's (cgan_train, cgan_sample) ----
  int n_iters = 12000;     // training iterations (steps of --batch_size random images)
  int z_dim = 100;         // length of the noise vector z
  int sample_freq = 1000;  // iterations between rows of samples on the page
  int label = -1;          // cgan_sample: the class to draw
  int num = 10;            // cgan_sample: how many images
  int num_classes = 0;     // the classes G and D are built for: from the data (training) or the checkpoint
  // ---- test ----
  std::string results_dir = "./results/";
  int64_t num_test = std::numeric_limits<int64_t>::max();  // ours: all images (the official: 50)
  std::string model_suffix;
  double aspect_ratio = 1.0;  // saved results are stretched to this width/height ratio, as the official
  bool eval = false;          // test in eval mode (dropout off); the official test.py's default is train mode
};

}  // namespace cg::models
