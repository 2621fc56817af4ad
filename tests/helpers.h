// Test helpers: closeness with a report of the worst element, input generators away from kinks.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "data/image.h"
#include "models/common/model_spec.h"
#include "models/common/options.h"
#include "nn/safetensors.h"
#include "ops/elementwise.h"
#include "tensor/tensor.h"

namespace cg::test {

// Empty when every |a - e| <= atol + rtol |e|, else a description of the worst element. The test
// is that comparison itself (so equal values pass at zero tolerance); NaN in either fails. Among
// the failures, the worst is the one furthest over its bound relative to the bound (a NaN first).
inline std::string mismatch(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (actual.shape() != expected.shape())
    return "shape " + shape_str(actual.shape()) + " != expected " + shape_str(expected.shape());
  const auto a = actual.to_vector<double>(), e = expected.to_vector<double>();
  // The worst failure so far, ranked by (is NaN, |diff| / bound); a zero bound gives +inf.
  std::pair<bool, double> worst{false, -1};
  size_t at = 0, count = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(a[i] - e[i]), bound = atol + rtol * std::abs(e[i]);
    if (diff <= bound) continue;  // false for NaN
    ++count;
    const std::pair<bool, double> over{std::isnan(diff), std::isnan(diff) ? 0.0 : diff / bound};
    if (over > worst) {
      worst = over;
      at = i;
    }
  }
  if (count == 0) return "";
  std::ostringstream os;
  os.precision(9);
  os << count << " of " << a.size() << " elements differ; worst: element " << at << " of "
     << shape_str(actual.shape()) << ": got " << a[at] << ", expected " << e[at] << " (|diff| "
     << std::abs(a[at] - e[at]) << " > " << atol + rtol * std::abs(e[at]) << ")";
  return os.str();
}

#define CHECK_CLOSE(actual, expected, atol, rtol)                                          \
  do {                                                                                     \
    const std::string cg_mm_ = ::cg::test::mismatch((actual), (expected), (atol), (rtol)); \
    CHECK_MESSAGE(cg_mm_.empty(), cg_mm_);                                                 \
  } while (0)

// PyTorch fixture files (tests/fixtures/make_*.py) hold, per case NAME, the inputs NAME.in0,
// NAME.in1, ..., the output NAME.out, the upstream gradient NAME.dout and the input gradients
// NAME.grad0, .... Runs every op of `ops` on its case's inputs and checks the output and every input
// gradient within atol + rtol |expected|. An input without a gradient entry (indices, class numbers)
// is held constant. Returns how many cases ran, for the caller to check.
using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;
inline int check_fixture_cases(const safetensors::Contents& fx, const std::map<std::string, OpFn>& ops,
                               double atol, double rtol) {
  int cases = 0;
  for (const auto& entry : ops) {  // (no structured binding: clang 14 cannot capture one in CAPTURE)
    const std::string& name = entry.first;
    const OpFn& fn = entry.second;
    CAPTURE(name);
    std::vector<Tensor> ins;
    std::vector<bool> has_grad;
    for (int i = 0; fx.tensors.count(name + ".in" + std::to_string(i)); ++i) {
      has_grad.push_back(fx.tensors.count(name + ".grad" + std::to_string(i)) > 0);
      ins.push_back(
          fx.tensors.at(name + ".in" + std::to_string(i)).clone().set_requires_grad(has_grad.back()));
    }
    REQUIRE_MESSAGE(!ins.empty(), "fixture has no case " << name);
    Tensor out = fn(ins);
    CHECK_CLOSE(out, fx.tensors.at(name + ".out"), atol, rtol);
    out.backward(fx.tensors.at(name + ".dout"));
    for (size_t i = 0; i < ins.size(); ++i) {
      CAPTURE(i);
      if (has_grad[i])
        CHECK_CLOSE(ins[i].grad(), fx.tensors.at(name + ".grad" + std::to_string(i)), atol, rtol);
    }
    ++cases;
  }
  return cases;
}

// Uniform values in [-2, 2] at least `margin` away from 0, float64.
inline Tensor away_from_zero(const Shape& shape, Generator& g, double margin = 0.05) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = (margin + g.uniform() * (2.0 - margin)) * (g.uniform() < 0.5 ? -1 : 1);
  return Tensor::from_vector(v, shape);
}

inline Tensor positive(const Shape& shape, Generator& g) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = 0.25 + 1.5 * g.uniform();
  return Tensor::from_vector(v, shape);
}

inline Tensor randn64(const Shape& shape, Generator& g) {
  return Tensor::randn(shape, DType::F64, Device::CPU, &g);
}

// A float64 leaf for gradchecks: normal values times `scale`, requiring grad.
inline Tensor param(const Shape& shape, Generator& g, double scale = 1.0) {
  return (randn64(shape, g) * scale).detach().set_requires_grad();
}

// The entries of `all` whose key starts with `prefix`, with the prefix removed.
inline std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& all,
                                                 const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : all)
    if (k.rfind(prefix, 0) == 0) out.emplace(k.substr(prefix.size()), v);
  return out;
}

inline safetensors::Contents fixture(const std::string& name) {
  return safetensors::load(std::string(CG_FIXTURE_DIR) + "/" + name);
}

// ---- folders and datasets for the app-level tests ----

// The whole file as text (empty when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Runs a shell command; its exit status (-1 if it did not exit normally) and what it printed to
// stdout (add 2>&1 to the command for stderr too).
inline std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Starts `args` (a program, found on PATH when it has no '/', and its arguments) as our own child,
// fork + exec with no shell between, so its exit status can be read; its stdout and stderr go to
// the file `log`. -1 if fork failed; the child exits 127 when the program cannot be run.
inline pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {  // the child: only async-signal-safe calls until exec
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// The exit status of our child `pid` (128 + signal when a signal ended it), waiting at most
// `seconds`; -1 when it had not ended by then (it is killed then, so that no test leaves it behind).
inline int wait_exit(pid_t pid, double seconds = 60) {
  int status = 0;
  for (int i = 0; i < static_cast<int>(seconds * 20); ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    usleep(50000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// cyclegan_train on a tiny network (ngf/ndf 4, one residual block, 32x32 crops) for 1000 epochs,
// printing every step, saving only when told: `extra` comes last, and the last of a flag wins.
inline std::vector<std::string> tiny_train_command(const std::string& data, const std::string& ckpt,
                                                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {std::string(CG_BINARY_DIR) + "/apps/cyclegan_train",
                                   "--dataroot",
                                   data,
                                   "--checkpoints_dir",
                                   ckpt,
                                   "--name",
                                   "tiny",
                                   "--ngf",
                                   "4",
                                   "--ndf",
                                   "4",
                                   "--netG",
                                   "resnet_1blocks",
                                   "--load_size",
                                   "36",
                                   "--crop_size",
                                   "32",
                                   "--n_epochs",
                                   "1000",
                                   "--n_epochs_decay",
                                   "0",
                                   "--print_freq",
                                   "1",
                                   "--display_freq",
                                   "1000000",
                                   "--save_latest_freq",
                                   "1000000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// cyclegan_train --model pix2pix on a tiny U-Net (unet_128, ngf/ndf 4; batch norm and dropout, the
// model's defaults) on 128x128 crops of 136x136 halves, 1000 epochs, printing every step, saving only
// when told: `extra` comes last.
inline std::vector<std::string> tiny_pix2pix_command(const std::string& data, const std::string& ckpt,
                                                     const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"--model",  "pix2pix",     "--name", "p2p",         "--netG",
                                   "unet_128", "--load_size", "136",    "--crop_size", "128"};
  args.insert(args.end(), extra.begin(), extra.end());
  return tiny_train_command(data, ckpt, args);  // the last of a flag wins
}

// The same tiny experiment as Options, for the suites that call run_training (each adds its own
// schedule, pool, printing and seed).
inline models::Options tiny_experiment(const std::string& data, const std::string& ckpt) {
  models::Options o = models::default_options("cycle_gan", true);
  o.dataroot = data;
  o.checkpoints_dir = ckpt;
  o.name = "tiny";
  o.ngf = 4;
  o.ndf = 4;
  o.netG = "resnet_1blocks";
  o.load_size = 36;
  o.crop_size = 32;
  return o;
}

// A tiny pix2pix (unet_128 with ngf 4, batch norm and dropout, as the defaults; the PatchGAN with
// ndf 4) on 128x128 crops of 136x136 halves, 1 + 1 epochs.
inline models::Options tiny_pix2pix(const std::string& data, const std::string& ckpt) {
  models::Options o = models::default_options("pix2pix", true);
  o.dataroot = data;
  o.checkpoints_dir = ckpt;
  o.name = "p2p";
  o.netG = "unet_128";
  o.ngf = 4;
  o.ndf = 4;
  o.load_size = 136;
  o.crop_size = 128;
  o.n_epochs = 1;
  o.n_epochs_decay = 1;
  o.print_freq = 1;
  o.display_freq = 2;
  o.save_latest_freq = 1000;
  o.num_threads = 2;
  o.seed = 5;
  return o;
}

// Bit for bit: the same shape, dtype and bytes (so -0 differs from 0, and NaN equals itself).
inline bool identical(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor x = a.to(Device::CPU), y = b.to(Device::CPU);
  return std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0;
}

// How many values of a float32 tensor are not bfloat16 values (their low 16 bits are not all zero).
inline int64_t off_bf16_grid(const Tensor& t) {
  int64_t n = 0;
  for (float v : t.to_vector<float>()) {
    uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    n += (u & 0xffffu) != 0;
  }
  return n;
}

// Compares two safetensors files tensor by tensor, bit for bit: "" when they hold the same keys
// with the same bytes, else the first key that differs (or is missing from b).
inline std::string first_difference(const std::string& a, const std::string& b) {
  const auto x = safetensors::load(a).tensors, y = safetensors::load(b).tensors;
  for (const auto& [k, t] : x) {
    const auto it = y.find(k);
    if (it == y.end() || !identical(t, it->second)) return k;
  }
  return x.size() == y.size() ? "" : "(" + b + " holds more tensors)";
}

// A fresh folder under the build tree for one test.
inline std::string scratch(const std::string& name) {
  const std::filesystem::path p = std::filesystem::path(CG_BINARY_DIR) / "test_tmp" / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

// DATAROOT/{trainA,trainB,testA,testB} of small random PNGs; sizes differ per domain on purpose.
inline std::string make_dataset(const std::string& root, int n_a, int n_b, int w, int h, uint64_t seed) {
  Generator g(seed);
  for (const char* split : {"train", "test"})
    for (const char* dom : {"A", "B"}) {
      const std::filesystem::path dir = std::filesystem::path(root) / (std::string(split) + dom);
      std::filesystem::create_directories(dir);
      const int n = dom[0] == 'A' ? n_a : n_b;
      for (int i = 0; i < n; ++i) {
        data::Image img{w + (dom[0] == 'B' ? 4 : 0), h, 3, {}};
        img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
        // smooth blobs plus noise: something for the networks to learn, cheap to make
        const double fx = 0.1 + 0.3 * g.uniform(), fy = 0.1 + 0.3 * g.uniform();
        for (int y = 0; y < img.height; ++y)
          for (int x = 0; x < img.width; ++x)
            for (int c = 0; c < 3; ++c)
              img.pixels[(static_cast<size_t>(y) * img.width + x) * 3 + c] =
                  static_cast<uint8_t>(127 + 100 * std::sin(fx * x + fy * y + c) + 20 * (g.uniform() - 0.5));
        char name[32];
        std::snprintf(name, sizeof name, "%d_%s.png", i, dom);
        data::write_png((dir / name).string(), img);
      }
    }
  return root;
}

// DATAROOT/{train,test} of AB images for pix2pix (A left, B right): A smooth blobs plus noise, B its
// negative with the colour channels turned (something a generator can learn), each half w x h.
inline std::string make_aligned_dataset(const std::string& root, int n_train, int n_test, int w, int h,
                                        uint64_t seed) {
  Generator g(seed);
  for (const char* split : {"train", "test"}) {
    const std::filesystem::path dir = std::filesystem::path(root) / split;
    std::filesystem::create_directories(dir);
    const int n = split[1] == 'r' ? n_train : n_test;
    for (int i = 0; i < n; ++i) {
      data::Image ab{2 * w, h, 3, std::vector<uint8_t>(static_cast<size_t>(2 * w) * h * 3)};
      const double fx = 0.1 + 0.3 * g.uniform(), fy = 0.1 + 0.3 * g.uniform();
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          for (int c = 0; c < 3; ++c) {
            const auto a =
                static_cast<uint8_t>(127 + 100 * std::sin(fx * x + fy * y + c) + 20 * (g.uniform() - 0.5));
            ab.row(y)[x * 3 + c] = a;
            ab.row(y)[(w + x) * 3 + (c + 1) % 3] = static_cast<uint8_t>(255 - a);
          }
      char name[32];
      std::snprintf(name, sizeof name, "%d.png", i);
      data::write_png((dir / name).string(), ab);
    }
  }
  return root;
}

}  // namespace cg::test
