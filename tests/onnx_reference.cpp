// For tests/test_onnx_export.sh: makes a generator with random weights (batch norms' running
// statistics included), saves it as CHECKPOINTS/exp/latest_net_G.safetensors, and writes our own
// eval-mode forward on random inputs of the given sizes: case<i>.in and case<i>.out (raw float32)
// and case<i>.shape ("N C H W" of the input, then of the output).
//   onnx_reference OUT_DIR NETG NORM NGF IN_NC OUT_NC N,H,W [N,H,W ...]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "models/networks/networks.h"
#include "nn/safetensors.h"
#include "ops/ops.h"

using namespace cg;

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: onnx_reference OUT_DIR NETG NORM NGF IN_NC OUT_NC N,H,W [N,H,W ...]\n");
    return 2;
  }
  try {
    const std::string dir = argv[1];
    Generator gen(5);
    const int in_nc = std::stoi(argv[5]), out_nc = std::stoi(argv[6]);
    auto G =
        models::define_G(in_nc, out_nc, std::stoi(argv[4]), argv[2], argv[3], false, "normal", 0.02, gen);
    int n0 = 0, h0 = 0, w0 = 0;
    if (std::sscanf(argv[7], "%d,%d,%d", &n0, &h0, &w0) != 3) throw Error(std::string("bad size ") + argv[7]);
    {
      NoGradGuard no_grad;
      for (auto& [key, t] : G->state_dict()) {  // biases away from 0, so that each one matters
        Tensor v = t;
        if (key.ends_with("bias")) copy_(v, Tensor::randn(t.shape(), DType::F32, Device::CPU, &gen) * 0.05);
        // the U-Net's last layer has no norm after it: at init gain its outputs would stay within
        // +-0.1, where a difference says little
        if (key == "model.model.3.weight") copy_(v, t * 25.0);
      }
      // running statistics as a trained network has them: near its activations' own (30 steps of
      // momentum 0.1 in train mode), so that eval mode keeps activations at a realistic scale
      G->train();
      for (int i = 0; i < 30; ++i)
        G->forward(Tensor::rand({n0, in_nc, h0, w0}, DType::F32, Device::CPU, &gen) * 2.0 - 1.0);
    }
    safetensors::save(dir + "/ckpt/exp/latest_net_G.safetensors", G->state_dict());
    G->eval();
    for (int i = 7; i < argc; ++i) {
      int n = 0, h = 0, w = 0;
      if (std::sscanf(argv[i], "%d,%d,%d", &n, &h, &w) != 3) throw Error(std::string("bad size ") + argv[i]);
      const Tensor x = Tensor::rand({n, in_nc, h, w}, DType::F32, Device::CPU, &gen) * 2.0 - 1.0;
      const auto t0 = std::chrono::steady_clock::now();
      const Tensor y = G->forward(x);
      std::printf("case %d: our forward %.1f ms\n", i - 7,
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      const std::string base = dir + "/case" + std::to_string(i - 7);
      for (const auto& [suffix, t] : {std::pair{".in", x}, std::pair{".out", y}}) {
        const auto v = t.to_vector<float>();
        std::ofstream(base + suffix, std::ios::binary)
            .write(reinterpret_cast<const char*>(v.data()),
                   static_cast<std::streamsize>(v.size() * sizeof(float)));
      }
      std::ofstream(base + ".shape") << n << " " << in_nc << " " << h << " " << w << " " << y.size(0) << " "
                                     << y.size(1) << " " << y.size(2) << " " << y.size(3) << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
