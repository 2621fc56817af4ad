// Data-parallel training (distributed/, the training harness): the loader's split of one shared order,
// one writer per experiment folder, the --gpu_ids launch, and whole runs under mpirun (when this
// build has MPI): 2 ranks x --batch_size 1 against one process with --batch_size 2, --norm
// syncbatch against --norm batch, validation on rank 0, SIGTERM to mpirun and an exact resume,
// kill -9 of a rank and a resume on another number of ranks. A build without MPI is checked to
// refuse a launch of several.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "backend/comm.h"
#include "backend/device.h"
#include "data/dataset.h"
#include "data/files.h"
#include "data/loader.h"
#include "distributed/launch.h"
#include "helpers.h"
#include "models/common/checkpoint.h"

using namespace cg;
namespace fs = std::filesystem;

namespace {

// ---- the loader's split ----

// A dataset whose sample i is the 1-element tensor {i + u}, u the sample's first uniform draw: it
// shows both which sample came and which random stream it drew from.
class Numbers : public data::Dataset {
 public:
  explicit Numbers(int64_t n) : n_(n) {}
  int64_t size() const override { return n_; }
  data::Sample get(int64_t index, Generator& gen) const override {
    data::Sample s;
    s.A = Tensor::from_vector(std::vector<double>{static_cast<double>(index) + gen.uniform()}, {1, 1, 1});
    s.A_path = std::to_string(index);
    return s;
  }
  std::string file(int64_t index) const override { return std::to_string(index); }

 private:
  int64_t n_;
};

// Every value a loader hands out in one epoch, in order.
std::vector<double> epoch_values(data::Loader& l, int epoch, int64_t skip) {
  l.start_epoch(epoch, skip);
  std::vector<double> out;
  data::Batch b;
  while (l.next(b))
    for (double v : b.A.to_vector<double>()) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE(
    "data parallel loader: ranks share one shuffled order, padded to equal shares, random draws by global "
    "position") {
  const Numbers ds(7);
  for (int world : {2, 3}) {
    CAPTURE(world);
    // one process, batch 1: the reference order and draws
    data::Loader one(ds, 1, true, 2, 42);
    const std::vector<double> all = epoch_values(one, 3, 0);
    REQUIRE(all.size() == 7);
    for (int64_t skip : {int64_t{0}, int64_t{3}}) {  // 3: a resume saved by another number of ranks
      CAPTURE(skip);
      const int64_t per_rank = (7 - skip + world - 1) / world;
      std::set<int64_t> seen;
      for (int r = 0; r < world; ++r) {
        CAPTURE(r);
        data::Loader mine(ds, 2, true, 2, 42, INT64_MAX, r, world);
        CHECK(mine.samples_per_epoch() == 7);
        const std::vector<double> got = epoch_values(mine, 3, skip);
        CHECK(mine.rank_samples() == per_rank);
        REQUIRE(static_cast<int64_t>(got.size()) == per_rank);  // every rank the same count
        for (int64_t j = 0; j < per_rank; ++j) {
          const int64_t g = skip + r + j * world;  // the global position
          if (g < 7) {
            CHECK(got[static_cast<size_t>(j)] == all[static_cast<size_t>(g)]);  // the sample and its draw
            seen.insert(g);
          } else {  // the padding wraps to the start of the order (a draw of its own position)
            CHECK(std::floor(got[static_cast<size_t>(j)]) == std::floor(all[static_cast<size_t>(g - 7)]));
          }
        }
      }
      CHECK(static_cast<int64_t>(seen.size()) == 7 - skip);  // every position after skip, once
    }
  }
  // --max_dataset_size counts the global batch: 5 with 2 ranks x batch 2 stops after 2 global batches
  data::Loader capped(ds, 2, false, 1, 1, 5, 0, 2);
  CHECK(capped.samples_per_epoch() == 7);
  data::Loader capped4(ds, 1, false, 1, 1, 3, 1, 2);
  CHECK(capped4.samples_per_epoch() == 4);
}

TEST_CASE("one training per experiment folder: a second lock is refused naming the folder and the holder") {
  const std::string dir = test::scratch("folder_lock");
  {
    data::FolderLock first(dir, "train.lock", "the experiment folder");
    CHECK(test::read_file(dir + "/train.lock").find("pid " + std::to_string(getpid())) != std::string::npos);
    try {
      data::FolderLock second(dir, "train.lock", "the experiment folder");
      FAIL("a second lock of a held folder was granted");
    } catch (const Error& e) {
      const std::string msg = e.what();
      CHECK(msg.find("'" + dir + "' is in use by another training") != std::string::npos);
      CHECK(msg.find("pid " + std::to_string(getpid())) != std::string::npos);
    }
  }
  CHECK_NOTHROW(data::FolderLock(dir, "train.lock", "the experiment folder"));  // released with its holder
}

TEST_CASE("cyclegan_train refuses a folder another training holds, and takes it once that one is gone") {
  const std::string dir = test::scratch("folder_lock_app");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 61);
  const auto cmd = test::tiny_train_command(data, dir + "/ckpt", {"--print_freq", "1000"});
  const pid_t first = test::spawn(cmd, dir + "/first.log");
  REQUIRE(first > 0);
  const std::string lock = dir + "/ckpt/tiny/train.lock";
  for (int i = 0; i < 600 && test::read_file(lock).empty(); ++i) usleep(20000);
  std::string line;
  for (const std::string& a : cmd) line += "'" + a + "' ";
  const auto result = test::run_command(line + "2>&1");
  const int rc = result.first;
  const std::string& out = result.second;  // not a structured binding: doctest's macros capture it
  CHECK(rc == 1);
  CHECK_MESSAGE(out.find("'" + dir + "/ckpt/tiny' is in use by another training (pid " +
                         std::to_string(first)) != std::string::npos,
                out);
  kill(first, SIGKILL);  // a crash: the lock goes with the process
  test::wait_exit(first);
  // --overwrite: the first may have saved weights before it was killed (a new training refuses them)
  const auto again = test::spawn(
      test::tiny_train_command(data, dir + "/ckpt", {"--n_epochs", "1", "--overwrite"}), dir + "/again.log");
  CHECK_MESSAGE(test::wait_exit(again) == 0, test::read_file(dir + "/again.log"));
}

TEST_CASE("--gpu_ids 0,1,2 starts a rank per GPU through mpirun with this program's arguments") {
  std::vector<std::string> args = {"prog", "--gpu_ids", "0,1,2", "--name", "x"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (std::string(CG_MPIRUN).find("NOTFOUND") != std::string::npos) {
    CHECK_THROWS_WITH_AS(distributed::launch_command("/bin/prog", 5, argv.data(), 3),
                         doctest::Contains("no mpirun"), Error);
    return;
  }
  const auto cmd = distributed::launch_command("/bin/prog", 5, argv.data(), 3);
  REQUIRE(cmd.size() == 10);
  CHECK(fs::path(cmd[0]).filename() == fs::path(CG_MPIRUN).filename());
  CHECK(std::vector<std::string>(cmd.begin() + 1, cmd.end()) ==
        std::vector<std::string>{"-np", "3", "--bind-to", "none", "/bin/prog", "--gpu_ids", "0,1,2", "--name",
                                 "x"});
  CHECK_FALSE(distributed::launch_ranks(5, argv.data(), 1));  // one GPU: this process trains
}

TEST_CASE("cyclegan_train --gpu_ids 0,1: two ranks on two GPUs - a clear error where there are fewer") {
  const std::string dir = test::scratch("gpu_ids_launch");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 68);
  std::string line;
  for (const std::string& a :
       test::tiny_train_command(data, dir + "/ckpt", {"--gpu_ids", "0,1", "--n_epochs", "1"}))
    line += "'" + a + "' ";
  const auto result = test::run_command(line + "2>&1");
  const std::string& out = result.second;
  int gpus = 0;
#if CG_HAVE_CUDA  // the CUDA backend's functions exist in CUDA builds only
  if (cuda_available()) gpus = backend::gpu_count();
#endif
  CAPTURE(gpus);
  if (gpus == 0) {  // one error, before any rank starts, and nothing written
    CHECK(result.first == 1);
    CHECK_MESSAGE(
        (out.find("--gpu_ids 0,1: no CUDA device is available on this machine") != std::string::npos ||
         out.find("--gpu_ids 0,1: this build has no CUDA backend") != std::string::npos),
        out);
    CHECK_MESSAGE(out.find("starting 2 ranks") == std::string::npos, out);
    CHECK_FALSE(fs::exists(dir + "/ckpt"));
  } else if (gpus == 1) {  // the ranks start; rank 1's GPU is not there
    CHECK(result.first != 0);
    CHECK_MESSAGE(out.find("starting 2 ranks") != std::string::npos, out);
    CHECK_MESSAGE(out.find("--gpu_ids names GPU 1, but this machine has 1") != std::string::npos, out);
  } else {  // a rank per GPU, gradients over NCCL
    CHECK_MESSAGE(result.first == 0, out);
    CHECK_MESSAGE(out.find("gradients over NCCL") != std::string::npos, out);
    CHECK(fs::exists(dir + "/ckpt/tiny/latest_net_G_A.safetensors"));
  }
}

// ---- whole runs under mpirun ----

namespace {

bool have_mpirun() { return std::string(CG_MPIRUN).find("NOTFOUND") == std::string::npos; }

// mpirun as root (CI) needs its consent; one OpenMP thread per rank keeps 2-3 ranks on 2 cores sane;
// shared-memory copies without cross-process reads (CMA), which containers without ptrace refuse.
void mpi_env() {
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
  setenv("OMP_NUM_THREADS", "1", 1);
}

std::vector<std::string> under_mpirun(int ranks, const std::vector<std::string>& cmd) {
  std::vector<std::string> out = {CG_MPIRUN, "-np", std::to_string(ranks), "--oversubscribe"};
  out.insert(out.end(), cmd.begin(), cmd.end());
  return out;
}

int run(const std::vector<std::string>& cmd, const std::string& log, double seconds = 300) {
  const pid_t pid = test::spawn(cmd, log);
  REQUIRE(pid > 0);
  return test::wait_exit(pid, seconds);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

#if CG_HAVE_MPI  // the helpers of the whole-run comparisons below
// The numbers of loss_log.csv, row by row (the header left out).
std::vector<std::vector<double>> csv_rows(const std::string& path) {
  std::vector<std::vector<double>> rows;
  std::stringstream in(test::read_file(path));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');) row.push_back(std::stod(c));
    rows.push_back(row);
  }
  return rows;
}

// The largest |a / b - 1| over the cells of two tables of one shape.
double worst_ratio(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    for (size_t k = 0; k < a[i].size() && k < b[i].size(); ++k)
      worst = std::max(worst, std::abs(a[i][k] / b[i][k] - 1));
  return worst;
}

// The biases of the tiny networks' convolutions that an instance norm follows: the norm removes
// them, so their exact gradient is 0 and what they get is rounding noise, which Adam scales to
// steps of up to --lr either way. They cannot agree between two summation orders; every other
// tensor must.
bool cancelled_bias(const std::string& net, const std::string& key) {
  static const std::set<std::string> g = {"model.1.bias",
                                          "model.4.bias",
                                          "model.7.bias",
                                          "model.10.conv_block.1.bias",
                                          "model.10.conv_block.5.bias",
                                          "model.11.bias",
                                          "model.14.bias"};
  static const std::set<std::string> d = {"model.2.bias", "model.5.bias", "model.8.bias"};
  return (net[0] == 'G' ? g : d).count(key) > 0;
}

struct Worst {
  double tight = 0, noise = 0;  // the largest |difference| of the other tensors and of the cancelled biases
};

// Every tensor of the networks `nets` (CycleGAN's four by default) of checkpoint 'latest' in a and b.
Worst compare_networks(const std::string& a, const std::string& b, bool instance_norm,
                       const std::vector<std::string>& nets = {"G_A", "G_B", "D_A", "D_B"}) {
  Worst w;
  for (const std::string& net : nets) {
    const auto x = safetensors::load(a + "/latest_net_" + net + ".safetensors").tensors;
    const auto y = safetensors::load(b + "/latest_net_" + net + ".safetensors").tensors;
    REQUIRE(x.size() == y.size());
    for (const auto& entry : x) {
      const auto xv = entry.second.to_vector<double>(), yv = y.at(entry.first).to_vector<double>();
      REQUIRE(xv.size() == yv.size());
      double m = 0;
      for (size_t i = 0; i < xv.size(); ++i) m = std::max(m, std::abs(xv[i] - yv[i]));
      double& slot = instance_norm && cancelled_bias(net, entry.first) ? w.noise : w.tight;
      slot = std::max(slot, m);
    }
  }
  return w;
}

// The same training twice from the same weights: on 2 ranks with --batch_size 1 and `two_flags`
// into `base`two, and in one process with --batch_size 2 and `one_flags` into `base`one (`cmd`'s
// experiment `name`); `flags` go to both, with 2 epochs, every global step printed, one loader
// thread. Each run's output goes to its folder's name + ".log". Returns the experiment folders.
struct Pair {
  std::string two, one;
};
using Command = std::vector<std::string> (*)(const std::string&, const std::string&,
                                             const std::vector<std::string>&);
Pair train_two_and_one(Command cmd, const std::string& data, const std::string& base, const std::string& name,
                       const std::vector<std::string>& flags, const std::vector<std::string>& two_flags,
                       const std::vector<std::string>& one_flags) {
  std::vector<std::string> two = {"--n_epochs", "2", "--print_freq", "2", "--num_threads", "1"};
  two.insert(two.end(), flags.begin(), flags.end());
  auto one = two;
  two.insert(two.end(), {"--batch_size", "1"});
  two.insert(two.end(), two_flags.begin(), two_flags.end());
  one.insert(one.end(), {"--batch_size", "2"});
  one.insert(one.end(), one_flags.begin(), one_flags.end());
  REQUIRE(run(under_mpirun(2, cmd(data, base + "two", two)), base + "two.log") == 0);
  REQUIRE(run(cmd(data, base + "one", one), base + "one.log") == 0);
  return {base + "two/" + name, base + "one/" + name};
}

// The loss tables of a Pair agree: 4 samples, a global batch of 2, 2 epochs: 4 steps, every one
// printed (the ranks' mean losses), each loss within 1e-5 relative (measured: 1e-7, float32 sums).
void expect_same_losses(const Pair& p) {
  const auto r2 = csv_rows(p.two + "/loss_log.csv"), r1 = csv_rows(p.one + "/loss_log.csv");
  REQUIRE(r1.size() == 4);
  REQUIRE(r2.size() == r1.size());  // one writer: a second would have doubled the rows
  const double worst = worst_ratio(r2, r1);
  CHECK_MESSAGE(worst < 1e-5, "losses differ by " << worst);
}

#endif
}  // namespace

#if CG_HAVE_MPI

TEST_CASE(
    "mpirun -np 2 with --batch_size 1 trains the networks of one process with --batch_size 2 - only rank 0 "
    "writes") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("dp_equal");
  const std::string data = test::make_dataset(dir + "/data", 4, 4, 36, 36, 62);
  // the flags, and ours beyond them: the shuffled order, crops and flips are shared too
  const std::vector<std::vector<std::string>> variants = {{"--serial_batches", "--no_flip"}, {}};
  for (size_t v = 0; v < variants.size(); ++v) {
    CAPTURE(v);
    std::vector<std::string> flags = {"--pool_size", "0"};
    flags.insert(flags.end(), variants[v].begin(), variants[v].end());
    const Pair p = train_two_and_one(test::tiny_train_command, data, dir + "/" + std::to_string(v) + "_",
                                     "tiny", flags, {}, {});
    expect_same_losses(p);
    const Worst w = compare_networks(p.two, p.one, true);
    MESSAGE("variant " << v << ": weights differ by " << w.tight << ", cancelled biases by " << w.noise);
    CHECK(w.tight < 1e-6);                    // measured: 1e-8
    CHECK(w.noise <= 2 * 4 * 0.0002 * 1.01);  // 4 steps of at most lr each, either way; measured 3.6e-4
    const std::string log = test::read_file(dir + "/" + std::to_string(v) + "_two.log");
    CHECK(count(log, "The number of training images = 4") == 1);  // only rank 0 prints
    CHECK(count(log, "data parallel: 2 ranks x --batch_size 1 = a global batch of 2") == 1);
    CHECK(count(test::read_file(p.two + "/loss_log.txt"), "Training Loss") == 1);
  }
}

TEST_CASE(
    "--norm syncbatch on 2 ranks trains the networks of --norm batch with the 2 batches in one process") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("dp_syncbatch");
  const std::string data = test::make_dataset(dir + "/data", 4, 4, 36, 36, 63);
  const Pair p = train_two_and_one(test::tiny_train_command, data, dir + "/", "tiny", {"--pool_size", "0"},
                                   {"--norm", "syncbatch"}, {"--norm", "batch"});
  expect_same_losses(p);
  // batch norm's convolutions have no bias: every tensor, the running statistics included, agrees
  const Worst w = compare_networks(p.two, p.one, false);
  MESSAGE("syncbatch vs batch: " << w.tight);
  CHECK(w.tight < 1e-6);  // measured: 6e-8 to 3e-7
  // and plain batch norm on 2 ranks is not that (each rank's statistics are its own)
  REQUIRE(
      run(under_mpirun(2, test::tiny_train_command(data, dir + "/plain",
                                                   {"--n_epochs", "2", "--num_threads", "1", "--pool_size",
                                                    "0", "--batch_size", "1", "--norm", "batch"})),
          dir + "/plain.log") == 0);
  CHECK(compare_networks(dir + "/plain/tiny", p.one, false).tight > 1e-4);
}

TEST_CASE(
    "data parallel is the harness's: pix2pix with --norm syncbatch on 2 ranks trains what --norm batch does "
    "in one process") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("dp_pix2pix");
  const std::string data = test::make_aligned_dataset(dir + "/data", 4, 1, 136, 136, 67);
  // the U-Net's dropout draws from each rank's own stream: off, so that the two runs can agree
  const Pair p = train_two_and_one(test::tiny_pix2pix_command, data, dir + "/", "p2p",
                                   {"--serial_batches", "--no_flip", "--no_dropout"}, {"--norm", "syncbatch"},
                                   {"--norm", "batch"});
  expect_same_losses(p);
  const Worst w = compare_networks(p.two, p.one, false, {"G", "D"});
  MESSAGE("pix2pix syncbatch vs batch: " << w.tight);
  // measured: 4.1e-6, in the U-Net's deep down-convolutions (before a batch norm over 2 x 4 x 4
  // values): Adam divides each gradient by its own size, so the float32 rounding of two summation
  // orders of small gradients shows as about 2% of one step of --lr (2e-4). The sums themselves are
  // equal in float64 (dist_check); a wrong statistic moves the weights by whole steps (1e-4 and up).
  CHECK(w.tight < 2e-5);
}

// ---- Slurm: srun --mpi=pmix forms the world that mpirun does ----
// These run in ctest's slurm_srun test (tests/test_slurm.sh), which starts a one-node Slurm of its
// own (munged, slurmctld, slurmd; SLURM_CONF names its configuration) and runs them with
// --no-skip; without that Slurm there is nothing to launch with, so the plain listing skips them.

std::vector<std::string> under_srun(int ranks, const std::string& mpi, const std::vector<std::string>& cmd) {
  // --overcommit: more tasks than the node's CPUs is fine (CI has 2 cores)
  std::vector<std::string> out = {"srun", "--mpi=" + mpi, "-n", std::to_string(ranks), "--overcommit"};
  out.insert(out.end(), cmd.begin(), cmd.end());
  return out;
}

TEST_CASE("srun --mpi=pmix -n 2 with --batch_size 1 trains the networks of one process with --batch_size 2" *
          doctest::skip()) {
  REQUIRE_MESSAGE(std::getenv("SLURM_CONF"), "run through ctest's slurm_srun (tests/test_slurm.sh)");
  mpi_env();
  const std::string dir = test::scratch("dp_srun");
  const std::string data = test::make_dataset(dir + "/data", 4, 4, 36, 36, 62);
  const std::vector<std::string> flags = {"--n_epochs",    "2", "--print_freq", "2",
                                          "--num_threads", "1", "--pool_size",  "0"};
  auto two = flags, one = flags;
  two.insert(two.end(), {"--batch_size", "1"});
  one.insert(one.end(), {"--batch_size", "2"});
  REQUIRE(run(under_srun(2, "pmix", test::tiny_train_command(data, dir + "/two", two)), dir + "/two.log") ==
          0);
  REQUIRE(run(test::tiny_train_command(data, dir + "/one", one), dir + "/one.log") == 0);
  // checked as the mpirun run is: the ranks' mean losses, the weights, one writer
  const Pair p{dir + "/two/tiny", dir + "/one/tiny"};
  expect_same_losses(p);
  const Worst w = compare_networks(p.two, p.one, true);
  MESSAGE("weights differ by " << w.tight << ", cancelled biases by " << w.noise);
  CHECK(w.tight < 1e-6);
  CHECK(w.noise <= 2 * 4 * 0.0002 * 1.01);
  const std::string log = test::read_file(dir + "/two.log");
  CHECK(count(log, "data parallel: 2 ranks x --batch_size 1 = a global batch of 2") == 1);
  CHECK(count(log, "The number of training images = 4") == 1);
}

TEST_CASE("srun --mpi=none -n 2 is refused at once - its tasks would each train alone" * doctest::skip()) {
  REQUIRE_MESSAGE(std::getenv("SLURM_CONF"), "run through ctest's slurm_srun (tests/test_slurm.sh)");
  mpi_env();
  const std::string dir = test::scratch("dp_srun_none");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 67);
  const auto t0 = std::chrono::steady_clock::now();
  const int rc =
      run(under_srun(2, "none", test::tiny_train_command(data, dir + "/ckpt", {"--n_epochs", "1"})),
          dir + "/log", 60);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(rc > 0);
  CHECK(took < 30);
  const std::string log = test::read_file(dir + "/log");
  CHECK_MESSAGE(count(log, "cannot form one world") == 2, log);  // each task says so
  CHECK(log.find("srun --mpi=pmix") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/ckpt/tiny"));  // nothing written
}

TEST_CASE(
    "--val_freq 1 on 2 ranks: rank 0 validates while the others wait - 'best' saved together - the weights "
    "of a run without") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("dp_validation");
  const std::string data = test::make_dataset(dir + "/data", 4, 4, 36, 36, 69);
  const std::vector<std::string> flags = {"--n_epochs", "2", "--num_threads", "1", "--lr_policy", "step"};
  auto with_val = flags;
  with_val.insert(with_val.end(), {"--val_freq", "1"});
  REQUIRE(run(under_mpirun(2, test::tiny_train_command(data, dir + "/plain", flags)), dir + "/plain.log") ==
          0);
  REQUIRE(run(under_mpirun(2, test::tiny_train_command(data, dir + "/val", with_val)), dir + "/val.log") ==
          0);
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"}) {
    CAPTURE(net);
    const std::string f = std::string("/tiny/latest_net_") + net + ".safetensors";
    const std::string diff = test::first_difference(dir + "/val" + f, dir + "/plain" + f);
    CHECK_MESSAGE(diff.empty(), diff);  // bit for bit
    CHECK(fs::exists(dir + "/val/tiny/best_net_" + net + ".safetensors"));
  }
  // one writer: a row per epoch, a line per validation
  const std::string csv = test::read_file(dir + "/val/tiny/val_log.csv");
  CHECK(count(csv, "\n") == 1 + 2);
  CHECK(count(test::read_file(dir + "/val.log"), "validation at the end of epoch") == 2);
  // every rank's pools and generators are in 'best' (saved by all ranks together)
  const auto best = nlohmann::json::parse(
      safetensors::load(dir + "/val/tiny/best_train_state.safetensors").metadata.at("train_state"));
  CHECK(best.at("world_size") == 2);
  CHECK(best.at("best_val").at("metric") == "psnr");
}

TEST_CASE(
    "SIGTERM to mpirun: every rank stops at one step, rank 0 saves latest, --continue_train on 2 ranks "
    "resumes exactly") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("dp_sigterm");
  const std::string data = test::make_dataset(dir + "/data", 4, 4, 36, 36, 64);
  // the image pools (50) and shuffled crops and flips: each rank's state must come back
  const std::vector<std::string> extra = {"--n_epochs", "300", "--print_freq", "50", "--num_threads", "1"};
  REQUIRE(run(under_mpirun(2, test::tiny_train_command(data, dir + "/ref", extra)), dir + "/ref.log") == 0);
  const pid_t pid =
      test::spawn(under_mpirun(2, test::tiny_train_command(data, dir + "/cut", extra)), dir + "/cut.log");
  REQUIRE(pid > 0);
  const std::string csv = dir + "/cut/tiny/loss_log.csv";
  for (int i = 0; i < 1500 && csv_rows(csv).size() < 2; ++i) usleep(20000);  // 100 steps in
  kill(pid, SIGTERM);
  CHECK(test::wait_exit(pid) != 0);
  const std::string log = test::read_file(dir + "/cut.log");
  REQUIRE_MESSAGE(log.find("saved 'latest' at epoch") != std::string::npos, log);  // stopped before the end
  // once, on stderr, by rank 0 only ("stopped (mpirun was told to stop)": it was said twice, on
  // stdout and on stderr, which mpirun merges)
  CHECK_MESSAGE(count(log, "resume with --continue_train") == 1, log);
  auto resume = extra;
  resume.push_back("--continue_train");
  REQUIRE(run(under_mpirun(2, test::tiny_train_command(data, dir + "/cut", resume)), dir + "/resume.log") ==
          0);
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"}) {
    CAPTURE(net);
    const std::string f = std::string("/tiny/latest_net_") + net + ".safetensors";
    const std::string diff = test::first_difference(dir + "/cut" + f, dir + "/ref" + f);
    CHECK_MESSAGE(diff.empty(), diff);  // bit for bit
  }
}

TEST_CASE(
    "kill -9 of one rank ends the job within 60 s - the last checkpoint resumes on 1 and on 3 ranks with a "
    "note") {
  if (!have_mpirun()) FAIL("this build has MPI but no mpirun was found at configure time");
  mpi_env();
  const std::string dir = test::scratch("dp_kill9");
  const std::string data = test::make_dataset(dir + "/data", 4, 4, 36, 36, 65);
  const auto cmd =
      test::tiny_train_command(data, dir + "/ckpt", {"--save_latest_freq", "4", "--num_threads", "1"});
  const pid_t pid = test::spawn(under_mpirun(2, cmd), dir + "/train.log");
  REQUIRE(pid > 0);
  for (int i = 0; i < 1500 && !fs::exists(dir + "/ckpt/tiny/latest_train_state.safetensors"); ++i)
    usleep(20000);
  usleep(300000);
  // the ranks are mpirun's children: kill the last one started
  const std::string children = test::run_command("pgrep -P " + std::to_string(pid)).second;
  std::stringstream in(children);
  std::vector<pid_t> ranks;
  for (long p; in >> p;) ranks.push_back(static_cast<pid_t>(p));
  REQUIRE_MESSAGE(ranks.size() == 2, children);
  const auto t0 = std::chrono::steady_clock::now();
  kill(ranks.back(), SIGKILL);
  const int rc = test::wait_exit(pid, 60);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("mpirun ended " << took << " s after the kill, exit status " << rc);
  CHECK(rc > 0);  // not -1 (still running at 60 s) and not 0
  // the same checkpoint twice, for a resume on 1 rank and one on 3
  fs::copy(dir + "/ckpt", dir + "/ckpt3", fs::copy_options::recursive);
  for (int ranks_now : {1, 3}) {
    CAPTURE(ranks_now);
    auto resume = cmd;
    resume.insert(resume.end(), {"--continue_train", "--n_epochs", "2"});
    if (ranks_now == 3) resume.insert(resume.end(), {"--checkpoints_dir", dir + "/ckpt3"});
    CHECK(run(ranks_now == 1 ? resume : under_mpirun(3, resume), dir + "/resume.log") == 0);
    const std::string log = test::read_file(dir + "/resume.log");
    CHECK_MESSAGE(log.find("the checkpoint was saved by 2 ranks and resumes on " +
                           std::to_string(ranks_now)) != std::string::npos,
                  log);
    CHECK(log.find(ranks_now == 1 ? "saved by rank 1 are not used" : "rank 2 start with empty image pools") !=
          std::string::npos);
  }
}

#endif

// No launcher needed: a process whose environment says it is one of 2 srun tasks, without any
// process-management interface, is refused before it reads data or writes a file.
TEST_CASE("a launch that does not form one world is refused naming how to launch instead") {
  const std::string dir = test::scratch("split_world");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 68);
  std::vector<std::string> cmd = {"env",
                                  "-u",
                                  "PMIX_RANK",
                                  "-u",
                                  "PMI_RANK",
                                  "-u",
                                  "PMI_FD",
                                  "-u",
                                  "OMPI_COMM_WORLD_RANK",
                                  "-u",
                                  "OMPI_COMM_WORLD_SIZE",
                                  "SLURM_STEP_NUM_TASKS=2",
                                  "SLURM_NTASKS=2",
                                  "SLURM_PROCID=1"};
  const auto train = test::tiny_train_command(data, dir + "/ckpt", {"--n_epochs", "1"});
  cmd.insert(cmd.end(), train.begin(), train.end());
  CHECK(run(cmd, dir + "/log", 60) == 1);
  const std::string log = test::read_file(dir + "/log");
  CHECK_MESSAGE(log.find("started as one of 2 tasks (SLURM_STEP_NUM_TASKS=2)") != std::string::npos, log);
  CHECK(log.find("cannot form one world") != std::string::npos);
  CHECK(log.find("srun --mpi=pmix -n N") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/ckpt/tiny"));
}

#if !CG_HAVE_MPI

TEST_CASE("a build without MPI refuses to be one of several ranks under mpirun") {
  if (!have_mpirun()) {
    MESSAGE("no mpirun on this machine: the refusal is checked where one is");
    CHECK_FALSE(comm::have_mpi());
    return;
  }
  mpi_env();
  const std::string dir = test::scratch("no_mpi");
  const std::string data = test::make_dataset(dir + "/data", 2, 2, 36, 36, 66);
  const int rc =
      run(under_mpirun(2, test::tiny_train_command(data, dir + "/ckpt", {"--n_epochs", "1"})), dir + "/log");
  CHECK(rc != 0);
  const std::string log = test::read_file(dir + "/log");
  CHECK_MESSAGE(count(log, "launched as one of 2 ranks (mpirun or srun), but this build has no MPI") == 2,
                log);
  CHECK_FALSE(fs::exists(dir + "/ckpt/tiny/latest_net_G_A.safetensors"));  // nothing trained
}

#endif
