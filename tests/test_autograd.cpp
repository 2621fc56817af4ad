// The tape: accumulation, grad mode, detach, freeing, in-place detection, and gradcheck itself.
#include <cmath>
#include <sstream>

#include "autograd/gradcheck.h"
#include "helpers.h"
#include "ops/ops.h"

using namespace cg;

TEST_CASE("a tensor used twice receives the sum of both gradients") {
  Tensor x = Tensor::from_vector(std::vector<double>{1.5, -2.0, 3.0}, {3}).set_requires_grad();
  // y = sum(x * x + 3 x): dy/dx = 2x + 3, reached along three uses of x.
  Tensor y = sum(x * x + x * 3.0);
  y.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{6.0, -1.0, 9.0});
}

TEST_CASE("a gradient handed to two inputs is never summed into in place - both get their own") {
  // add's backward hands one dy to p and to q. m, recorded between q and t, adds into p's gradient
  // after t's backward and before q's: written into memory q still reads, q would get 1 + 5.
  Tensor u = Tensor::from_vector(std::vector<double>{1.0}, {1}).set_requires_grad();
  Tensor p = u * 2.0, q = u * 3.0, m = p * 5.0, t = p + q;
  (sum(t) + sum(m)).backward();
  CHECK(u.grad().item() == 2.0 + 3.0 + 10.0);
  // two leaves given the same dy: each .grad is its own memory, so one can be updated in place
  Tensor a = Tensor::ones({2}, DType::F64).set_requires_grad(),
         b = Tensor::ones({2}, DType::F64).set_requires_grad();
  sum(a + b).backward();
  Tensor ga = a.grad();
  axpy_(ga, 1.0, Tensor::ones({2}, DType::F64));
  CHECK(a.grad().to_vector<double>() == std::vector<double>{2.0, 2.0});
  CHECK(b.grad().to_vector<double>() == std::vector<double>{1.0, 1.0});
}

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
  Tensor w = Tensor::from_vector(std::vector<double>{2.0}, {1}).set_requires_grad();
  sum(w * 5.0).backward();
  sum(w * 5.0).backward();
  CHECK(w.grad().item() == 10.0);
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
  sum(square(w)).backward();
  CHECK(w.grad().item() == 4.0);
}

TEST_CASE("requires_grad propagates - NoGradGuard and detach stop recording") {
  Tensor a = Tensor::ones({2}).set_requires_grad();
  Tensor b = Tensor::ones({2});
  CHECK((a + b).requires_grad());
  CHECK_FALSE((b * 2.0).requires_grad());
  {
    NoGradGuard g;
    CHECK_FALSE(grad_enabled());
    Tensor c = a * 2.0;
    CHECK_FALSE(c.requires_grad());
    CHECK(c.is_leaf());
  }
  CHECK(grad_enabled());
  Tensor d = a.detach() * 2.0;
  CHECK_FALSE(d.requires_grad());
  // Gradient stops at a detach: only the attached path contributes.
  Tensor x = Tensor::full({1}, 3.0, DType::F64).set_requires_grad();
  sum(x * x.detach()).backward();
  CHECK(x.grad().item() == 3.0);
  CHECK_THROWS_WITH_AS(sum(b).backward(), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("records are freed after backward - a second backward is an error unless retained") {
  Tensor x = Tensor::full({3}, 2.0, DType::F64).set_requires_grad();
  Tensor y = sum(tanh(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  CHECK(tape_string(y).find("[consumed]") == std::string::npos);
  y.backward();
  CHECK(tape_string(y).find("[consumed]") != std::string::npos);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("a second time"), Error);
  const double g = 1.0 - std::tanh(2.0) * std::tanh(2.0);
  CHECK(x.grad().to_vector<double>()[0] == doctest::Approx(2 * g).epsilon(1e-12));
}

TEST_CASE("records free their saved tensors when consumed") {
  Tensor x = Tensor::full({1000}, 0.5).set_requires_grad();
  Tensor h = tanh(x);  // tanh saves its output
  std::weak_ptr<Storage> saved = h.impl()->storage;
  Tensor y = sum(h);
  h = Tensor();
  CHECK_FALSE(saved.expired());  // the tanh record still holds it
  y.backward();
  CHECK(saved.expired());
}

TEST_CASE("an in-place write to a tensor saved for backward is an error - not a wrong gradient") {
  Tensor w = Tensor::full({3}, 2.0, DType::F64).set_requires_grad();
  Tensor x = Tensor::full({3}, 1.0, DType::F64);
  Tensor y = sum(w * x);  // mul saves x to compute dw
  fill_(x, 5.0);          // ...then x changes
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("modified in place"), Error);
  // every in-place writer counts: copy_ and axpy_ as fill_
  for (int writer = 0; writer < 2; ++writer) {
    CAPTURE(writer);
    Tensor v = Tensor::full({3}, 1.0, DType::F64);
    Tensor z = sum(w * v);
    const Tensor other = Tensor::full({3}, 4.0, DType::F64);
    if (writer == 0)
      copy_(v, other);
    else
      axpy_(v, 1.0, other);
    CHECK_THROWS_WITH_AS(z.backward(), doctest::Contains("modified in place"), Error);
  }
}

TEST_CASE(
    "a write through data<T>() or raw() to a saved tensor is an error - a read through a const handle is "
    "not") {
  Tensor a = Tensor::from_vector(std::vector<double>{0.5, -1.0}, {2}).set_requires_grad();
  Tensor th = tanh(a);  // tanh saves its output
  Tensor s = sum(th);
  th.data<double>()[0] = 0;  // a mutable pointer counts as a write
  CHECK_THROWS_WITH_AS(s.backward(), doctest::Contains("modified in place"), Error);
  Tensor th2 = tanh(a), s2 = sum(th2);
  static_cast<double*>(th2.reshape({1, 2}).raw())[1] = 0;  // through another handle on the same storage
  CHECK_THROWS_WITH_AS(s2.backward(), doctest::Contains("modified in place"), Error);
  // reads leave the version alone: const data<T>(), const raw(), to_vector, printing
  Tensor th3 = tanh(a), s3 = sum(th3);
  const Tensor& ro = th3;
  double seen = ro.data<double>()[0] + static_cast<const double*>(ro.raw())[1] + th3.to_vector<double>()[0];
  std::ostringstream printed;
  printed << th3;
  CHECK(seen == doctest::Approx(2 * std::tanh(0.5) + std::tanh(-1.0)));
  s3.backward();
  const std::vector<double> ga = a.grad().to_vector<double>();
  CHECK(ga[0] == doctest::Approx(1 - std::tanh(0.5) * std::tanh(0.5)).epsilon(1e-12));
  CHECK(ga[1] == doctest::Approx(1 - std::tanh(-1.0) * std::tanh(-1.0)).epsilon(1e-12));
}

TEST_CASE("backward needs a seed of the result's shape, dtype and device") {
  Tensor x = Tensor::ones({2, 2}, DType::F64).set_requires_grad();
  Tensor y = x * 3.0;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("one-element"), Error);
  // as many elements but another shape is no seed for this result either
  CHECK_THROWS_WITH_AS(y.backward(Tensor::full({4}, 2.0, DType::F64)), doctest::Contains("does not match"),
                       Error);
  CHECK_THROWS_WITH_AS(y.backward(Tensor::full({1, 4}, 2.0, DType::F64)), doctest::Contains("does not match"),
                       Error);
  // a float32 seed into a float64 graph: named here, not inside the first rule ("inputs of different dtypes")
  CHECK_THROWS_WITH_AS(
      y.backward(Tensor::full({2, 2}, 2.0)),
      doctest::Contains("seed float32[2, 2] on cpu does not match result float64[2, 2] on cpu"), Error);
  CHECK_FALSE(x.grad().defined());  // refused before any rule ran
  y.backward(Tensor::full({2, 2}, 2.0, DType::F64));
  for (double g : x.grad().to_vector<double>()) CHECK(g == 6.0);
}

TEST_CASE("tape_string lists the records newest first") {
  Tensor x = Tensor::ones({2}).set_requires_grad();
  Tensor y = sum(relu(x * 2.0));
  const std::string t = tape_string(y);
  CHECK(t.find("sum") < t.find("relu"));
  CHECK(t.find("relu") < t.find("mul_scalar"));
  CHECK(t.find("leaf") != std::string::npos);
}

TEST_CASE("reshape - clone - dtype conversion and expand carry gradients") {
  Generator g(3);
  Tensor x = test::randn64({2, 3}, g).set_requires_grad();
  auto r = gradcheck(
      [](const std::vector<Tensor>& in) {
        return expand(in[0].reshape({3, 1, 2}).clone(), {3, 4, 2}).to(DType::F32).to(DType::F64);
      },
      {x}, {.eps = 1e-3, .atol = 1e-4, .rtol = 1e-4});  // float32 round trip: coarse eps
  CHECK_MESSAGE(r.ok, r.report);
  // a float64 leaf used in float32 gets its gradient back in float64
  Tensor d = Tensor::from_vector(std::vector<double>{1.5, -2.0}, {2}).set_requires_grad();
  sum(square(d.to(DType::F32))).backward();
  CHECK(d.grad().dtype() == DType::F64);
  CHECK(d.grad().to_vector<double>() == std::vector<double>{3.0, -4.0});
}

// A deliberately wrong backward rule: gradcheck must catch it, or it proves nothing.
static Tensor wrong_square(const Tensor& x) {
  Tensor y = square(x.detach());
  record("wrong_square", {x}, y, [xs = Saved(x, "wrong_square")](const Tensor& dy, const std::vector<bool>&) {
    return std::vector<Tensor>{dy * xs.get() * 2.1};  // should be 2.0
  });
  return y;
}

TEST_CASE("gradcheck fails on a wrong backward and reports the worst element") {
  Generator g(1);
  Tensor x = test::randn64({4, 3}, g).set_requires_grad();
  auto bad = gradcheck([](const std::vector<Tensor>& in) { return wrong_square(in[0]); }, {x});
  CHECK_FALSE(bad.ok);
  CHECK(bad.report.find("FAILED") != std::string::npos);
  CHECK(bad.report.find("analytic") != std::string::npos);
  CHECK(bad.checked == 12);
  auto good = gradcheck([](const std::vector<Tensor>& in) { return square(in[0]); }, {x});
  CHECK_MESSAGE(good.ok, good.report);
  // A gradient that is missing altogether is also caught.
  auto none = gradcheck([](const std::vector<Tensor>& in) { return in[0].detach() * in[1]; },
                        {x, test::randn64({4, 3}, g).set_requires_grad()});
  CHECK_FALSE(none.ok);
  // the report prints as it reads, and names an element even when every difference is exactly 0
  std::ostringstream printed;
  printed << bad;
  CHECK(printed.str() == bad.report);
  auto flat = gradcheck([](const std::vector<Tensor>& in) { return in[0] * 0.0; }, {x});
  CHECK_MESSAGE(flat.ok, flat.report);
  CHECK(flat.report.find("worst: input 0 (float64[4, 3] on cpu) element [0, 0]: analytic 0, numeric 0") !=
        std::string::npos);
}

TEST_CASE("the docs/autograd.md walk-through gives the numbers it shows") {
  Tensor x = Tensor::from_vector(std::vector<double>{0.5, -1.0}, {2}).set_requires_grad();
  Tensor w = Tensor::from_vector(std::vector<double>{2.0, 0.5}, {2}).set_requires_grad();
  Tensor s = sum(tanh(x * w));
  CHECK(s.item() == doctest::Approx(0.299477).epsilon(1e-6));
  const std::string tape = tape_string(s);
  CHECK(tape.find("sum([2] from #") != std::string::npos);
  CHECK(tape.find("mul([2] leaf, [2] leaf)") != std::string::npos);
  s.backward();
  const auto dx = x.grad().to_vector<double>(), dw = w.grad().to_vector<double>();
  CHECK(dx[0] == doctest::Approx(0.839949).epsilon(1e-6));
  CHECK(dx[1] == doctest::Approx(0.393224).epsilon(1e-6));
  CHECK(dw[0] == doctest::Approx(0.209987).epsilon(1e-6));
  CHECK(dw[1] == doctest::Approx(-0.786448).epsilon(1e-6));
}

TEST_CASE("slice0 and cat0 pass float64 gradchecks - each input gets its own rows") {
  Generator g(21);
  Tensor a = test::randn64({3, 2, 4}, g).set_requires_grad(),
         b = test::randn64({1, 2, 4}, g).set_requires_grad(),
         c = test::randn64({2, 2, 4}, g).set_requires_grad();
  // rows 1..4 of the join: the end of a, all of b, the start of c; then a slice at the start
  auto r = gradcheck(
      [](const std::vector<Tensor>& in) {
        const Tensor j = cat0({in[0], in[1], in[2]});
        return cat0({slice0(j, 1, 4), slice0(j, 0, 1) * 3.0});
      },
      {a, b, c});
  CHECK_MESSAGE(r.ok, r.report);
  CHECK(r.checked == 24 + 8 + 16);
  // the last row of c is never read: its gradient is exactly 0, and a's first row gets 1 + 3
  Tensor j = cat0({a, b, c});
  sum(cat0({slice0(j, 1, 4), slice0(j, 0, 1) * 3.0})).backward();
  const auto dc = c.grad().to_vector<double>(), da = a.grad().to_vector<double>();
  for (size_t i = 8; i < 16; ++i) CHECK(dc[i] == 0.0);
  for (size_t i = 0; i < 8; ++i) CHECK(da[i] == 3.0);
  for (size_t i = 8; i < 24; ++i) CHECK(da[i] == 1.0);
  // an input that needs no gradient still holds its rows: c's gradient starts after b's row
  Tensor a2 = test::randn64({3, 2, 4}, g).set_requires_grad(),
         c2 = test::randn64({2, 2, 4}, g).set_requires_grad();
  const Tensor w = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {6, 1, 1});
  sum(cat0({a2, b.detach(), c2}) * w).backward();
  const auto dc2 = c2.grad().to_vector<double>();
  CHECK(dc2[0] == 5.0);
  CHECK(dc2[8] == 6.0);
  CHECK(a2.grad().to_vector<double>()[16] == 3.0);
}

// Backward rules that break the tape's contract, to check that backward() refuses them.
static Tensor rule_returning(const Tensor& x, std::vector<Tensor> (*rule)(const Tensor&)) {
  Tensor y = x.detach().clone();
  record("broken_rule", {x}, y,
         [rule, xs = Saved(x, "broken_rule")](const Tensor&, const std::vector<bool>&) {
           return rule(xs.get());
         });
  return y;
}

TEST_CASE("the tape refuses a rule's wrong gradient count or shape - and misuse of leaves and set_grad") {
  Generator g(22);
  Tensor x = test::randn64({2, 3}, g).set_requires_grad();
  Tensor two = rule_returning(x, [](const Tensor& v) { return std::vector<Tensor>{v, v}; });
  CHECK_THROWS_WITH_AS(sum(two).backward(), doctest::Contains("returned 2 gradients for 1 inputs"), Error);
  Tensor shaped = rule_returning(x, [](const Tensor& v) { return std::vector<Tensor>{v.reshape({3, 2})}; });
  CHECK_THROWS_WITH_AS(sum(shaped).backward(), doctest::Contains("returned a gradient of shape [3, 2]"),
                       Error);
  // set_requires_grad is for leaves only; a result must be detached first
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_AS(y.set_requires_grad(false), doctest::Contains("non-leaf"), Error);
  CHECK_NOTHROW(y.detach().set_requires_grad(true));
  // set_grad takes only a gradient of the tensor's own shape, dtype and device
  Tensor leaf = test::randn64({2, 3}, g);
  CHECK_THROWS_WITH_AS(leaf.set_grad(test::randn64({3, 2}, g)), doctest::Contains("does not match"), Error);
  CHECK_THROWS_WITH_AS(leaf.set_grad(Tensor::zeros({2, 3}, DType::F32)), doctest::Contains("does not match"),
                       Error);
  CHECK_NOTHROW(leaf.set_grad(Tensor::zeros({2, 3}, DType::F64)));
  CHECK(leaf.grad().defined());
}
