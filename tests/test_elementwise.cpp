// Elementwise ops, reductions and losses: float64 gradchecks, PyTorch fixtures, kink conventions.
#include <omp.h>

#include <functional>
#include <map>

#include "autograd/gradcheck.h"
#include "helpers.h"
#include "ops/ops.h"

using namespace cg;
using Fn = cg::test::OpFn;

namespace {
// Every op under test, by fixture case name, as a function of its inputs.
const std::map<std::string, Fn>& ops_by_case() {
  static const std::map<std::string, Fn> m = {
      {"add", [](auto& v) { return v[0] + v[1]; }},
      {"add_bias_c", [](auto& v) { return v[0] + v[1]; }},
      {"sub_row", [](auto& v) { return v[0] - v[1]; }},
      {"mul_1c11", [](auto& v) { return v[0] * v[1]; }},
      {"mul", [](auto& v) { return v[0] * v[1]; }},
      {"div", [](auto& v) { return v[0] / v[1]; }},
      {"div_bias_c", [](auto& v) { return v[0] / v[1]; }},
      {"neg", [](auto& v) { return -v[0]; }},
      {"add_scalar", [](auto& v) { return v[0] + 0.75; }},
      {"mul_scalar", [](auto& v) { return v[0] * -1.5; }},
      {"abs", [](auto& v) { return abs(v[0]); }},
      {"square", [](auto& v) { return square(v[0]); }},
      {"sqrt", [](auto& v) { return sqrt(v[0]); }},
      {"exp", [](auto& v) { return exp(v[0]); }},
      {"log", [](auto& v) { return log(v[0]); }},
      {"relu", [](auto& v) { return relu(v[0]); }},
      {"leaky_relu", [](auto& v) { return leaky_relu(v[0], 0.2); }},
      {"tanh", [](auto& v) { return tanh(v[0]); }},
      {"sigmoid", [](auto& v) { return sigmoid(v[0]); }},
      {"sum_all", [](auto& v) { return sum(v[0]); }},
      {"sum_023_keep",
       [](auto& v) {
         return sum(v[0], {0, 2, 3}, true);
       }},
      {"sum_1", [](auto& v) { return sum(v[0], {1}); }},
      {"mean_all", [](auto& v) { return mean(v[0]); }},
      {"mean_23_keep",
       [](auto& v) {
         return mean(v[0], {2, 3}, true);
       }},
      {"mean_neg1", [](auto& v) { return mean(v[0], {-1}); }},
      {"mse_loss", [](auto& v) { return mse_loss(v[0], v[1]); }},
      {"l1_loss", [](auto& v) { return l1_loss(v[0], v[1]); }},
  };
  return m;
}

// Inputs for the gradchecks: the domain each op needs, away from kinks and singularities.
std::vector<Tensor> gradcheck_inputs(const std::string& name, Generator& g) {
  const Shape X{2, 3, 4, 5};
  auto any = [&](const Shape& s) { return test::randn64(s, g).set_requires_grad(); };
  auto away = [&](const Shape& s) { return test::away_from_zero(s, g).set_requires_grad(); };
  auto pos = [&](const Shape& s) { return test::positive(s, g).set_requires_grad(); };
  if (name == "add_bias_c") return {any(X), any({3})};
  if (name == "sub_row") return {any(X), any({5})};
  if (name == "mul_1c11") return {any(X), any({1, 3, 1, 1})};
  if (name == "div") return {any(X), pos(X)};
  if (name == "div_bias_c") return {any(X), pos({3})};
  if (name == "add" || name == "mul" || name == "mse_loss") return {any(X), any(X)};
  if (name == "l1_loss") return {away(X), any(X).detach()};  // target constant; |pred-0| > 0
  if (name == "abs" || name == "relu" || name == "leaky_relu") return {away(X)};
  if (name == "sqrt" || name == "log") return {pos(X)};
  return {any(X)};
}
}  // namespace

TEST_CASE("every elementwise op - reduction and loss passes a float64 gradcheck") {
  Generator g(11);
  for (const auto& entry : ops_by_case()) {  // (no structured binding: clang 14 cannot capture one)
    const std::string& name = entry.first;
    const auto& fn = entry.second;
    SUBCASE(name.c_str()) {
      const auto r = gradcheck(fn, gradcheck_inputs(name, g));
      CHECK_MESSAGE(r.ok, name << ": " << r.report);
      CHECK(r.checked > 0);
    }
  }
}

TEST_CASE("every elementwise op matches PyTorch (float32 fixtures)") {
  const auto fx = test::fixture("elementwise.safetensors");
  // Float32 throughout; sums of <= 120 terms: a few ulps of the largest magnitude.
  const int cases = test::check_fixture_cases(fx, ops_by_case(), 1e-6, 1e-5);
  CHECK(cases == 27);
}

TEST_CASE("kinks: relu'(0) = 0 and abs'(0) = 0 - as in PyTorch - leaky_relu'(0) = slope") {
  Tensor x = Tensor::zeros({3}, DType::F64).set_requires_grad();
  sum(relu(x)).backward();
  for (double v : x.grad().to_vector<double>()) CHECK(v == 0.0);
  x.zero_grad();
  sum(abs(x)).backward();
  for (double v : x.grad().to_vector<double>()) CHECK(v == 0.0);
  x.zero_grad();
  sum(leaky_relu(x, 0.2)).backward();
  for (double v : x.grad().to_vector<double>()) CHECK(v == doctest::Approx(0.2));
}

TEST_CASE("broadcasting: per-channel (C) and (1 C 1 1) - trailing dims - and errors naming shapes") {
  Tensor x = Tensor::zeros({2, 3, 2, 2});
  Tensor bias = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
  const auto v = (x + bias).to_vector<float>();
  CHECK(v[0] == 1.0f);   // n0 c0
  CHECK(v[4] == 2.0f);   // n0 c1
  CHECK(v[8] == 3.0f);   // n0 c2
  CHECK(v[12] == 1.0f);  // n1 c0
  CHECK((x + bias.reshape({1, 3, 1, 1})).to_vector<float>() == v);
  CHECK((x + bias).shape() == Shape{2, 3, 2, 2});
  CHECK((Tensor::ones({4, 1}) * Tensor::ones({5})).shape() == Shape{4, 5});
  CHECK_THROWS_WITH_AS(Tensor::ones({2, 3}) + Tensor::ones({4}),
                       doctest::Contains("[2, 3] and [4] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(mse_loss(Tensor::ones({2}), Tensor::ones({3})), doctest::Contains("differ in shape"),
                       Error);
  CHECK_THROWS_WITH_AS(Tensor::ones({2}) + Tensor::ones({2}, DType::F64),
                       doctest::Contains("different dtypes"), Error);
  CHECK_THROWS_WITH_AS(sum(x, {4}), doctest::Contains("dim 4 out of range"), Error);
}

TEST_CASE("large reductions are parallel yet exact to float32 rounding") {
  // 2^20 ones: any summation order gives exactly 2^20 in double accumulation.
  Tensor x = Tensor::ones({1 << 20});
  CHECK(sum(x).item() == 1048576.0);
  Tensor y = Tensor::ones({4, 512, 512});
  const auto s = sum(y, {1, 2}).to_vector<float>();
  for (float v : s) CHECK(v == 262144.0f);
  CHECK(mean(y, {0}).to_vector<float>()[12345] == 1.0f);
  // Several outputs, each summing more than one chunk of 2^14 elements: row r holds r + 1, so every
  // output must add its own chunks (2 * 20000 * (r + 1), exact in float).
  std::vector<float> rows(3 * 2 * 20000);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(i / 40000 + 1);
  const auto r = sum(Tensor::from_vector(rows, {3, 2, 20000}), {1, 2}).to_vector<float>();
  CHECK(r == std::vector<float>{40000.0f, 80000.0f, 120000.0f});
}

TEST_CASE("broadcasting the first operand along the last dim: (2 1) - (2 3) and (2 1) / (2 3)") {
  Tensor a = Tensor::from_vector(std::vector<double>{10, 20}, {2, 1});
  Tensor b = Tensor::from_vector(std::vector<double>{1, 2, 4, 5, 8, 10}, {2, 3});
  CHECK((a - b).to_vector<double>() == std::vector<double>{9, 8, 6, 15, 12, 10});
  CHECK((a / b).to_vector<double>() == std::vector<double>{10, 5, 2.5, 4, 2.5, 2});
  CHECK((b - a).to_vector<double>() == std::vector<double>{-9, -8, -6, -15, -12, -10});
}

TEST_CASE("parallel elementwise work covers every element when the size does not divide by the threads") {
  // 3 threads over 100003 elements (above the parallel grain): the last chunk is shorter than the others
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  const int64_t n = 100003;
  std::vector<double> xs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) xs[static_cast<size_t>(i)] = static_cast<double>(i);
  const Tensor x = Tensor::from_vector(xs, {n});
  const auto y = (x * 2.0 + 1.0).to_vector<double>();
  const auto z = (x + x).to_vector<double>();
  omp_set_num_threads(before);
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i)
    wrong += y[static_cast<size_t>(i)] != 2.0 * static_cast<double>(i) + 1.0 ||
             z[static_cast<size_t>(i)] != 2.0 * static_cast<double>(i);
  CHECK(wrong == 0);
}
