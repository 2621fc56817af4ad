#include "models/cgan/sampler.h"

#include <cstdio>
#include <filesystem>

#include "data/image.h"
#include "models/cgan/cgan_model.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "ops/ops.h"

namespace cg::cgan {

namespace fs = std::filesystem;

std::vector<std::string> run_sampling(models::Options opt) {
  models::validate_options(opt, false);
  models::select_gpu(opt);
  const int want = opt.get<int>("label"), num = opt.get<int>("num");
  const std::string label = models::load_label(opt), dir = models::experiment_dir(opt);
  const std::string path = models::net_file(opt, label, "G");
  const std::string file = models::committed_file(dir, label, path);
  if (!fs::exists(file))
    throw Error("checkpoint file '" + path + "' does not exist (checkpoints in " + dir + ": " +
                models::available_checkpoints(dir) + ")");
  const auto [classes, z_dim] = generator_shape(file);
  if (want >= classes)
    throw Error("--label " + std::to_string(want) + " is out of range: the generator in '" + path +
                "' was trained on " + std::to_string(classes) + " classes (0 .. " +
                std::to_string(classes - 1) + ")");
  opt.set("num_classes", classes);
  opt.set("z_dim", z_dim);
  CGANModel model(opt, false);
  models::load_networks(model, label);
  fs::create_directories(opt.results_dir);
  Generator gen(opt.seed);
  std::vector<std::string> written;
  constexpr int64_t kChunk = 256;  // images per forward pass
  for (int64_t start = 0; start < num; start += kChunk) {
    const int64_t n = std::min<int64_t>(kChunk, num - start);
    const Tensor z = Tensor::randn({n, z_dim}, DType::F32, Device::CPU, &gen).to(model.device);
    const Tensor y = Tensor::full({n}, static_cast<double>(want), DType::F32, model.device);
    const Tensor images = model.generate(z, y).to(Device::CPU);  // (n, 1, 28, 28)
    for (int64_t i = 0; i < n; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "class%d_%04lld.png", want, static_cast<long long>(start + i));
      const std::string out = (fs::path(opt.results_dir) / name).string();
      data::write_png(out, data::from_tensor(slice0(images, i, 1)));
      written.push_back(out);
    }
  }
  return written;
}

}  // namespace cg::cgan
