#include "nn/layers.h"

#include "autograd/tape.h"
#include "ops/ops.h"

namespace cg::nn {

// Parameters start as zeros; nn/init.h gives them their values (CycleGAN initialises every
// network explicitly, so PyTorch's default layer init is never observable there).
Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool has_bias)
    : stride(stride), padding(padding) {
  weight = register_parameter("weight", Tensor::zeros({out, in, kernel, kernel}));
  if (has_bias) bias = register_parameter("bias", Tensor::zeros({out}));
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, stride, padding); }

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                                 int64_t output_padding, bool has_bias)
    : stride(stride), padding(padding), output_padding(output_padding) {
  weight = register_parameter("weight", Tensor::zeros({in, out, kernel, kernel}));
  if (has_bias) bias = register_parameter("bias", Tensor::zeros({out}));
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return conv_transpose2d(x, weight, bias, stride, padding, output_padding);
}

static void check_channels(const Tensor& x, int64_t channels) {
  if (x.ndim() == 4 && x.size(1) != channels)
    throw Error("InstanceNorm2d(" + std::to_string(channels) + "): input " + x.describe() + " has " +
                std::to_string(x.size(1)) + " channels");
}

BatchNorm2d::BatchNorm2d(int64_t channels, double eps, double momentum) : eps(eps), momentum(momentum) {
  weight = register_parameter("weight", Tensor::ones({channels}));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::ones({channels}));
  // PyTorch keeps an int64 (and files store it so); a float counts exactly to 2^24 batches here,
  // and with a fixed momentum the count is only bookkeeping
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}), /*integer=*/true);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  const bool training = is_training();
  Tensor y = batch_norm2d(x, weight, bias, running_mean, running_var, training, momentum, eps,
                          update_running_stats, sync_ranks);
  if (training && update_running_stats) {
    NoGradGuard no_grad;
    copy_(num_batches_tracked, num_batches_tracked + 1.0);
  }
  return y;
}

Tensor BatchNorm1d::forward(const Tensor& x) {
  const bool training = is_training();
  Tensor y =
      batch_norm1d(x, weight, bias, running_mean, running_var, training, momentum, eps, update_running_stats);
  if (training && update_running_stats) {
    NoGradGuard no_grad;
    copy_(num_batches_tracked, num_batches_tracked + 1.0);
  }
  return y;
}

Linear::Linear(int64_t in, int64_t out, bool has_bias) {
  weight = register_parameter("weight", Tensor::zeros({out, in}));
  if (has_bias) bias = register_parameter("bias", Tensor::zeros({out}));
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

Embedding::Embedding(int64_t num, int64_t dim) {
  weight = register_parameter("weight", Tensor::zeros({num, dim}));
}

Tensor Embedding::forward(const Tensor& index) { return embedding(weight, index); }

Tensor Flatten::forward(const Tensor& x) { return flatten(x); }

Tensor InstanceNorm2d::forward(const Tensor& x) {
  check_channels(x, channels);
  return instance_norm2d(x, eps);
}

Tensor InstanceNormAct::forward(const Tensor& x) {
  check_channels(x, channels);
  return instance_norm_act2d(x, slope, eps);
}

Tensor ReflectionPad2d::forward(const Tensor& x) { return reflection_pad2d(x, pad); }
Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), gen); }

}  // namespace cg::nn
