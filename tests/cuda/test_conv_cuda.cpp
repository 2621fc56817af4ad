// The convolution stack on the GPU against the CPU on the same inputs: forward and every gradient.
#include <functional>

#include "../helpers.h"
#include "ops/ops.h"

using namespace cg;
using Fn = cg::test::OpFn;

namespace {
// Runs fn on float32 CPU tensors and on CUDA copies; compares the output and all input gradients.
void compare(const char* name, const Fn& fn, const std::vector<Shape>& shapes, double atol, double rtol) {
  CAPTURE(name);
  Generator g(17);
  std::vector<Tensor> c, d;
  for (const Shape& s : shapes) {
    Tensor t = (Tensor::randn(s, DType::F32, Device::CPU, &g) * 0.5).detach();
    c.push_back(t.clone().set_requires_grad());
    d.push_back(t.to(Device::CUDA).set_requires_grad());
  }
  Tensor yc = fn(c), yd = fn(d);
  CHECK_CLOSE(yd.to(Device::CPU), yc, atol, rtol);
  Tensor seed = Tensor::randn(yc.shape(), DType::F32, Device::CPU, &g);
  yc.backward(seed);
  yd.backward(seed.to(Device::CUDA));
  for (size_t i = 0; i < c.size(); ++i) {
    CAPTURE(i);
    CHECK_CLOSE(d[i].grad().to(Device::CPU), c[i].grad(), atol, rtol);
  }
}

// atol/rtol for the cases with a convolution; the ops TF32 never touches (padding, instance norm,
// BCE) are held to the float32 tolerance in both runs.
void all_cases(double atol, double rtol) {
  const double f32 = 1e-4;
  compare(
      "pad3_conv7", [](auto& v) { return conv2d(reflection_pad2d(v[0], 3), v[1], v[2]); },
      {{1, 3, 34, 30}, {8, 3, 7, 7}, {8}}, atol, rtol);
  compare(
      "conv3_s2_p1", [](auto& v) { return conv2d(v[0], v[1], v[2], 2, 1); },
      {{2, 8, 33, 32}, {16, 8, 3, 3}, {16}}, atol, rtol);
  compare(
      "conv4_s2_p1", [](auto& v) { return conv2d(v[0], v[1], v[2], 2, 1); },
      {{1, 3, 32, 32}, {8, 3, 4, 4}, {8}}, atol, rtol);
  compare(
      "conv4_s1_p1", [](auto& v) { return conv2d(v[0], v[1], v[2], 1, 1); },
      {{1, 16, 9, 9}, {1, 16, 4, 4}, {1}}, atol, rtol);
  compare(
      "convT3_s2_p1_op1", [](auto& v) { return conv_transpose2d(v[0], v[1], v[2], 2, 1, 1); },
      {{2, 16, 9, 8}, {16, 8, 3, 3}, {8}}, atol, rtol);
  compare(
      "resblock",
      [](auto& v) {
        Tensor h = relu(instance_norm2d(conv2d(reflection_pad2d(v[0], 1), v[1], v[2])));
        return v[0] + instance_norm2d(conv2d(reflection_pad2d(h, 1), v[3], v[4]));
      },
      {{1, 16, 16, 16}, {16, 16, 3, 3}, {16}, {16, 16, 3, 3}, {16}}, atol, rtol);
  compare(
      "instance_norm", [](auto& v) { return instance_norm2d(v[0] * 3.0 + 1.0); }, {{2, 4, 37, 41}}, f32, f32);
  compare(
      "reflection_pad", [](auto& v) { return reflection_pad2d(v[0], 2, 1, 3, 0); }, {{2, 3, 7, 6}}, f32, f32);
  compare(
      "bce_with_logits", [](auto& v) { return bce_with_logits(v[0], sigmoid(v[1])); },
      {{2, 1, 8, 8}, {2, 1, 8, 8}}, f32, f32);
}
}  // namespace

TEST_CASE("cuda convolution stack matches the cpu in full float32 (TF32 off)") {
  set_cuda_allow_tf32(false);
  // Same float32 products, summed in a different order by cuDNN's algorithms.
  all_cases(1e-4, 1e-4);
  set_cuda_allow_tf32(true);
}

TEST_CASE("cuda convolution stack matches the cpu with TF32 on") {
  set_cuda_allow_tf32(true);
  // TF32 rounds each operand to a 10-bit mantissa (relative error 2^-11 ~ 5e-4 per product); over
  // sums of hundreds of O(0.25) terms that leaves ~1e-2 absolute on O(1) values.
  all_cases(2e-2, 2e-2);
}
