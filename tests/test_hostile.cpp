// Hostile but realistic use (issue 33), one test per example of each family: hangs (links that
// loop, a rank that fails before training), crashes and memory from tiny input, data lost
// (combine_A_and_B over its inputs, a new training over trained weights), writes outside the
// intended folder (--name), input accepted but wrong (safetensors ranges, an extended cgan run, the
// cgan's image count), ranks that disagree; and the smaller things found on the way.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "data/class_folders.h"
#include "data/combine.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/trainer.h"

using namespace cg;
using namespace cg::models;
namespace fs = std::filesystem;

namespace {

const std::string kBin = std::string(CG_BINARY_DIR) + "/apps/";

// Runs `fn` in a child process (so that a walk that never ends can be stopped): its exit status,
// 0 when fn returned, 1 when it threw, -1 when it had not ended after `seconds` (it is killed).
int in_child(const std::function<void()>& fn, double seconds) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      fn();
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  return test::wait_exit(pid, seconds);
}

// The exit status of our child `pid` (-1 if still running after `seconds`: killed) and its peak
// resident memory in bytes.
std::pair<int, int64_t> wait_with_rusage(pid_t pid, double seconds) {
  int status = 0;
  struct rusage ru {};
  for (int i = 0; i < static_cast<int>(seconds * 20); ++i) {
    if (wait4(pid, &status, WNOHANG, &ru) == pid)
      return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), int64_t{ru.ru_maxrss} * 1024};
    usleep(50000);
  }
  kill(pid, SIGKILL);
  wait4(pid, &status, 0, &ru);
  return {-1, int64_t{ru.ru_maxrss} * 1024};
}

// A program and its arguments, run to its end with stdout and stderr into `log`: (status, output).
std::pair<int, std::string> run_logged(const std::vector<std::string>& cmd, const std::string& log,
                                       double seconds = 120) {
  const pid_t pid = test::spawn(cmd, log);
  REQUIRE(pid > 0);
  const int rc = test::wait_exit(pid, seconds);
  return {rc, test::read_file(log)};
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A 28x28 gray PNG whose pixels are `value`.
void gray_png(const std::string& path, uint8_t value, int size = 28) {
  data::write_png(path,
                  data::Image{size, size, 1, std::vector<uint8_t>(static_cast<size_t>(size) * size, value)});
}

// DIR/<class>/ with `per_class` 28x28 PNGs per class, class k's pixels 10 * (k + 1) + image number.
std::string class_folders(const std::string& root, int classes, int per_class) {
  for (int k = 0; k < classes; ++k) {
    fs::create_directories(root + "/" + std::to_string(k));
    for (int i = 0; i < per_class; ++i)
      gray_png(root + "/" + std::to_string(k) + "/" + std::to_string(i) + ".png",
               static_cast<uint8_t>(10 * (k + 1) + i));
  }
  return root;
}

// A PNG chunk: length, type, data, CRC.
std::string png_chunk(const std::string& type, const std::string& data) {
  std::string out;
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>(data.size() >> s & 0xff);
  out += type + data;
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(type.data()), static_cast<uInt>(type.size()));
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>(crc >> s & 0xff);
  return out;
}

// The issue's forged PNG: 70 bytes whose header claims 20000x8900 RGBA; its one IDAT chunk holds
// the start of a zlib stream and the file ends there (no IEND).
std::string forged_png() {
  std::string ihdr;
  for (uint32_t v : {20000u, 8900u})
    for (int s = 24; s >= 0; s -= 8) ihdr += static_cast<char>(v >> s & 0xff);
  ihdr += std::string("\x08\x06\x00\x00\x00", 5);  // 8 bits, RGBA, deflate, no filter, no interlace
  std::string z(64, '\0');
  uLongf zlen = static_cast<uLongf>(z.size());
  const std::string row(1000, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(row.data()),
           static_cast<uLong>(row.size()));
  z.resize(zlen);
  std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", z);
  png.resize(70, '\0');
  return png;
}

// A safetensors file of this JSON header and these data bytes.
void raw_safetensors(const std::string& path, const std::string& header, const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>(header.size() >> (8 * i) & 0xff);
  write_bytes(path, out + header + data);
}

// Files under `dir` whose name ends with one of `tails`.
std::vector<std::string> files_ending(const std::string& dir, const std::vector<std::string>& tails) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    for (const std::string& t : tails)
      if (e.path().filename().string().ends_with(t)) out.push_back(e.path().filename().string());
  return out;
}

// cgan_train on the class folders `data` into ckpt/<name>, a tiny noise vector, one loader thread.
std::vector<std::string> cgan_command(const std::string& data, const std::string& ckpt,
                                      const std::string& name, const std::vector<std::string>& extra) {
  std::vector<std::string> cmd = {kBin + "cgan_train",
                                  "--dataroot",
                                  data,
                                  "--checkpoints_dir",
                                  ckpt,
                                  "--name",
                                  name,
                                  "--z_dim",
                                  "4",
                                  "--num_threads",
                                  "1",
                                  "--batch_size",
                                  "2"};
  cmd.insert(cmd.end(), extra.begin(), extra.end());
  return cmd;
}

// The number of optimizer steps G of a cgan checkpoint took (its Adam's step count).
double g_steps(const std::string& state_path) {
  const auto st = safetensors::load(state_path);
  for (const auto& [key, t] : st.tensors)
    if (key.rfind("optimizer_G.", 0) == 0 && key.ends_with(".step")) return t.item();
  FAIL("no optimizer_G step in " << state_path);
  return -1;
}

}  // namespace

// ==== hangs ====

TEST_CASE("hostile: a folder holding two links to itself (a -> . and b -> .) is walked once - no hang") {
  const std::string dir = test::scratch("hostile_loop");
  gray_png(dir + "/x.png", 1);
  gray_png(dir + "/y.png", 2);
  fs::create_directory_symlink(".", dir + "/a");
  fs::create_directory_symlink(".", dir + "/b");
  // in a child: the walk of the old code never ended (and grew without bound)
  const int rc = in_child(
      [&] {
        if (data::find_images(dir, INT64_MAX) != std::vector<std::string>{dir + "/x.png", dir + "/y.png"})
          throw Error("wrong files");
      },
      20);
  CHECK_MESSAGE(rc == 0, "exit " << rc << " (-1: still walking after 20 s)");
}

TEST_CASE("hostile: one link to its own folder does not multiply the data - 3 AB images stay 3") {
  const std::string dir = test::scratch("hostile_one_link");
  test::make_aligned_dataset(dir + "/data", 3, 1, 8, 8, 5);
  fs::create_directory_symlink(".", dir + "/data/train/x");
  CHECK(data::find_images(dir + "/data/train", INT64_MAX).size() == 3);
  data::DatasetOptions o;
  o.dataroot = dir + "/data";
  o.preprocess = {"none", 8, 8, false, 3};
  CHECK(data::AlignedDataset(o).size() == 3);
  // a link to a file is an image as any other (os.walk lists it)
  fs::create_symlink(dir + "/data/train/0.png", dir + "/data/train/link.png");
  CHECK(data::find_images(dir + "/data/train", INT64_MAX).size() == 4);
}

TEST_CASE("hostile: a class folder's link up -> .. does not make every class's images its own") {
  const std::string dir = test::scratch("hostile_class_up");
  const std::string root = class_folders(dir + "/data", 3, 2);
  fs::create_directory_symlink("..", root + "/1/up");
  const data::ClassFolderDataset ds(root);
  REQUIRE(ds.size() == 6);
  for (int64_t i = 0; i < ds.size(); ++i) CHECK(ds.label(i) == i / 2);
  // a class folder that is a link to --dataroot itself is refused: its images are every class's
  fs::create_directory_symlink(".", root + "/9");
  CHECK_THROWS_WITH_AS(data::ClassFolderDataset{root}, doctest::Contains("holds --dataroot itself"), Error);
  fs::remove(root + "/9");
  fs::create_directory_symlink("0", root + "/8");
  CHECK_THROWS_WITH_AS(data::ClassFolderDataset{root}, doctest::Contains("are the same folder"), Error);
}

// ==== crashes and memory from tiny input ====

TEST_CASE("hostile: --num_threads 100000 is an error naming the flag - no abort") {
  const std::string dir = test::scratch("hostile_threads");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 3);
  const auto r_rc =
      run_logged(test::tiny_train_command(data, dir + "/ckpt", {"--num_threads", "100000"}), dir + "/log");
  const auto rc = r_rc.first;
  const auto& out = r_rc.second;
  CHECK_MESSAGE(rc == 1, out);  // the old code: 134, "terminate called without an active exception"
  CHECK_MESSAGE(out.find("--num_threads must be >= 0 and at most 256") != std::string::npos, out);
  CHECK_FALSE(fs::exists(dir + "/ckpt"));
  Options o = test::tiny_experiment(data, dir + "/ckpt");
  o.num_threads = 257;
  CHECK_THROWS_WITH_AS(validate_options(o, true), doctest::Contains("--num_threads"), Error);
  o.num_threads = 256;
  CHECK_NOTHROW(validate_options(o, true));
}

TEST_CASE("hostile: six 70-byte PNGs claiming 20000x8900 RGBA on 6 threads are refused unallocated") {
  const std::string dir = test::scratch("hostile_png_claims");
  const std::string data = test::make_dataset(dir + "/data", 1, 2, 36, 36, 4);
  fs::remove_all(data + "/trainA");
  fs::create_directories(data + "/trainA");
  const std::string png = forged_png();
  REQUIRE(png.size() == 70);
  for (int i = 0; i < 6; ++i) write_bytes(data + "/trainA/" + std::to_string(i) + ".png", png);
  // the decoder refuses it from its chunks, before the 712 MB of rows
  try {
    data::decode_image(std::vector<uint8_t>(png.begin(), png.end()), "forged.png", 3);
    FAIL("a forged PNG decoded");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK_MESSAGE(m.find("cannot read image 'forged.png': the file is truncated") != std::string::npos, m);
  }
  // the whole program, 6 loader threads: the old code took 2.8 GB before the first refusal
  const pid_t pid =
      test::spawn(test::tiny_train_command(data, dir + "/ckpt", {"--num_threads", "6"}), dir + "/log");
  REQUIRE(pid > 0);
  const auto r_rc = wait_with_rusage(pid, 120);
  const auto rc = r_rc.first;
  const auto& peak = r_rc.second;
  const std::string out = test::read_file(dir + "/log");
  MESSAGE("peak resident memory: " << peak / (1 << 20) << " MiB");
  CHECK_MESSAGE(rc == 1, out);
  CHECK_MESSAGE(out.find("/trainA/") != std::string::npos, out);  // the error names the file
  CHECK(peak < int64_t{400} << 20);
  // a file with every byte but ends before IEND is truncated too, and one whose IDAT bytes could
  // never inflate to the rows it claims is refused by that count
  const std::string whole = test::read_file(data + "/trainB/0_B.png");
  const std::vector<uint8_t> cut(whole.begin(), whole.end() - 12);  // IEND cut off
  CHECK_THROWS_WITH_AS(data::decode_image(cut, "cut.png", 3), doctest::Contains("without the IEND chunk"),
                       Error);
  std::string big_claim = whole;
  big_claim[16] = 0;  // width 983040, within libpng's limit: more pixels than the data can hold
  big_claim[17] = 0x0f;
  big_claim[18] = big_claim[19] = 0;
  std::string fixed_ihdr = big_claim.substr(12, 17);  // type + data of IHDR, for its CRC
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(fixed_ihdr.data()), 17);
  for (int s = 0; s < 4; ++s) big_claim[29 + s] = static_cast<char>(crc >> (24 - 8 * s) & 0xff);
  CHECK_THROWS_WITH_AS(
      data::decode_image(std::vector<uint8_t>(big_claim.begin(), big_claim.end()), "big.png", 3, INT64_MAX),
      doctest::Contains("can inflate to at most"), Error);
}

TEST_CASE("hostile: a truncated JPEG is known before its rows are decoded") {
  const std::string jpg = test::read_file(std::string(CG_FIXTURE_DIR) + "/img_rgb.jpg");
  REQUIRE(jpg.size() > 200);
  const std::vector<uint8_t> cut(jpg.begin(), jpg.end() - 10);  // its last scan bytes and EOI
  CHECK_THROWS_WITH_AS(data::decode_image(cut, "half.jpg", 3), doctest::Contains("no end-of-image marker"),
                       Error);
  const std::vector<uint8_t> whole(jpg.begin(), jpg.end());
  CHECK(data::decode_image(whole, "whole.jpg", 3).width > 0);
}

TEST_CASE(
    "hostile: --batch_size 2147483647 is an error naming the flag - a batch beyond the data costs nothing") {
  Options o = default_options("cycle_gan", true);
  o.batch_size = INT_MAX;
  CHECK_THROWS_WITH_AS(validate_options(o, true),
                       doctest::Contains("--batch_size must be >= 1 and at most 65536"), Error);
  o.batch_size = 65536;
  CHECK_NOTHROW(validate_options(o, true));
  // the loader itself: its read-ahead is bounded by the data, not by the batch (the old code
  // allocated 4 x batch_size slots: std::bad_alloc)
  const std::string dir = test::scratch("hostile_batch");
  const std::string root = class_folders(dir + "/data", 1, 3);
  const data::ClassFolderDataset ds(root);
  data::Loader loader(ds, INT_MAX, false, 2, 1);
  loader.start_epoch(1, 0);
  data::Batch b;
  REQUIRE(loader.next(b));
  CHECK(b.A.shape() == Shape{3, 1, 28, 28});
  CHECK_FALSE(loader.next(b));
  // and random draws in order are not stored position by position (billions of them here)
  const data::RandomDraws draws(std::make_unique<data::ClassFolderDataset>(root), int64_t{1} << 40);
  data::Loader huge(draws, 2, false, 1, 1);
  huge.start_epoch(1, 0);
  REQUIRE(huge.next(b));
  CHECK(b.A.shape() == Shape{2, 1, 28, 28});
}

TEST_CASE("hostile: counts that size memory are bounded - each error names its flag") {
  struct Case {
    std::function<void(Options&)> set;
    const char* flag;
  };
  for (const Case& c : std::vector<Case>{
           {[](Options& o) { o.ngf = 100000; }, "--ngf and --ndf must be positive and at most 4096"},
           {[](Options& o) { o.pool_size = 2000000000; }, "--pool_size must be >= 0 and at most 65536"},
           {[](Options& o) { o.load_size = 100000; }, "--load_size 100000 would resize every image"},
       }) {
    Options o = default_options("cycle_gan", true);
    c.set(o);
    CHECK_THROWS_WITH_AS(validate_options(o, true), doctest::Contains(c.flag), Error);
  }
  Options t = default_options("cycle_gan", false);
  t.aspect_ratio = 1e9;
  CHECK_THROWS_WITH_AS(validate_options(t, false), doctest::Contains("--aspect_ratio"), Error);
  Options g = default_options("cgan", true);
  g.set("z_dim", 1000000);
  CHECK_THROWS_WITH_AS(validate_options(g, true), doctest::Contains("--z_dim must be >= 1 and at most 4096"),
                       Error);
  Options e = default_options("cycle_gan", true);
  e.n_epochs = INT_MAX;  // with --n_epochs_decay its sum would wrap
  CHECK_THROWS_WITH_AS(validate_options(e, true), doctest::Contains("--n_epochs and --n_epochs_decay"),
                       Error);
  Options s = default_options("cgan", false);
  s.set("label", 0);
  s.set("num", 2000000000);
  CHECK_THROWS_WITH_AS(validate_options(s, false), doctest::Contains("--num must be >= 1 and at most"),
                       Error);
  // a file far larger than an image within --max_pixels could be is refused unread (sparse here)
  const std::string big = test::scratch("hostile_big_file") + "/big.png";
  write_bytes(big, std::string("\x89PNG\r\n\x1a\n", 8));
  fs::resize_file(big, uintmax_t{300} << 20);
  CHECK_THROWS_WITH_AS(data::read_image(big, 3, 1000),
                       doctest::Contains("more than an image of --max_pixels 1000 pixels can take"), Error);
  fs::remove(big);
  // a thin image scaled to --load_size wide would be taller than any image may be
  data::Preprocess p{"scale_width", 286, 256, false, 3};
  Generator gen(1);
  const data::Image thin{1, 1000000, 3, std::vector<uint8_t>(3000000)};
  CHECK_THROWS_WITH_AS(data::transform(thin, p, gen, "thin.png"), doctest::Contains("more than --max_pixels"),
                       Error);
}

// ==== data lost ====

TEST_CASE("hostile: combine_A_and_B never writes over its inputs - --fold_AB in or as --fold_A is refused") {
  const std::string dir = test::scratch("hostile_combine");
  for (const char* side : {"A", "B"}) {
    fs::create_directories(dir + "/" + side);
    for (int i = 0; i < 2; ++i)
      data::write_png(dir + "/" + side + "/" + std::to_string(i) + ".png",
                      data::Image{4, 4, 3, std::vector<uint8_t>(48, static_cast<uint8_t>(side[0] + i))});
  }
  const std::string before = test::read_file(dir + "/A/0.png");
  fs::create_directory_symlink(dir + "/A", dir + "/link_to_A");
  for (const std::string& out : {dir + "/A", dir + "/A/", dir + "/A/sub", dir + "/B", dir + "/link_to_A",
                                 dir + "/link_to_A/new", dir + "/A/../A"}) {
    CAPTURE(out);
    const auto r_rc = test::run_command(kBin + "combine_A_and_B --fold_A " + dir + "/A --fold_B " + dir +
                                        "/B --fold_AB " + out + " 2>&1");
    const auto rc = r_rc.first;
    const auto& log = r_rc.second;
    CHECK(rc == 1);
    CHECK_MESSAGE(log.find("--fold_AB '" + out + "' is --fold_") != std::string::npos, log);
  }
  CHECK(test::read_file(dir + "/A/0.png") == before);  // the old code replaced it by the AB image
  CHECK_FALSE(fs::exists(dir + "/A/sub"));
  // an output beside the inputs is fine
  const auto r_rc = test::run_command(kBin + "combine_A_and_B --fold_A " + dir + "/A --fold_B " + dir +
                                      "/B --fold_AB " + dir + "/AB 2>&1");
  const auto rc = r_rc.first;
  const auto& log = r_rc.second;
  CHECK_MESSAGE(rc == 0, log);
  CHECK(data::read_image(dir + "/AB/0.png", 3).width == 8);
}

TEST_CASE("hostile: cyclegan_test never writes its results among the images it reads") {
  const std::string dir = test::scratch("hostile_results_in_data");
  const std::string data = test::make_dataset(dir + "/data", 1, 1, 36, 36, 13);
  const std::string before = test::read_file(data + "/testA/0_A.png");
  for (const auto& c : std::vector<std::vector<std::string>>{
           {"--model", "cycle_gan", "--results_dir", data + "/testA"},
           {"--model", "test", "--dataroot", data + "/testA", "--results_dir", data + "/testA/out"},
       }) {
    std::vector<std::string> cmd = {kBin + "cyclegan_test", "--dataroot", data, "--name", "n",
                                    "--checkpoints_dir",    dir + "/ckpt"};
    cmd.insert(cmd.end(), c.begin(), c.end());
    const auto r = run_logged(cmd, dir + "/log");
    const std::string& out = r.second;
    CHECK(r.first == 1);
    CHECK_MESSAGE(out.find("inside the input folder") != std::string::npos, out);
  }
  CHECK(test::read_file(data + "/testA/0_A.png") == before);
  CHECK_FALSE(fs::exists(data + "/testA/n"));
}

TEST_CASE("hostile: a new training over trained weights is refused - --continue_train or --overwrite go on") {
  const std::string dir = test::scratch("hostile_overwrite");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 6);
  const std::vector<std::string> one_epoch = {"--n_epochs",    "1", "--print_freq", "1000",
                                              "--num_threads", "1"};
  REQUIRE(run_logged(test::tiny_train_command(data, dir + "/ckpt", one_epoch), dir + "/first.log").first ==
          0);
  const std::string weights = dir + "/ckpt/tiny/latest_net_G_A.safetensors";
  const std::string trained = test::read_file(weights);
  const auto r_rc = run_logged(test::tiny_train_command(data, dir + "/ckpt", one_epoch), dir + "/again.log");
  const auto rc = r_rc.first;
  const auto& out = r_rc.second;
  CHECK(rc == 1);
  for (const char* says : {"holds trained weights (latest_net_D_A.safetensors", "add --continue_train",
                           "another --name", "add --overwrite"})
    CHECK_MESSAGE(out.find(says) != std::string::npos, says << " in: " << out);
  CHECK(test::read_file(weights) == trained);  // nothing replaced
  // an explicit --overwrite starts afresh over them
  auto over = one_epoch;
  over.insert(over.end(), {"--overwrite", "--seed", "5"});
  CHECK(run_logged(test::tiny_train_command(data, dir + "/ckpt", over), dir + "/over.log").first == 0);
  CHECK(test::read_file(weights) != trained);
  // and any label's weights count, in cgan_train too
  const std::string cls = class_folders(dir + "/cls", 2, 2);
  fs::create_directories(dir + "/ck2/c");
  fs::copy_file(weights, dir + "/ck2/c/7_net_G.safetensors");
  const auto r_rc2 = run_logged(cgan_command(cls, dir + "/ck2", "c", {"--n_iters", "1"}), dir + "/c.log");
  const auto rc2 = r_rc2.first;
  const auto& out2 = r_rc2.second;
  CHECK(rc2 == 1);
  CHECK_MESSAGE(out2.find("holds trained weights (7_net_G.safetensors)") != std::string::npos, out2);
}

TEST_CASE("hostile: a failed save (a full disk) removes its .new files and names the intact checkpoint") {
  const std::string dir = test::scratch("hostile_full_disk");
  Options o = test::tiny_experiment(test::make_dataset(dir + "/data", 2, 2, 36, 36, 7), dir + "/ckpt");
  const std::unique_ptr<Model> m = create_model(o, true);
  save_checkpoint(*m, "latest", {1, 2, 2, false, {}});
  const std::string exp = experiment_dir(o), kept = test::read_file(net_file(o, "latest", "G_A"));
  // the networks are written G_A, G_B, D_A, D_B, then the state: G's fit, the disk is full at D_A
  const uintmax_t limit = fs::file_size(net_file(o, "latest", "G_A")) + 1024;
  REQUIRE(fs::file_size(net_file(o, "latest", "D_A")) > limit);
  struct rlimit old {};
  getrlimit(RLIMIT_FSIZE, &old);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = limit;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  try {
    save_checkpoint(*m, "latest", {1, 4, 4, false, {}});
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  REQUIRE_MESSAGE(!message.empty(), "the save did not fail");
  CHECK(files_ending(exp, {".new", ".tmp"}).empty());  // the old code left the networks' .new files
  CHECK_MESSAGE(message.find("The checkpoint 'latest' saved before is intact in " + exp +
                             " (latest_net_G_A.safetensors") != std::string::npos,
                message);
  CHECK(test::read_file(net_file(o, "latest", "G_A")) == kept);
}

// ==== writes outside the intended folder ====

TEST_CASE(
    "hostile: --name is one folder name - ../../x - absolute - empty - . and .. are refused by every "
    "program") {
  const std::string dir = test::scratch("hostile_names");
  for (const bool train : {true, false}) {
    for (const std::string name : {"../../x", "/tmp/abs", "", ".", "..", "a/b"}) {
      CAPTURE(train);
      CAPTURE(name);
      Options o = default_options(train ? "cycle_gan" : "test", train);
      o.checkpoints_dir = dir + "/ckpt";
      o.results_dir = dir + "/results";
      o.name = name;
      CHECK_THROWS_WITH_AS(validate_options(o, train), doctest::Contains(("--name '" + name + "'").c_str()),
                           Error);
      CHECK_THROWS_WITH_AS(experiment_dir(o), doctest::Contains("--name"), Error);
    }
  }
  // the programs: nothing is written anywhere
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 8);
  const auto r_rc = run_logged(
      test::tiny_train_command(data, dir + "/ckpt/deep", {"--name", "../../escaped"}), dir + "/log");
  const auto rc = r_rc.first;
  const auto& out = r_rc.second;
  CHECK(rc == 1);
  CHECK_MESSAGE(out.find("--name '../../escaped' holds a '/'") != std::string::npos, out);
  CHECK_FALSE(fs::exists(dir + "/escaped"));
  CHECK_FALSE(fs::exists(dir + "/ckpt"));
  const std::string cls = class_folders(dir + "/cls", 2, 2);
  const auto r_rc2 = run_logged(cgan_command(cls, dir + "/ck", "", {"--n_iters", "1"}), dir + "/c.log");
  const auto rc2 = r_rc2.first;
  const auto& out2 = r_rc2.second;
  CHECK(rc2 == 1);
  CHECK_MESSAGE(out2.find("--name '' is empty") != std::string::npos, out2);
  CHECK_FALSE(fs::exists(dir + "/ck"));
  // --phase and --epoch name files and folders too
  Options t = default_options("test", false);
  t.epoch = "../../../x";
  CHECK_THROWS_WITH_AS(validate_options(t, false), doctest::Contains("--epoch"), Error);
  t.epoch = "latest";
  t.phase = "../x";
  CHECK_THROWS_WITH_AS(validate_options(t, false), doctest::Contains("--phase"), Error);
}

// ==== accepted but wrong ====

TEST_CASE("hostile: safetensors whose tensors' byte ranges overlap - or leave a hole - are refused") {
  const std::string path = test::scratch("hostile_safetensors") + "/f.safetensors";
  const std::string data(24, '\0');
  struct Case {
    std::string header, data, error;
  };
  for (
      const Case& c : std::vector<Case>{
          // b's bytes are a's last 8: an overlap, leaving the last 8 bytes unused
          {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
           data, "tensor 'b' starts at byte 8 where the tensors before it end at byte 16 (an overlap)"},
          {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
           data, "tensor 'b' starts at byte 16 where the tensors before it end at byte 8 (a hole)"},
          {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", std::string(16, '\0'),
           "tensor 'a' starts at byte 8"},
          {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data, "they end at byte 8 of 24"},
          {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
           std::string(8, '\0'), "an overlap"},
      }) {
    CAPTURE(c.header);
    raw_safetensors(path, c.header, c.data);
    CHECK_THROWS_WITH_AS(safetensors::load(path), doctest::Contains(c.error.c_str()), Error);
  }
  // ranges given out of order tile all the same, and zero-byte tensors sit anywhere in the tiling
  raw_safetensors(
      path,
      R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
      std::string(16, '\0'));
  CHECK(safetensors::load(path).tensors.size() == 3);
}

TEST_CASE(
    "hostile: cgan_train --continue_train --n_iters 12 on a finished 6-iteration run trains the 6 more") {
  const std::string dir = test::scratch("hostile_cgan_extend");
  const std::string cls = class_folders(dir + "/data", 2, 3);
  REQUIRE(run_logged(cgan_command(cls, dir + "/ck", "run", {"--n_iters", "6"}), dir + "/6.log").first == 0);
  CHECK(g_steps(dir + "/ck/run/latest_train_state.safetensors") == 6);
  const auto r_rc = run_logged(cgan_command(cls, dir + "/ck", "run", {"--n_iters", "12", "--continue_train"}),
                               dir + "/12.log");
  const auto rc = r_rc.first;
  const auto& out = r_rc.second;
  CHECK_MESSAGE(rc == 0, out);
  CHECK(g_steps(dir + "/ck/run/latest_train_state.safetensors") == 12);  // the old code: still 6
  CHECK_MESSAGE(out.find("ended after 12 samples; it has 24 now: training the 12 more") != std::string::npos,
                out);
  // exactly the run of 12 iterations in one go
  REQUIRE(run_logged(cgan_command(cls, dir + "/ck", "straight", {"--n_iters", "12"}), dir + "/s.log").first ==
          0);
  for (const char* net : {"G", "D"}) {
    const std::string diff =
        test::first_difference(dir + "/ck/run/latest_net_" + std::string(net) + ".safetensors",
                               dir + "/ck/straight/latest_net_" + std::string(net) + ".safetensors");
    CHECK_MESSAGE(diff.empty(), net << ": " << diff);
  }
  // resuming the finished run again says there is nothing to train
  const auto r_rc3 = run_logged(
      cgan_command(cls, dir + "/ck", "run", {"--n_iters", "12", "--continue_train"}), dir + "/again.log");
  const auto rc3 = r_rc3.first;
  const auto& out3 = r_rc3.second;
  CHECK(rc3 == 0);
  CHECK_MESSAGE(out3.find("nothing to train") != std::string::npos, out3);
}

TEST_CASE(
    "hostile: cgan_train says how many images the class folders hold - and how many draws an epoch is") {
  const std::string dir = test::scratch("hostile_cgan_count");
  const std::string cls = class_folders(dir + "/data", 4, 5);  // 20 images
  const auto r_rc = run_logged(cgan_command(cls, dir + "/ck", "n", {"--n_iters", "2"}), dir + "/log");
  const auto rc = r_rc.first;
  const auto& out = r_rc.second;
  CHECK_MESSAGE(rc == 0, out);
  // the old code: "The number of training images = 4" (2 iterations x --batch_size 2)
  CHECK_MESSAGE(out.find("The number of training images = 20 (an epoch is 4 random draws from them, with "
                         "replacement)") != std::string::npos,
                out);
}

// ==== the smaller things ====

TEST_CASE("hostile: --seed -1 and --batch_size abc --batch_size 2 are refused naming the flag") {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"--seed", "-1"}, "--seed: '-1' is not a whole number >= 0"},
           {{"--batch_size", "abc", "--batch_size", "2"}, "--batch_size: 'abc' is not a whole number"},
           {{"--lr", "x", "--lr", "0.1"}, "--lr: 'x' is not a number"},
           {{"--max_dataset_size", "x", "--max_dataset_size", "5"}, "--max_dataset_size: expected 'inf'"},
           {{"--lambda_A", "x", "--lambda_A", "1"}, "--lambda_A: 'x' is not a number"},
           {{"--batch_size", "99999999999", "--batch_size", "2"},
            "--batch_size: '99999999999' is not a whole number"},
       }) {
    CAPTURE(c.error);
    std::vector<std::string> args = {"cyclegan_train"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    // stderr goes to a file: parse_args prints usage errors itself
    const std::string err_path = test::scratch("hostile_parse") + "/err";
    std::fflush(stderr);
    const int saved = dup(2);
    const int fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    const Parsed p = parse_train_args(static_cast<int>(argv.size()), argv.data());
    std::fflush(stderr);
    dup2(saved, 2);
    close(fd);
    close(saved);
    CHECK(p.exit_code == 2);
    const std::string err = test::read_file(err_path);
    CHECK_MESSAGE(err.find(c.error) != std::string::npos, err);
  }
  // decimal as argparse's int(): "010" is ten; the last value wins
  std::vector<std::string> args = {
      "cyclegan_train", "--batch_size", "3", "--batch_size", "010", "--seed", "7"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  const Parsed p = parse_train_args(static_cast<int>(argv.size()), argv.data());
  REQUIRE_FALSE(p.exit_code);
  CHECK(p.opt.batch_size == 10);
  CHECK(p.opt.seed == 7);
}

TEST_CASE("hostile: --gpu_ids 0 on a machine without a GPU names --gpu_ids") {
  if (cuda_available()) {
    MESSAGE("this machine has a GPU: the refusal is checked where there is none");
    return;
  }
  const std::string dir = test::scratch("hostile_gpu_ids");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 9);
  const auto r_rc =
      run_logged(test::tiny_train_command(data, dir + "/ckpt", {"--gpu_ids", "0"}), dir + "/log");
  const auto rc = r_rc.first;
  const auto& out = r_rc.second;
  CHECK(rc == 1);
  CHECK_MESSAGE(out.find("(--gpu_ids 0)") != std::string::npos, out);
  CHECK_MESSAGE(out.find("--gpu_ids -1 runs on the CPU") != std::string::npos, out);
}

TEST_CASE("hostile: --continue_train without a checkpoint leaves no train.lock - no folder - behind") {
  const std::string dir = test::scratch("hostile_lock");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 10);
  const auto r_rc =
      run_logged(test::tiny_train_command(data, dir + "/ckpt", {"--continue_train"}), dir + "/log");
  const auto rc = r_rc.first;
  const auto& out = r_rc.second;
  CHECK(rc == 1);
  CHECK_MESSAGE(out.find("does not exist") != std::string::npos, out);
  CHECK_FALSE(fs::exists(dir + "/ckpt/tiny/train.lock"));
  CHECK_FALSE(fs::exists(dir + "/ckpt"));
  // a folder that existed stays, without the lock
  fs::create_directories(dir + "/ckpt/tiny");
  CHECK(run_logged(test::tiny_train_command(data, dir + "/ckpt", {"--continue_train"}), dir + "/log").first ==
        1);
  CHECK(fs::is_directory(dir + "/ckpt/tiny"));
  CHECK(fs::is_empty(dir + "/ckpt/tiny"));
}

TEST_CASE("hostile: fashion_mnist_edges --sigma nan (and --low and --high) name their flag") {
  const std::string dir = test::scratch("hostile_edges");
  for (const auto& c : std::vector<std::pair<std::string, std::string>>{{"--sigma nan", "--sigma must be"},
                                                                        {"--sigma 1e9", "--sigma must be"},
                                                                        {"--low nan", "--low must be"},
                                                                        {"--high 2", "--high must be"}}) {
    const std::string& args = c.first;
    const std::string& flag = c.second;
    CAPTURE(args);
    const auto r_rc = test::run_command(kBin + "fashion_mnist_edges --out " + dir + "/out " + args + " 2>&1");
    const auto rc = r_rc.first;
    const auto& out = r_rc.second;
    CHECK(rc == 1);
    CHECK_MESSAGE(out.find(flag) != std::string::npos, out);
  }
  CHECK_FALSE(fs::exists(dir + "/out"));
}

TEST_CASE("hostile: a stop by SIGTERM is said once - not on stdout and stderr both") {
  const std::string dir = test::scratch("hostile_stop_once");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 11);
  const pid_t pid =
      test::spawn(test::tiny_train_command(data, dir + "/ckpt", {"--num_threads", "1"}), dir + "/log");
  REQUIRE(pid > 0);
  const std::string csv = dir + "/ckpt/tiny/loss_log.csv";
  for (int i = 0; i < 600 && !(fs::exists(csv) && fs::file_size(csv) > 100); ++i) usleep(50000);
  kill(pid, SIGTERM);
  CHECK(test::wait_exit(pid) == 143);
  const std::string out = test::read_file(dir + "/log");
  CHECK_MESSAGE(count(out, "terminated (SIGTERM): saved 'latest'") == 1, out);
}

// ==== ranks that disagree, and ranks that fail early (under mpirun) ====

#if CG_HAVE_MPI
namespace {

bool have_mpirun() { return std::string(CG_MPIRUN).find("NOTFOUND") == std::string::npos; }

void mpi_env() {
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
  setenv("OMP_NUM_THREADS", "1", 1);
}

// mpirun of two ranks, each with its own command line (MPMD: `-np 1 A : -np 1 B`), in `dirs`.
std::vector<std::string> two_ranks(const std::vector<std::string>& rank0,
                                   const std::vector<std::string>& rank1, const std::string& wdir0 = "",
                                   const std::string& wdir1 = "") {
  std::vector<std::string> cmd = {CG_MPIRUN, "--oversubscribe", "-np", "1"};
  if (!wdir0.empty()) cmd.insert(cmd.end(), {"-wdir", wdir0});
  cmd.insert(cmd.end(), rank0.begin(), rank0.end());
  cmd.insert(cmd.end(), {":", "-np", "1"});
  if (!wdir1.empty()) cmd.insert(cmd.end(), {"-wdir", wdir1});
  cmd.insert(cmd.end(), rank1.begin(), rank1.end());
  return cmd;
}

// The job's exit status and seconds taken (status -1 when it still ran after `limit` s: then its
// ranks, mpirun's children, are killed first, and mpirun).
std::pair<int, double> timed(const std::vector<std::string>& cmd, const std::string& log, double limit = 60) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = test::spawn(cmd, log);
  REQUIRE(pid > 0);
  int status = 0;
  for (int i = 0; i < static_cast<int>(limit * 20); ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
    usleep(50000);
  }
  std::stringstream ranks(test::run_command("pgrep -P " + std::to_string(pid)).second);
  for (long r; ranks >> r;) kill(static_cast<pid_t>(r), SIGKILL);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return {-1, limit};
}

}  // namespace

TEST_CASE("hostile mpirun: an error before training on one rank ends the whole job non-zero within 10 s") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("hostile_mpi_early");
  const std::string cls = class_folders(dir + "/data", 2, 2);
  fs::create_directories(dir + "/elsewhere");
  const auto good = cgan_command("data", dir + "/ck", "n", {"--n_iters", "2"});
  struct Case {
    const char* what;
    std::vector<std::string> rank1;
    std::string wdir1, says;
  };
  for (const Case& c : std::vector<Case>{
           // a usage error on rank 1 alone: the old code's rank 1 left through MPI_Finalize while rank
           // 0 waited for it in a barrier, forever
           {"usage error", cgan_command("data", dir + "/ck", "n", {"--n_iters", "2", "--batch_size", "abc"}),
            dir, "--batch_size"},
           {"usage error before the last value",
            cgan_command("data", dir + "/ck", "n", {"--n_iters", "x", "--n_iters", "2"}), dir,
            "--n_iters: 'x' is not a whole number"},
           // the same (relative) --dataroot, which rank 1 cannot read where it runs
           {"unreadable --dataroot", good, dir + "/elsewhere", "--dataroot 'data' is not a folder"},
           // another --dataroot on rank 1: refused on every rank, naming it
           {"another --dataroot", cgan_command("nope", dir + "/ck", "n", {"--n_iters", "2"}), dir,
            "rank 1 has '--dataroot nope' where rank 0 has '--dataroot data'"},
       }) {
    const std::string what = c.what;
    CAPTURE(what);
    const auto r_rc = timed(two_ranks(good, c.rank1, dir, c.wdir1), dir + "/log");
    const auto rc = r_rc.first;
    const auto& took = r_rc.second;
    const std::string log = test::read_file(dir + "/log");
    MESSAGE(what << ": mpirun ended after " << took << " s with " << rc);
    CHECK_MESSAGE(rc > 0, log);  // not 0, and not -1 (still running after 60 s)
    CHECK(took < 10);
    CHECK_MESSAGE(log.find(c.says) != std::string::npos, log);
  }
  CHECK_FALSE(fs::exists(dir + "/ck/n/latest_net_G.safetensors"));
}

TEST_CASE("hostile mpirun: ranks given different options are refused naming the first that differs") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("hostile_mpi_options");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 12);
  const std::vector<std::string> common = {"--n_epochs", "1", "--num_threads", "1"};
  auto with = [&](const std::vector<std::string>& extra) {
    auto e = common;
    e.insert(e.end(), extra.begin(), extra.end());
    return test::tiny_train_command(data, dir + "/ckpt", e);
  };
  const auto r_rc = timed(two_ranks(with({"--batch_size", "2"}), with({"--batch_size", "3"})), dir + "/log");
  const auto rc = r_rc.first;
  const auto& took = r_rc.second;
  const std::string log = test::read_file(dir + "/log");
  CHECK_MESSAGE(rc == 1, log);
  CHECK(took < 10);
  CHECK_MESSAGE(
      log.find("the ranks were given different options: rank 1 has '--batch_size 3' where rank 0 has "
               "'--batch_size 2'; give every rank the same command line") != std::string::npos,
      log);
  CHECK(count(log, "the ranks were given different options") == 1);  // said once, by rank 0
  CHECK_FALSE(fs::exists(dir + "/ckpt/tiny/latest_net_G_A.safetensors"));
}

TEST_CASE("hostile mpirun: cgan_train -np 2 --batch_size 2 --n_iters 6 takes 6 optimizer steps") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("hostile_mpi_cgan");
  const std::string cls = class_folders(dir + "/data", 2, 3);
  std::vector<std::string> cmd = {CG_MPIRUN, "-np", "2", "--oversubscribe"};
  const auto train = cgan_command(cls, dir + "/ck", "two", {"--n_iters", "6"});
  cmd.insert(cmd.end(), train.begin(), train.end());
  const int rc = timed(cmd, dir + "/log", 300).first;
  const std::string log = test::read_file(dir + "/log");
  REQUIRE_MESSAGE(rc == 0, log);
  CHECK(g_steps(dir + "/ck/two/latest_train_state.safetensors") == 6);  // the old code: 3
  CHECK_MESSAGE(
      log.find("The number of training images = 6 (an epoch is 24 random draws") != std::string::npos, log);
}
#endif
