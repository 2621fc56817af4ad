// cyclegan_train: options, preprocessing, a short run, exact resume, bad checkpoints and images.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

#include "data/dataset.h"
#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/trainer.h"
#include "models/cyclegan/cycle_gan_model.h"

using namespace cg;
using namespace cg::models;
using namespace cg::cyclegan;
using cg::test::make_dataset;
using cg::test::read_file;
using cg::test::scratch;
namespace fs = std::filesystem;

namespace {

Options tiny_options(const std::string& root, const std::string& ckpt) {
  Options o = test::tiny_experiment(root, ckpt);
  o.pool_size = 3;  // small, so it fills and its random replacement runs within the test
  o.n_epochs = 1;
  o.n_epochs_decay = 1;
  o.print_freq = 2;
  o.display_freq = 4;
  o.save_latest_freq = 1000;
  o.num_threads = 2;
  o.seed = 7;
  return o;
}

// Every tensor a checkpoint holds, networks and training state, bit for bit.
void expect_identical_checkpoints(const Options& a, const Options& b, const std::string& label) {
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"}) {
    const std::string diff = test::first_difference(net_file(a, label, net), net_file(b, label, net));
    CHECK_MESSAGE(diff.empty(), net << ": " << diff);
  }
  const std::string diff = test::first_difference(state_file(a, label), state_file(b, label));
  CHECK_MESSAGE(diff.empty(), "training state: " << diff);
}

Parsed parse(std::vector<std::string> args, bool train = true) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return train ? parse_train_args(static_cast<int>(argv.size()), argv.data())
               : parse_test_args(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("train flags have the official names and defaults") {
  const Parsed p = parse({});
  REQUIRE_FALSE(p.exit_code);
  const Options& o = p.opt;
  CHECK(o.name == "experiment_name");
  CHECK(o.checkpoints_dir == "./checkpoints");
  CHECK(o.model == "cycle_gan");
  CHECK((o.input_nc == 3 && o.output_nc == 3 && o.ngf == 64 && o.ndf == 64));
  CHECK((o.netD == "basic" && o.netG == "resnet_9blocks" && o.n_layers_D == 3 && o.norm == "instance"));
  CHECK((o.init_type == "normal" && o.init_gain == 0.02 && o.no_dropout));
  CHECK((o.direction == "AtoB" && !o.serial_batches && o.num_threads == 4 && o.batch_size == 1));
  CHECK((o.load_size == 286 && o.crop_size == 256 && o.preprocess == "resize_and_crop" && !o.no_flip));
  CHECK(o.max_dataset_size == std::numeric_limits<int64_t>::max());
  CHECK((o.epoch == "latest" && o.epoch_count == 1 && !o.continue_train && o.phase == "train"));
  CHECK((o.n_epochs == 100 && o.n_epochs_decay == 100 && o.beta1 == 0.5 && o.lr == 0.0002));
  CHECK((o.gan_mode == "lsgan" && o.pool_size == 50 && o.lr_policy == "linear" && o.lr_decay_iters == 50));
  CHECK((o.get<double>("lambda_A") == 10.0 && o.get<double>("lambda_B") == 10.0 &&
         o.get<double>("lambda_identity") == 0.5));
  CHECK((o.save_epoch_freq == 5 && o.save_latest_freq == 5000 && !o.save_by_iter));
  CHECK((o.print_freq == 100 && o.display_freq == 400 && o.device == "cpu"));
  CHECK_FALSE(o.amp);  // ours: off by default
  CHECK(parse({"--amp"}).opt.amp);
  CHECK(parse({"--amp"}, false).opt.amp);

  const Parsed q = parse({"--dataroot", "d", "--lr", "0.001", "--no_flip", "--max_dataset_size", "12",
                          "--netG=resnet_6blocks", "--continue_train", "--epoch", "7", "--device", "cuda"});
  REQUIRE_FALSE(q.exit_code);
  CHECK((q.opt.dataroot == "d" && q.opt.lr == 0.001 && q.opt.no_flip && q.opt.max_dataset_size == 12));
  CHECK((q.opt.netG == "resnet_6blocks" && q.opt.continue_train && q.opt.epoch == "7" &&
         q.opt.device == "cuda"));
  CHECK(parse({"--no_such_flag"}).exit_code.value_or(0) != 0);
  CHECK(parse({"--lr", "abc"}).exit_code.value_or(0) != 0);
  CHECK(parse({"--max_dataset_size", "12x"}).exit_code.value_or(0) != 0);

  const Parsed t = parse({}, false);
  CHECK((t.opt.model == "test" && t.opt.phase == "test" && t.opt.load_size == 256 &&
         t.opt.results_dir == "./results/"));
  CHECK(t.opt.num_test == std::numeric_limits<int64_t>::max());
  CHECK(parse({"--num_test", "50"}, false).opt.num_test == 50);
}

TEST_CASE("every flag of the official train.py and test.py is accepted - the last of a repeated flag wins") {
  const Parsed p = parse({"--gpu_ids",
                          "-1",
                          "--dataset_mode",
                          "unaligned",
                          "--display_winsize",
                          "128",
                          "--load_iter",
                          "0",
                          "--verbose",
                          "--suffix",
                          "",
                          "--use_wandb",
                          "--wandb_project_name",
                          "p",
                          "--display_freq",
                          "10",
                          "--display_ncols",
                          "3",
                          "--display_id",
                          "0",
                          "--display_server",
                          "http://x",
                          "--display_env",
                          "e",
                          "--display_port",
                          "9000",
                          "--update_html_freq",
                          "20",
                          "--print_freq",
                          "5",
                          "--no_html"});
  REQUIRE_FALSE(p.exit_code);
  CHECK((p.opt.device == "cpu" && p.opt.display_winsize == 128 && p.opt.verbose && p.opt.use_wandb));
  CHECK(
      (p.opt.update_html_freq == 20 && p.opt.no_html && p.opt.display_id == 0 && p.opt.display_port == 9000));
  const Parsed t = parse({"--eval", "--aspect_ratio", "1.5", "--model_suffix", "_A", "--results_dir", "r",
                          "--num_test", "7", "--gpu_ids", "-1", "--load_iter", "3"},
                         false);
  REQUIRE_FALSE(t.exit_code);
  CHECK((t.opt.eval && t.opt.aspect_ratio == 1.5 && t.opt.num_test == 7 && t.opt.load_iter == 3));
  CHECK(load_label(t.opt) == "iter_3");  // the official: load_iter > 0 wins over --epoch
  CHECK(load_label(p.opt) == "latest");
  // argparse's rule: the last of a repeated flag wins (flags and options alike)
  const Parsed r = parse({"--lr", "0.1", "--n_epochs", "3", "--lr", "0.2", "--no_flip", "--no_flip"});
  REQUIRE_FALSE(r.exit_code);
  CHECK(r.opt.lr == 0.2);
  CHECK(r.opt.no_flip);
}

TEST_CASE("--gpu_ids picks the device the official way and refuses what we cannot do") {
  CHECK(parse({"--gpu_ids", "0"}).opt.device == "cuda");
  CHECK(parse({"--gpu_ids", "-1"}).opt.device == "cpu");
  CHECK(parse({"--device", "cuda"}).opt.gpu_ids == "0");  // kept in step for the listing
  CHECK(parse({}).opt.gpu_ids == "-1");
  // several GPUs in training: a rank each (dist/launch.h); testing runs on one
  const Parsed two = parse({"--gpu_ids", " 0, 1"});
  REQUIRE_FALSE(two.exit_code);
  CHECK(two.opt.device == "cuda");
  CHECK(two.opt.gpu_ids == "0,1");
  CHECK(gpu_id_list(two.opt) == std::vector<int>{0, 1});
  CHECK(parse({"--gpu_ids", "0,1"}, false).exit_code == 2);
  CHECK(parse({"--gpu_ids", "0,0"}).exit_code ==
        2);  // one GPU twice: only with mpirun and --dist_backend host
  CHECK(parse({"--gpu_ids", "1"}).opt.gpu_ids == "1");  // the second GPU
  CHECK(gpu_id_list(parse({}).opt).empty());
  CHECK(parse({"--gpu_ids", "x"}).exit_code == 2);
  CHECK(parse({"--gpu_ids", "0", "--device", "cpu"}).exit_code == 2);
  CHECK_FALSE(parse({"--gpu_ids", "0", "--device", "cuda"}).exit_code);
}

TEST_CASE("--suffix - --dataset_mode and the test program's model-dependent defaults") {
  const Parsed p = parse({"--name", "run", "--suffix", "{netG}_size{load_size}"});
  REQUIRE_FALSE(p.exit_code);
  CHECK(p.opt.name == "run_resnet_9blocks_size286");
  CHECK(parse({"--suffix", "{no_such_option}"}).exit_code == 2);
  CHECK(parse({"--suffix", "{netG"}).exit_code == 2);
  Options o = default_options("cycle_gan", true);
  o.dataset_mode = "aligned";
  CHECK_THROWS_WITH_AS(validate_options(o, true), doctest::Contains("--dataset_mode"), Error);
  CHECK(parse({}, false).opt.dataset_mode == "single");  // --model test
  CHECK(parse({"--model", "cycle_gan"}, false).opt.dataset_mode == "unaligned");
  Options t = parse({"--model", "cycle_gan", "--dataset_mode", "single"}, false).opt;
  CHECK_THROWS_WITH_AS(validate_options(t, false), doctest::Contains("--dataset_mode"), Error);
  t = parse({"--aspect_ratio", "0"}, false).opt;
  CHECK_THROWS_WITH_AS(validate_options(t, false), doctest::Contains("--aspect_ratio"), Error);
}

TEST_CASE("invalid options fail before the experiment folder or any file is written") {
  const std::string dir = scratch("early_errors");
  Options o = tiny_options(make_dataset(dir + "/data", 2, 2, 36, 36, 31), dir + "/ckpt");
  o.crop_size = 30;  // not a multiple of 4: the cycle loss would fail mid-training
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}),
                       doctest::Contains("--crop_size must be a positive multiple of 4"), Error);
  CHECK_FALSE(fs::exists(dir + "/ckpt"));
  o.crop_size = 32;
  o.dataroot = dir + "/no_such_data";
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}), doctest::Contains("no_such_data"), Error);
  CHECK_FALSE(fs::exists(dir + "/ckpt"));
  o = tiny_options(dir + "/data", dir + "/ckpt");
  o.continue_train = true;  // nothing to resume from
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}), doctest::Contains("does not exist"), Error);
  CHECK_FALSE(fs::exists(dir + "/ckpt/tiny/train_opt.txt"));
  o.continue_train = false;
  o.crop_size = 28;  // a multiple of 4 that is not of 8 trains
  o.n_epochs_decay = 0;
  CHECK(run_training(o, {nullptr, true}) == 0);
}

TEST_CASE("the options listing has the official format") {
  Options o = default_options("cycle_gan", true);
  o.lr = 0.001;
  const std::string text = options_text(o, true);
  CHECK(text.rfind("----------------- Options ---------------\n", 0) == 0);
  CHECK(text.find("               batch_size: 1                             \n") != std::string::npos);
  CHECK(text.find("                       lr: 0.001                         \t[default: 0.0002]\n") !=
        std::string::npos);
  CHECK(text.find("                 lambda_A: 10.0") != std::string::npos);
  CHECK(text.find("         max_dataset_size: inf") != std::string::npos);
  CHECK(text.find("               no_dropout: True") != std::string::npos);
  // the official's options, ignored ones included, as its train_opt.txt has them
  for (const char* line :
       {"             dataset_mode: unaligned", "                  gpu_ids: -1",
        "               display_id: 1", "           display_server: http://localhost",
        "         update_html_freq: 1000", "                  no_html: False", "                load_iter: 0",
        "                  verbose: False", "       wandb_project_name: CycleGAN-and-pix2pix",
        "          display_winsize: 256", "                  isTrain: True"})
    CHECK_MESSAGE(text.find(std::string(line) + " ") != std::string::npos, line);
  CHECK(text.find("aspect_ratio") == std::string::npos);  // a test option
  const std::string test_text = options_text(default_options("test", false), false);
  CHECK(test_text.find("             aspect_ratio: 1.0 ") != std::string::npos);
  CHECK(test_text.find("             dataset_mode: single ") != std::string::npos);
  CHECK(test_text.find("lambda_A") == std::string::npos);  // a train option
  const std::string end = "\n----------------- End -------------------";
  CHECK(text.substr(text.size() - end.size()) == end);
  o.lr = 1e-5;
  o.init_gain = 123.25;
  const std::string t2 = options_text(o, true);
  CHECK(t2.find("lr: 1e-05 ") != std::string::npos);  // Python's str(): scientific below 1e-4
  CHECK(t2.find("init_gain: 123.25 ") != std::string::npos);
}

TEST_CASE("bad option values are refused with the flag's name") {
  Options o = default_options("cycle_gan", true);
  o.direction = "sideways";
  CHECK_THROWS_WITH_AS(validate_options(o, true), doctest::Contains("--direction"), Error);
  o = default_options("cycle_gan", true);
  o.input_nc = 1;
  CHECK_THROWS_WITH_AS(validate_options(o, true), doctest::Contains("--lambda_identity"), Error);
  o.set("lambda_identity", 0);
  CHECK_NOTHROW(validate_options(o, true));
  o = default_options("cycle_gan", true);
  o.norm = "group";
  CHECK_THROWS_WITH_AS(validate_options(o, true),
                       doctest::Contains("--norm must be instance, batch, syncbatch or none"), Error);
  o.norm = "batch";
  CHECK_NOTHROW(validate_options(o, true));
  // the U-Nets halve the size 8 (unet_256) or 7 (unet_128) times
  o.netG = "unet_256";
  CHECK_NOTHROW(validate_options(o, true));  // the default crop, 256
  o.crop_size = 128;
  CHECK_THROWS_WITH_AS(validate_options(o, true),
                       doctest::Contains("--crop_size must be a positive multiple of 256"), Error);
  o.netG = "unet_128";
  CHECK_NOTHROW(validate_options(o, true));
  o.crop_size = 192;
  CHECK_THROWS_WITH_AS(validate_options(o, true),
                       doctest::Contains("multiple of 128 (--netG unet_128 halves the size 7 times)"), Error);
}

TEST_CASE("every range check on a flag refuses the first bad value and accepts its boundary") {
  struct Case {
    const char* what;
    std::function<void(Options&)> bad, edge;  // edge: the nearest value that is fine
    const char* error;
    bool train;
  };
  const std::vector<Case> cases = {
      {"beta1 1", [](Options& o) { o.beta1 = 1; }, [](Options& o) { o.beta1 = 0.999; },
       "--beta1 must be in [0, 1)", true},
      {"beta1 < 0", [](Options& o) { o.beta1 = -0.01; }, [](Options& o) { o.beta1 = 0; },
       "--beta1 must be in [0, 1)", true},
      {"lr 0", [](Options& o) { o.lr = 0; }, [](Options& o) { o.lr = 1e-12; }, "--lr must be positive", true},
      {"pool_size -1", [](Options& o) { o.pool_size = -1; }, [](Options& o) { o.pool_size = 0; },
       "--pool_size must be >= 0", true},
      {"epoch_count 0", [](Options& o) { o.epoch_count = 0; }, [](Options& o) { o.epoch_count = 1; },
       "--epoch_count must be >= 1", true},
      {"n_epochs_decay -1", [](Options& o) { o.n_epochs_decay = -1; },
       [](Options& o) { o.n_epochs_decay = 0; }, "--n_epochs and --n_epochs_decay must be >= 0", true},
      {"save_epoch_freq 0", [](Options& o) { o.save_epoch_freq = 0; },
       [](Options& o) { o.save_epoch_freq = 1; }, "--save_epoch_freq must be >= 1", true},
      {"update_html_freq 0", [](Options& o) { o.update_html_freq = 0; },
       [](Options& o) { o.update_html_freq = 1; }, "--update_html_freq must be >= 1", true},
      {"batch_size 0", [](Options& o) { o.batch_size = 0; }, [](Options& o) { o.batch_size = 1; },
       "--batch_size must be >= 1", true},
      {"num_threads -1", [](Options& o) { o.num_threads = -1; }, [](Options& o) { o.num_threads = 0; },
       "--num_threads must be >= 0", true},
      {"max_dataset_size 0", [](Options& o) { o.max_dataset_size = 0; },
       [](Options& o) { o.max_dataset_size = 1; }, "--max_dataset_size must be >= 1", true},
      {"load_iter -1", [](Options& o) { o.load_iter = -1; }, [](Options& o) { o.load_iter = 0; },
       "--load_iter must be >= 0", false},
      {"display_winsize 0", [](Options& o) { o.display_winsize = 0; },
       [](Options& o) { o.display_winsize = 1; }, "--display_winsize must be >= 1", false},
      {"input_nc 2", [](Options& o) { o.input_nc = 2; }, [](Options& o) { o.input_nc = 1; },
       "--input_nc must be 1 or 3", false},
      {"output_nc 4", [](Options& o) { o.output_nc = 4; }, [](Options& o) { o.output_nc = 1; },
       "--output_nc must be 1 or 3", false},
      {"ndf 0", [](Options& o) { o.ndf = 0; }, [](Options& o) { o.ndf = 1; },
       "--ngf and --ndf must be positive", true},
      {"train dataset_mode aligned", [](Options& o) { o.dataset_mode = "aligned"; },
       [](Options& o) { o.dataset_mode = "unaligned"; },
       "--dataset_mode: --model cycle_gan reads two unpaired folders (unaligned), got 'aligned'", true},
      {"test model pix2pixHD", [](Options& o) { o.model = "pix2pixHD"; },
       [](Options& o) { o.model = "test"; },
       "--model must be cycle_gan, pix2pix, test or cut in cyclegan_test, got 'pix2pixHD'", false},
      {"aspect_ratio 0", [](Options& o) { o.aspect_ratio = 0; }, [](Options& o) { o.aspect_ratio = 1e-3; },
       "--aspect_ratio must be positive", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Options o = c.train ? default_options("cycle_gan", true) : default_options("test", false);
    o.set("lambda_identity", 0);  // input_nc != output_nc is fine then
    c.bad(o);
    CHECK_THROWS_WITH_AS(validate_options(o, c.train), doctest::Contains(c.error), Error);
    c.edge(o);
    CHECK_NOTHROW(validate_options(o, c.train));
  }
}

TEST_CASE("each preprocess mode gives the official output size") {
  data::Image img{300, 280, 3, {}};
  img.pixels.assign(300 * 280 * 3, 100);
  Generator g(1);
  struct C {
    const char* mode;
    int w, h;
  };
  // load 286 / crop 256, as the defaults
  // scale_width: 286 wide, int(286 * 280 / 300) = 266 high
  for (const C& c : {C{"resize_and_crop", 256, 256}, C{"crop", 256, 256}, C{"scale_width", 286, 266},
                     C{"scale_width_and_crop", 256, 256}, C{"none", 300, 280}}) {
    CAPTURE(c.mode);
    data::Preprocess p{c.mode, 286, 256, true, 3};
    const Tensor t = data::transform(img, p, g, "img.png");
    CHECK(t.shape() == Shape{3, c.h, c.w});
    CHECK(data::transformed_size(300, 280, p) == std::make_pair(c.w, c.h));
  }
  // scale_width keeps at least crop_size rows: 300x200 -> 286 x max(190, 256)
  CHECK(data::transformed_size(300, 200, {"scale_width", 286, 256, true, 3}) == std::make_pair(286, 256));
  // none rounds to a multiple of 4, Python's round (ties to even): 10/4 = 2.5 -> 2 -> 8; 14/4 = 3.5 -> 4 ->
  // 16
  CHECK(data::transformed_size(10, 14, {"none", 286, 256, true, 3}) == std::make_pair(8, 16));
  data::Image odd{10, 14, 1, std::vector<uint8_t>(140, 50)};
  CHECK(data::transform(odd, {"none", 286, 256, false, 1}, g, "odd.png").shape() == Shape{1, 16, 8});
  CHECK_THROWS_WITH_AS(data::transform(img, {"crop", 286, 400, true, 3}, g, "small.png"),
                       doctest::Contains("small.png"), Error);
  CHECK_THROWS_WITH_AS(data::validate({"zoom", 286, 256, true, 3}), doctest::Contains("--preprocess 'zoom'"),
                       Error);
}

TEST_CASE(
    "the dataset lists images recursively and sorted - pairs A with random B - and refuses bad folders") {
  const std::string root = make_dataset(scratch("dataset"), 3, 5, 20, 16, 1);
  fs::create_directories(root + "/trainA/sub");
  fs::copy_file(root + "/trainA/0_A.png", root + "/trainA/sub/9_A.png");
  data::UnalignedDataset::Options o;
  o.dataroot = root;
  o.preprocess = {"none", 286, 256, false, 3};
  const data::UnalignedDataset ds(o);
  CHECK(ds.size_A() == 4);
  CHECK(ds.size_B() == 5);
  CHECK(ds.size() == 5);
  Generator g(3);
  const auto s = ds.get(4, g);
  CHECK(s.A_path == root + "/trainA/0_A.png");  // index 4 % 4 = 0 of: 0_A, 1_A, 2_A, sub/9_A
  CHECK(ds.get(3, g).A_path == root + "/trainA/sub/9_A.png");
  CHECK(s.A.shape() == Shape{3, 16, 20});
  CHECK(s.B.shape() == Shape{3, 16, 24});
  o.serial_batches = true;
  CHECK(data::UnalignedDataset(o).get(3, g).B_path == root + "/trainB/3_B.png");
  o.max_dataset_size = 2;
  CHECK(data::UnalignedDataset(o).size() == 2);
  o.dataroot = root + "/nowhere";
  CHECK_THROWS_WITH_AS(data::UnalignedDataset{o}, doctest::Contains("nowhere/trainA"), Error);
  fs::create_directories(root + "/emptyA");
  CHECK_THROWS_WITH_AS(data::find_images(root + "/emptyA", 10),
                       doctest::Contains("holds no PNG, JPEG or TIFF"), Error);
  std::ofstream(root + "/trainA/x.bmp") << "BM";
  o.dataroot = root;
  CHECK_THROWS_WITH_AS(data::UnalignedDataset{o}, doctest::Contains("x.bmp"), Error);
}

TEST_CASE("a short training run writes the checkpoints - logs - options and web page") {
  const std::string dir = scratch("short_run");
  const Options o = tiny_options(make_dataset(dir + "/data", 6, 5, 36, 36, 2), dir + "/ckpt");
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const std::string exp = experiment_dir(o);
  for (const char* f : {"train_opt.txt", "loss_log.txt", "loss_log.csv", "latest_net_G_A.safetensors",
                        "latest_net_G_B.safetensors", "latest_net_D_A.safetensors",
                        "latest_net_D_B.safetensors", "latest_train_state.safetensors", "web/index.html"})
    CHECK_MESSAGE(fs::exists(exp + "/" + f), f);
  const std::string csv = read_file(exp + "/loss_log.csv");
  CHECK(csv.rfind("epoch,iters,D_A,G_A,cycle_A,idt_A,D_B,G_B,cycle_B,idt_B\n1,2,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 6);  // 6 samples x 2 epochs / print_freq 2
  CHECK(read_file(exp + "/loss_log.txt").find("(epoch: 2, iters: 6, time: ") != std::string::npos);
  {  // every loss line in the official print_current_losses format: three decimals throughout
    const std::regex line(R"(\(epoch: \d+, iters: \d+, time: \d+\.\d{3}, data: \d+\.\d{3}\) )"
                          R"(D_A: -?\d+\.\d{3} G_A: -?\d+\.\d{3} cycle_A: \d+\.\d{3} idt_A: \d+\.\d{3} )"
                          R"(D_B: -?\d+\.\d{3} G_B: -?\d+\.\d{3} cycle_B: \d+\.\d{3} idt_B: \d+\.\d{3} )");
    std::istringstream log(read_file(exp + "/loss_log.txt"));
    int lines = 0;
    for (std::string l; std::getline(log, l);)
      if (l.rfind("(epoch: ", 0) == 0) {
        CHECK_MESSAGE(std::regex_match(l, line), l);
        ++lines;
      }
    CHECK(lines == 6);
  }
  CHECK(read_file(exp + "/train_opt.txt").find("name: tiny") != std::string::npos);
  // the weights load into a fresh model of the same options
  CycleGANModel m(o, true);
  CHECK_NOTHROW(load_checkpoint(m, "latest"));
  // the page references images that exist
  const std::string page = read_file(exp + "/web/index.html");
  size_t refs = 0;
  for (size_t at = page.find("src='"); at != std::string::npos; at = page.find("src='", at + 1)) {
    const std::string file = page.substr(at + 5, page.find('\'', at + 5) - at - 5);
    CHECK_MESSAGE(fs::exists(exp + "/web/" + file), file);
    ++refs;
  }
  CHECK(refs == 3 * 8);  // display_freq 4 over 12 samples: 3 updates of 8 images
  CHECK(page.find("<svg") != std::string::npos);
  // the official's rule for the rows kept: the first update of each epoch (iterations 4 and 8 of
  // 6-sample epochs) and every --update_html_freq (1000: none); iteration 12 is the latest update
  CHECK(fs::exists(exp + "/web/images/epoch001_iter0000004_fake_B.png"));
  CHECK(fs::exists(exp + "/web/images/epoch002_iter0000008_fake_B.png"));
  CHECK_FALSE(fs::exists(exp + "/web/images/epoch002_iter0000012_fake_B.png"));
  CHECK(fs::exists(exp + "/web/images/current_fake_B.png"));
  CHECK(page.find("iteration 12 (latest update") != std::string::npos);
  CHECK(page.find("img{width:256px") != std::string::npos);  // --display_winsize
}

TEST_CASE("--update_html_freq keeps every such update - --no_html writes no page") {
  const std::string dir = scratch("html_flags");
  Options o = tiny_options(make_dataset(dir + "/data", 6, 5, 36, 36, 2), dir + "/ckpt");
  o.update_html_freq = 4;
  o.display_winsize = 100;
  // stopped after the first kept row and resumed: the page's first row is rebuilt from its files
  REQUIRE(run_training(o, {[](int64_t n) { return n == 4; }, true}) == 0);
  o.continue_train = true;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  o.continue_train = false;
  const std::string exp = experiment_dir(o);
  for (const char* f : {"epoch001_iter0000004_fake_B.png", "epoch002_iter0000008_fake_B.png",
                        "epoch002_iter0000012_fake_B.png"})
    CHECK_MESSAGE(fs::exists(exp + "/web/images/" + f), f);
  // ... in the official order of the visuals, as the live rows
  const std::string page = read_file(exp + "/web/index.html");
  for (const std::string row : {"epoch001_iter0000004_", "epoch002_iter0000012_"}) {
    CAPTURE(row);
    const std::string src = "src='images/" + row;
    std::vector<std::string> labels;
    for (size_t at = page.find(src); at != std::string::npos; at = page.find(src, at + 1)) {
      const size_t from = at + src.size();
      labels.push_back(page.substr(from, page.find(".png'", from) - from));
    }
    CHECK(labels == std::vector<std::string>{"real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A",
                                             "rec_B", "idt_A"});
  }
  // rows newest first, the one rebuilt after the resume under its own epoch and iteration
  const size_t r12 = page.find("epoch 2, iteration 12<"), r8 = page.find("epoch 2, iteration 8<"),
               r4 = page.find("epoch 1, iteration 4<");
  REQUIRE(r4 != std::string::npos);
  CHECK(r12 < r8);
  CHECK(r8 < r4);
  CHECK_FALSE(fs::exists(exp + "/web/images/current_fake_B.png"));
  CHECK(read_file(exp + "/web/index.html").find("img{width:100px") != std::string::npos);
  o.no_html = true;
  o.name = "no_page";
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  CHECK(fs::exists(experiment_dir(o) + "/latest_net_G_A.safetensors"));
  CHECK_FALSE(fs::exists(experiment_dir(o) + "/web"));
}

TEST_CASE("a kept row replaces the page's latest update") {
  // 3 epochs of 6 samples, an update every 4 iterations: 4 (epoch 1's first, kept), 8 (epoch 2's
  // first, kept), 12 (the latest update), 16 (epoch 3's first, kept). The last update is a kept row,
  // so the page shows no separate latest update.
  const std::string dir = scratch("html_latest");
  Options o = tiny_options(make_dataset(dir + "/data", 6, 5, 36, 36, 4), dir + "/ckpt");
  o.n_epochs = 2;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const std::string web = experiment_dir(o) + "/web";
  const std::string page = read_file(web + "/index.html");
  CHECK(fs::exists(web + "/images/epoch003_iter0000016_fake_B.png"));
  CHECK(page.find("epoch 3, iteration 16<") != std::string::npos);
  CHECK(page.find("iteration 12") == std::string::npos);
  CHECK(page.find("latest update") == std::string::npos);
  CHECK(page.find("src='images/current_") == std::string::npos);
}

TEST_CASE("a run stopped after epoch 1 and resumed ends bit for bit where an uninterrupted run ends") {
  const std::string dir = scratch("resume_epoch");
  const std::string data = make_dataset(dir + "/data", 6, 5, 36, 36, 3);
  Options straight = tiny_options(data, dir + "/straight");
  Options split = tiny_options(data, dir + "/split");
  REQUIRE(run_training(straight, {nullptr, true}) == 0);
  // 6 samples per epoch: stop right after the last step of epoch 1
  REQUIRE(run_training(split, {[](int64_t n) { return n == 6; }, true}) == 0);
  split.continue_train = true;
  REQUIRE(run_training(split, {nullptr, true}) == 0);
  expect_identical_checkpoints(straight, split, "latest");
}

TEST_CASE(
    "a run interrupted by SIGINT mid-epoch and resumed ends bit for bit where an uninterrupted run ends") {
  const std::string dir = scratch("resume_sigint");
  const std::string data = make_dataset(dir + "/data", 6, 5, 36, 36, 4);
  Options straight = tiny_options(data, dir + "/straight");
  straight.batch_size = 2;  // and with batches
  Options split = straight;
  split.checkpoints_dir = dir + "/split";
  REQUIRE(run_training(straight, {nullptr, true}) == 0);
  // The signal arrives after step 1 (2 samples) has been checked; the loop finishes step 2 (4 of the
  // epoch's 6 samples), saves 'latest', exits with 130.
  const int rc = run_training(split, {[](int64_t n) {
                                        if (n == 2) std::raise(SIGINT);
                                        return false;
                                      },
                                      true});
  CHECK(rc == 128 + SIGINT);
  split.continue_train = true;
  REQUIRE(run_training(split, {nullptr, true}) == 0);
  expect_identical_checkpoints(straight, split, "latest");
}

TEST_CASE("loading a checkpoint with a missing or mis-shaped key fails naming it") {
  const std::string dir = scratch("bad_ckpt");
  Options o = tiny_options(make_dataset(dir + "/data", 2, 2, 36, 36, 5), dir + "/ckpt");
  o.n_epochs_decay = 0;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const std::string g_a = net_file(o, "latest", "G_A");
  auto c = safetensors::load(g_a);
  c.tensors.erase("model.1.weight");
  c.tensors["model.4.bias"] = Tensor::zeros({3});
  safetensors::save(g_a, c.tensors, c.metadata);
  CycleGANModel m(o, true);
  try {
    load_checkpoint(m, "latest");
    FAIL("a broken checkpoint loaded");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("latest_net_G_A.safetensors") != std::string::npos);
    CHECK(msg.find("missing keys (1): model.1.weight") != std::string::npos);
    CHECK(msg.find("model.4.bias (expected [8], found [3])") != std::string::npos);
  }
  o.continue_train = true;
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}), doctest::Contains("model.1.weight"), Error);
  o.epoch = "99";
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}), doctest::Contains("99_net_G_A.safetensors"), Error);
}

TEST_CASE("weights without training state load with fresh optimizers") {
  const std::string dir = scratch("weights_only");
  Options o = tiny_options(make_dataset(dir + "/data", 2, 2, 36, 36, 6), dir + "/ckpt");
  o.n_epochs_decay = 0;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  fs::remove(state_file(o, "latest"));
  CycleGANModel m(o, true);
  CHECK_FALSE(load_checkpoint(m, "latest").has_value());
  o.continue_train = true;
  o.epoch_count = 2;
  o.n_epochs = 2;
  CHECK(run_training(o, {nullptr, true}) == 0);
}

TEST_CASE("a corrupt training image stops the run with the file's name") {
  const std::string dir = scratch("corrupt_image");
  const std::string data = make_dataset(dir + "/data", 3, 3, 36, 36, 7);
  std::ofstream(data + "/trainB/1_B.png", std::ios::trunc) << "\x89PNG\r\n\x1a\n broken";
  Options o = tiny_options(data, dir + "/ckpt");
  o.serial_batches = true;
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}), doctest::Contains("trainB/1_B.png"), Error);
}

TEST_CASE("a NaN loss stops the run without saving over the last checkpoint") {
  const std::string dir = scratch("nan_loss");
  Options o = tiny_options(make_dataset(dir + "/data", 4, 4, 36, 36, 8), dir + "/ckpt");
  o.lr = 1e30;  // the weights blow up within a few steps
  o.save_latest_freq = 1;
  o.n_epochs = 50;
  o.n_epochs_decay = 0;
  CHECK(run_training(o, {nullptr, true}) == kExitNonFinite);
  // 'latest' holds the last good step: every weight finite
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    for (const auto& [k, t] : safetensors::load(net_file(o, "latest", net)).tensors)
      for (float v : t.to_vector<float>()) REQUIRE(std::isfinite(v));
}

namespace {
using test::run_command;
const std::string kTrainApp = std::string(CG_BINARY_DIR) + "/apps/cyclegan_train";
}  // namespace

TEST_CASE("cyclegan_train --help documents every official flag") {
  const auto [rc, help] = run_command(kTrainApp + " --help 2>&1");
  CHECK(rc == 0);
  for (const char* flag : {"--dataroot",
                           "--name",
                           "--checkpoints_dir",
                           "--model",
                           "--input_nc",
                           "--output_nc",
                           "--ngf",
                           "--ndf",
                           "--netD",
                           "--netG",
                           "--n_layers_D",
                           "--norm",
                           "--init_type",
                           "--init_gain",
                           "--no_dropout",
                           "--direction",
                           "--serial_batches",
                           "--num_threads",
                           "--batch_size",
                           "--load_size",
                           "--crop_size",
                           "--max_dataset_size",
                           "--preprocess",
                           "--no_flip",
                           "--epoch",
                           "--epoch_count",
                           "--continue_train",
                           "--n_epochs",
                           "--n_epochs_decay",
                           "--beta1",
                           "--lr",
                           "--gan_mode",
                           "--pool_size",
                           "--lr_policy",
                           "--lr_decay_iters",
                           "--lambda_A",
                           "--lambda_B",
                           "--lambda_identity",
                           "--save_epoch_freq",
                           "--save_latest_freq",
                           "--save_by_iter",
                           "--print_freq",
                           "--display_freq",
                           "--seed",
                           "--device",
                           "--gpu_ids",
                           "--dataset_mode",
                           "--display_winsize",
                           "--load_iter",
                           "--verbose",
                           "--suffix",
                           "--use_wandb",
                           "--wandb_project_name",
                           "--display_ncols",
                           "--display_id",
                           "--display_server",
                           "--display_env",
                           "--display_port",
                           "--update_html_freq",
                           "--no_html"})
    CHECK_MESSAGE(help.find(std::string(flag) + " ") != std::string::npos, flag);
  // an official flag with no meaning here is accepted with one line saying so
  const auto [rc_ign, out_ign] = run_command(kTrainApp + " --display_id 0 --dataroot /nonexistent/data 2>&1");
  CHECK(rc_ign == 1);
  CHECK(out_ign.find("--display_id: accepted and ignored") != std::string::npos);
  CHECK(out_ign.find("/nonexistent/data/trainA") != std::string::npos);
  const auto [rc2, err] = run_command(kTrainApp + " --dataroot /nonexistent/data 2>&1");
  CHECK(rc2 == 1);
  CHECK(err.find("/nonexistent/data/trainA") != std::string::npos);
}

TEST_CASE("--device: an unknown name and cuda without a GPU or CUDA build are clear errors") {
  const std::string dir = scratch("no_cuda");
  Options o = tiny_options(make_dataset(dir + "/data", 2, 2, 36, 36, 9), dir + "/ckpt");
  o.device = "gpu";
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}), doctest::Contains("--device must be cpu or cuda"),
                       Error);
  o.device = "cuda";
  if (cuda_available()) {
    // this machine has one: the model lands there (training on it is the CUDA suite's)
    CycleGANModel m(o, true);
    CHECK(m.device == Device::CUDA);
    CHECK(m.netG_A->parameters()[0].is_cuda());
    return;
  }
  CHECK_THROWS_WITH_AS(run_training(o, {nullptr, true}), doctest::Contains("--device cuda"), Error);
}

TEST_CASE("SIGTERM to the program finishes the step - saves latest - exits 143") {
  const std::string dir = scratch("sigterm");
  const std::string data = make_dataset(dir + "/data", 4, 4, 36, 36, 10);
  const std::string ckpt = dir + "/ckpt", out_path = dir + "/out.txt";
  const pid_t pid = test::spawn(test::tiny_train_command(data, ckpt), out_path);
  REQUIRE(pid > 0);
  // wait until it has trained a few steps
  for (int i = 0; i < 600 && !(fs::exists(ckpt + "/tiny/loss_log.csv") &&
                               fs::file_size(ckpt + "/tiny/loss_log.csv") > 200);
       ++i)
    usleep(50000);
  REQUIRE(kill(pid, SIGTERM) == 0);
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 600 && (done = waitpid(pid, &status, WNOHANG)) == 0; ++i) usleep(50000);
  if (done == 0) {  // never leave it running; and a program that ignores SIGTERM fails this test
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL("cyclegan_train did not exit within 30 s of SIGTERM");
  }
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 143);
  const std::string out = read_file(out_path);
  CHECK(out.find("terminated (SIGTERM): saved 'latest'") != std::string::npos);
  const Options o = tiny_options(data, ckpt);  // the same --name and --checkpoints_dir
  CHECK(fs::exists(state_file(o, "latest")));
  CHECK(safetensors::load(state_file(o, "latest")).metadata.at("train_state").find("\"epoch_done\":false") !=
        std::string::npos);
}
