// The layers the models are built from, with PyTorch's parameter names and layouts.
#pragma once

#include "nn/module.h"

namespace cg::nn {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  Tensor weight, bias;  // (out, in, k, k), (out) or undefined
  int64_t stride, padding;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
                  int64_t output_padding = 0, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }
  Tensor weight, bias;  // (in, out, k, k), (out) or undefined
  int64_t stride, padding, output_padding;
};

// affine=False, track_running_stats=False: no parameters, the same in train and eval.
class InstanceNorm2d : public Module {
 public:
  explicit InstanceNorm2d(int64_t channels, double eps = 1e-5) : channels(channels), eps(eps) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InstanceNorm2d"; }
  int64_t channels;
  double eps;
};

// InstanceNorm2d followed by LeakyReLU(slope), ReLU for slope 0, as one fused op (ops/norm.h):
// the same numbers with one pass fewer each way. The networks build it where PyTorch has the two
// layers; it takes both their places in a Sequential, so the indices after it stay PyTorch's.
class InstanceNormAct : public Module {
 public:
  InstanceNormAct(int64_t channels, double slope, double eps = 1e-5)
      : channels(channels), slope(slope), eps(eps) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override {
    return slope == 0 ? "InstanceNorm2d+ReLU" : "InstanceNorm2d+LeakyReLU";
  }
  int sequential_places() const override { return 2; }
  int64_t channels;
  double slope, eps;
};

// affine=True, track_running_stats=True, as the official --norm batch builds it: batch statistics in
// training mode (updating the running ones), running statistics in eval mode.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm2d"; }
  Tensor weight, bias;                                    // parameters (C): ones, zeros
  Tensor running_mean, running_var, num_batches_tracked;  // buffers (C): zeros, ones; () count
  double eps, momentum;
  // false: training mode normalises by the batch but leaves the running statistics and the count
  // alone (Keras's frozen batch norm inside a combined model; the conditional GAN's G step).
  bool update_running_stats = true;
  // true: in training, the statistics span the batches of every rank of a data-parallel run
  // (PyTorch's SyncBatchNorm; --norm syncbatch), equal to one process with the ranks' batches as one.
  bool sync_ranks = false;
};

// BatchNorm2d's rule on (N, C), as PyTorch's BatchNorm1d (the same parameters and buffers).
class BatchNorm1d : public BatchNorm2d {
 public:
  using BatchNorm2d::BatchNorm2d;
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm1d"; }
};

// nn.Linear: (N, in) -> (N, out) = x weight^T + bias.
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  Tensor weight, bias;  // (out, in), (out) or undefined
};

// nn.Embedding: index (N) of whole numbers in [0, num) -> (N, dim), row index[n] of weight.
class Embedding : public Module {
 public:
  Embedding(int64_t num, int64_t dim);
  Tensor forward(const Tensor& index) override;
  std::string type_name() const override { return "Embedding"; }
  Tensor weight;  // (num, dim)
};

// nn.Flatten: (N, ...) -> (N, product of the rest).
class Flatten : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
};

class ReflectionPad2d : public Module {
 public:
  explicit ReflectionPad2d(int64_t pad) : pad(pad) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReflectionPad2d"; }
  int64_t pad;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double slope = 0.01) : slope(slope) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LeakyReLU"; }
  double slope;
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

// Active in training mode only; draws from `gen` (default: the device's generator).
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr) : p(p), gen(gen) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  double p;
  Generator* gen;
};

}  // namespace cg::nn
