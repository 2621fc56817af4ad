// Elementwise ops, reductions and losses on the GPU against the CPU on the same inputs.
#include <functional>

#include "../helpers.h"
#include "backend/device.h"
#include "ops/ops.h"

using namespace cg;
using Fn = cg::test::OpFn;

namespace {
struct Case {
  const char* name;
  Fn fn;
  std::vector<Shape> shapes;
  bool positive = false;  // inputs must be > 0 (sqrt, log, div)
};

// Runs fn on CPU float32 and CUDA copies of the same inputs; compares outputs and all gradients.
void compare(const Case& c) {
  CAPTURE(c.name);
  Generator g(5);
  std::vector<Tensor> cpu_in, gpu_in;
  for (const Shape& s : c.shapes) {
    Tensor t = c.positive ? test::positive(s, g) : test::away_from_zero(s, g);
    t = t.to(DType::F32);
    cpu_in.push_back(t.clone().set_requires_grad());
    gpu_in.push_back(t.to(Device::CUDA).set_requires_grad());
  }
  Tensor yc = c.fn(cpu_in), yg = c.fn(gpu_in);
  CHECK(yg.is_cuda());
  // Same float32 arithmetic; only transcendental functions and summation order differ.
  CHECK_CLOSE(yg.to(Device::CPU), yc, 1e-5, 1e-5);
  Tensor seed = Tensor::randn(yc.shape(), DType::F32, Device::CPU, &g);
  yc.backward(seed);
  yg.backward(seed.to(Device::CUDA));
  for (size_t i = 0; i < cpu_in.size(); ++i)
    CHECK_CLOSE(gpu_in[i].grad().to(Device::CPU), cpu_in[i].grad(), 1e-5, 1e-5);
}
}  // namespace

TEST_CASE("cuda elementwise ops - reductions and losses match the cpu") {
  const Shape X{2, 3, 17, 19};
  const std::vector<Case> cases = {
      {"add", [](auto& v) { return v[0] + v[1]; }, {X, X}},
      {"add_bias_c", [](auto& v) { return v[0] + v[1]; }, {X, {3}}},
      {"sub_row", [](auto& v) { return v[0] - v[1]; }, {X, {19}}},
      {"mul_1c11", [](auto& v) { return v[0] * v[1]; }, {X, {1, 3, 1, 1}}},
      {"div", [](auto& v) { return v[0] / v[1]; }, {X, X}, true},
      {"neg", [](auto& v) { return -v[0]; }, {X}},
      {"scalars", [](auto& v) { return v[0] * 1.5 + 0.25; }, {X}},
      {"abs", [](auto& v) { return abs(v[0]); }, {X}},
      {"square", [](auto& v) { return square(v[0]); }, {X}},
      {"sqrt", [](auto& v) { return sqrt(v[0]); }, {X}, true},
      {"exp", [](auto& v) { return exp(v[0]); }, {X}},
      {"log", [](auto& v) { return log(v[0]); }, {X}, true},
      {"relu", [](auto& v) { return relu(v[0]); }, {X}},
      {"leaky_relu", [](auto& v) { return leaky_relu(v[0], 0.2); }, {X}},
      {"tanh", [](auto& v) { return tanh(v[0]); }, {X}},
      {"sigmoid", [](auto& v) { return sigmoid(v[0]); }, {X}},
      {"sum_all", [](auto& v) { return sum(v[0]); }, {{4, 64, 65, 67}}},
      {"sum_023",
       [](auto& v) {
         return sum(v[0], {0, 2, 3}, true);
       },
       {X}},
      {"mean_1", [](auto& v) { return mean(v[0], {1}); }, {X}},
      {"mse_loss", [](auto& v) { return mse_loss(v[0], v[1]); }, {X, X}},
      {"l1_loss", [](auto& v) { return l1_loss(v[0], v[1]); }, {X, X}},
  };
  for (const Case& c : cases) compare(c);
}

TEST_CASE("cuda ops on mixed devices are an error naming both tensors") {
  Tensor a = Tensor::ones({2}), b = Tensor::ones({2}).to(Device::CUDA);
  CHECK_THROWS_WITH_AS(a + b, doctest::Contains("different devices"), Error);
}

TEST_CASE("the caching allocator reuses blocks: a repeated computation makes no cudaMalloc") {
  auto step = [] {
    Tensor x = Tensor::ones({1, 64, 128, 128}, DType::F32, Device::CUDA).set_requires_grad();
    sum(tanh(x * 2.0)).backward();
  };
  step();
  const uint64_t before = backend::gpu_memory().mallocs;
  step();
  step();
  CHECK(backend::gpu_memory().mallocs == before);
}
