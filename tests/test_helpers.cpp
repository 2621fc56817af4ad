// The closeness check every suite relies on (tests/helpers.h): it must pass equal values at zero
// tolerance, fail on NaN, hold its bound exactly, and report the worst element.
#include <cmath>

#include "helpers.h"

using namespace cg;
using test::mismatch;

TEST_CASE("closeness check: equal tensors pass at zero tolerance") {
  const Tensor a = Tensor::from_vector(std::vector<float>{-0.0713674501f, 0.f, 3.5f, -2.f}, {4});
  CHECK(mismatch(a, a.clone(), 0.0, 0.0).empty());
  CHECK(mismatch(a.to(DType::F64), a.to(DType::F64), 0.0, 0.0).empty());
}

TEST_CASE("closeness check: NaN anywhere fails") {
  const Tensor ok = Tensor::from_vector(std::vector<double>{1.0, 2.0}, {2});
  const Tensor nan = Tensor::from_vector(std::vector<double>{1.0, NAN}, {2});
  CHECK_FALSE(mismatch(nan, ok, 1.0, 1.0).empty());
  CHECK_FALSE(mismatch(ok, nan, 1.0, 1.0).empty());
  CHECK_FALSE(mismatch(nan, nan, 1.0, 1.0).empty());
  const Tensor inf = Tensor::from_vector(std::vector<double>{1.0, INFINITY}, {2});
  CHECK_FALSE(mismatch(inf, ok, 1e300, 1.0).empty());
}

TEST_CASE("closeness check: the bound atol + rtol |expected| is inclusive and exact") {
  const Tensor e = Tensor::from_vector(std::vector<double>{2.0, -4.0}, {2});
  // bound at element 1: 0.5 + 0.25 * 4 = 1.5
  CHECK(mismatch(Tensor::from_vector(std::vector<double>{2.0, -2.5}, {2}), e, 0.5, 0.25).empty());
  CHECK_FALSE(mismatch(Tensor::from_vector(std::vector<double>{2.0, -2.4}, {2}), e, 0.5, 0.25).empty());
  CHECK_FALSE(mismatch(Tensor::from_vector(std::vector<double>{2.0, -4.0, 1.0}, {3}), e, 1.0, 1.0).empty());
}

TEST_CASE("closeness check: the report names the element furthest over its bound") {
  const Tensor e = Tensor::from_vector(std::vector<double>{1.0, 100.0, 1.0}, {3});
  // element 1 is 5 over a bound of 1 + 0.1 * 100 = 11 (ratio 0.45, passes); element 2 is 3 over 1.1
  // (ratio 2.7); element 0 is 2 over 1.1 (ratio 1.8)
  const Tensor a = Tensor::from_vector(std::vector<double>{3.0, 105.0, 4.0}, {3});
  const std::string m = mismatch(a, e, 1.0, 0.1);
  CHECK(m.find("2 of 3 elements differ") != std::string::npos);
  CHECK(m.find("element 2 of [3]") != std::string::npos);
}

TEST_CASE("first_difference: identical files compare equal - one changed bit or a missing tensor does not") {
  const std::string dir = test::scratch("first_difference");
  const Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}), b = Tensor::zeros({2, 2});
  safetensors::save(dir + "/x.safetensors", {{"a", a}, {"b", b}});
  safetensors::save(dir + "/same.safetensors", {{"a", a.clone()}, {"b", b.clone()}});
  CHECK(test::first_difference(dir + "/x.safetensors", dir + "/same.safetensors").empty());
  Tensor changed = a.clone();
  static_cast<uint32_t*>(changed.raw())[2] ^= 1;  // the lowest bit of 3.0f
  safetensors::save(dir + "/bit.safetensors", {{"a", changed}, {"b", b}});
  CHECK(test::first_difference(dir + "/x.safetensors", dir + "/bit.safetensors") == "a");
  safetensors::save(dir + "/less.safetensors", {{"a", a}});
  CHECK(test::first_difference(dir + "/x.safetensors", dir + "/less.safetensors") == "b");
  CHECK(test::first_difference(dir + "/less.safetensors", dir + "/x.safetensors") ==
        "(" + dir + "/x.safetensors holds more tensors)");
}
