// The teaching pages cannot drift from the code: every ```cpp block of docs/*.md appears in this
// file (line for line, indentation and runs of blanks aside), where it is compiled and run with CHECKs on the
// numbers the page quotes, or, when the line before it names a file of examples/, in that file; the
// examples are compiled into this file too (their main() renamed), so the CHECKs below run their
// functions, and the built programs are run and what they print compared with the page. The tapes
// the pages print are compared with tape_string's; each line of the backward() sketch names the line
// of autograd/tape.cpp that does it; the commands of the pages name programs and flags that exist.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "autograd/gradcheck.h"
#include "autograd/tape.h"
#include "helpers.h"
#include "nn/adam.h"
#include "nn/layers.h"
#include "ops/ops.h"

// docs/autograd.md's own-op and two-input-op programs, exactly as the reader builds them: cube(),
// gate() and its counters come from here.
#define main own_op_main
#include "../examples/own_op.cpp"
#undef main
#define main two_input_op_main
#include "../examples/two_input_op.cpp"
#undef main

using namespace cg;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> stripped_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    // every run of blanks as one space: clang-format may align this file's comments differently
    std::string norm;
    for (char c : line) {
      const bool blank = c == ' ' || c == '\t' || c == '\r';
      if (blank && (norm.empty() || norm.back() == ' ')) continue;
      norm += blank ? ' ' : c;
    }
    if (!norm.empty() && norm.back() == ' ') norm.pop_back();
    out.push_back(norm);
  }
  return out;
}

// A fenced block of a markdown file: its language, its text (less the fence's indentation, for a
// block inside a list item) and the last non-blank line before it (which may name its source file).
struct Block {
  std::string lang, body, before;
};

std::vector<Block> code_blocks(const std::string& path) {
  std::vector<Block> out;
  std::istringstream in(test::read_file(path));
  std::string line, last_text;
  Block cur;
  size_t indent = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    const size_t first = line.find_first_not_of(' ');
    const bool fence = first != std::string::npos && line.compare(first, 3, "```") == 0;
    if (fence && (!inside || first == indent)) {
      if (inside) {
        out.push_back(cur);
      } else {
        indent = first;
        cur = Block{line.substr(first + 3), "", last_text};
      }
      inside = !inside;
    } else if (inside) {
      cur.body += line.substr(std::min(indent, first == std::string::npos ? line.size() : first)) + "\n";
    } else if (first != std::string::npos) {
      last_text = line;
    }
  }
  return out;
}

// The file of examples/ that the line before a block names ("From `examples/own_op.cpp`:"), or "".
std::string example_named(const std::string& before) {
  std::smatch m;
  if (!std::regex_search(before, m, std::regex("`examples/([A-Za-z_0-9]+\\.[a-z]+)`"))) return "";
  return m[1].str();
}

bool contains_lines(const std::vector<std::string>& hay, const std::vector<std::string>& needle) {
  if (needle.empty()) return true;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (std::equal(needle.begin(), needle.end(), hay.begin() + static_cast<std::ptrdiff_t>(i))) return true;
  return false;
}

std::vector<std::string> doc_pages() {
  std::vector<std::string> pages;
  for (const auto& e : fs::directory_iterator(std::string(CG_SOURCE_DIR) + "/docs"))
    if (e.path().extension() == ".md") pages.push_back(e.path().string());
  pages.push_back(std::string(CG_SOURCE_DIR) + "/README.md");
  return pages;
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

// A tape as a fresh process prints it: record numbers counted from 1 (the counter is process-wide,
// and this test has made records before). `newest` is the number the page gives the first line.
std::string renumbered(const std::string& tape, int newest) {
  const std::regex seq("#([0-9]+)");
  std::smatch m;
  std::string out, rest = tape;
  int base = -1;
  while (std::regex_search(rest, m, seq)) {
    const int n = std::stoi(m[1]);
    if (base < 0) base = n - newest;
    out += m.prefix().str() + "#" + std::to_string(n - base);
    rest = m.suffix();
  }
  return out + rest;
}

// Whether one of the page's blocks holds `text` (a printed tape, say).
bool page_shows(const std::string& page, const std::string& text) {
  for (const Block& b : code_blocks(page))
    if (b.body.find(text) != std::string::npos) return true;
  return false;
}

const std::string kAutogradPage = std::string(CG_SOURCE_DIR) + "/docs/autograd.md";

// Two printed outputs agree when their words agree and their numbers are close: the page shows
// one run, and the last digits of a finite difference are rounding.
bool same_output(const std::string& page, const std::string& program, std::string& why) {
  const auto a = stripped_lines(page), b = stripped_lines(program);
  if (a.size() != b.size()) {
    why = std::to_string(a.size()) + " lines on the page, " + std::to_string(b.size()) + " printed";
    return false;
  }
  const std::regex number("[-+]?[0-9]+(\\.[0-9]+)?(e[-+]?[0-9]+)?");
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string wa = std::regex_replace(a[i], number, "#"), wb = std::regex_replace(b[i], number, "#");
    std::vector<double> na, nb;
    for (auto it = std::sregex_iterator(a[i].begin(), a[i].end(), number); it != std::sregex_iterator(); ++it)
      na.push_back(std::stod(it->str()));
    for (auto it = std::sregex_iterator(b[i].begin(), b[i].end(), number); it != std::sregex_iterator(); ++it)
      nb.push_back(std::stod(it->str()));
    bool close = wa == wb && na.size() == nb.size();
    for (size_t k = 0; close && k < na.size(); ++k)
      close = std::abs(na[k] - nb[k]) <= 1e-6 + 1e-3 * std::abs(na[k]);
    if (!close) {
      why = "line " + std::to_string(i + 1) + ": page '" + a[i] + "', printed '" + b[i] + "'";
      return false;
    }
  }
  return true;
}

// The demo's fit (apps/autograd_demo.cpp) with b of shape (b_size): at each step of `at`, the loss
// and the mean squared distance to the true curve tanh(1.7 x - 0.4).
struct FitPoint {
  double loss, to_curve;
};
std::map<int, FitPoint> demo_fit(int64_t b_size, const std::vector<int>& at) {
  manual_seed(0);
  const Tensor x = Tensor::rand({256}) * 4.0 - 2.0;  // (256)
  const Tensor curve = tanh(x * 1.7 - 0.4);          // (256)
  const Tensor y = curve + Tensor::randn({256}) * 0.05;
  Tensor w = Tensor::zeros({1}).set_requires_grad();       // (1)
  Tensor b = Tensor::zeros({b_size}).set_requires_grad();  // (1) or (256)
  std::map<int, FitPoint> out;
  for (int step = 0; step <= at.back(); ++step) {
    Tensor pred = tanh(x * w + b);
    Tensor loss = mse_loss(pred, y);
    loss.backward();
    if (std::find(at.begin(), at.end(), step) != at.end()) {
      NoGradGuard no_grad;
      out[step] = {loss.item(), mse_loss(pred, curve).item()};
    }
    NoGradGuard no_grad;
    axpy_(w, -0.5, w.grad());
    axpy_(b, -0.5, b.grad());
    w.zero_grad();
    b.zero_grad();
  }
  return out;
}

}  // namespace

TEST_CASE("every C++ block of the teaching pages is in this file or in the example it names") {
  const auto self = stripped_lines(test::read_file(std::string(CG_SOURCE_DIR) + "/tests/test_docs.cpp"));
  int blocks = 0, from_examples = 0;
  for (const std::string& page : doc_pages())
    for (const Block& block : code_blocks(page)) {
      const std::string& body = block.body;  // a plain reference: CAPTURE cannot name a binding
      const std::string example = example_named(block.before);
      CAPTURE(page);
      CAPTURE(body);
      if (!example.empty()) {  // any language: the CMakeLists.txt too
        CAPTURE(example);
        const std::string file = test::read_file(std::string(CG_SOURCE_DIR) + "/examples/" + example);
        REQUIRE(!file.empty());
        CHECK(contains_lines(stripped_lines(file), stripped_lines(body)));
        ++from_examples;
      } else if (block.lang == "cpp") {
        CHECK(contains_lines(self, stripped_lines(body)));
        ++blocks;
      }
    }
  CHECK(blocks >= 4);
  CHECK(from_examples >= 4);  // own_op.cpp, two_input_op.cpp's gate, train_loop.cpp, CMakeLists.txt
}

TEST_CASE("docs/autograd.md: the examples print what the page shows") {
  int shown = 0;
  for (const Block& block : code_blocks(kAutogradPage)) {
    std::smatch m;
    if (!std::regex_search(block.before, m, std::regex("`build/examples/([A-Za-z_0-9]+)` prints"))) continue;
    ++shown;
    const std::string name = m[1].str();
    CAPTURE(name);
#if CG_EXAMPLES
    const auto run = test::run_command(std::string(CG_BINARY_DIR) + "/examples/" + name + " 2>&1");
    const std::string& out = run.second;  // a plain reference: clang's CHECK_MESSAGE cannot name a binding
    CHECK(run.first == 0);
    std::string why;
    CHECK_MESSAGE(same_output(block.body, out, why), why << "\nprinted:\n" << out);
#endif
  }
  CHECK(shown == 3);
#if !CG_EXAMPLES
  MESSAGE("examples/ not built (CYCLEGAN_EXAMPLES=OFF): what they print was not compared with the page");
#endif
}

TEST_CASE("docs/autograd.md: each line of the backward() sketch names the line of tape.cpp that does it") {
  std::istringstream tape_cpp(test::read_file(std::string(CG_SOURCE_DIR) + "/autograd/tape.cpp"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(tape_cpp, line);) lines.push_back(line);
  int named = 0;
  for (const Block& block : code_blocks(kAutogradPage)) {
    if (block.body.rfind("backward(root, seed):", 0) != 0) continue;
    std::istringstream in(block.body);
    std::string line;
    std::getline(in, line);           // backward(root, seed):  tape.cpp
    while (std::getline(in, line)) {  // every other line names its line of tape.cpp
      std::smatch m;
      CAPTURE(line);
      REQUIRE(std::regex_search(line, m, std::regex("  L([0-9]+)  (.+)$")));
      const size_t n = std::stoul(m[1]);
      const std::string code = m[2].str();
      REQUIRE(n >= 1);
      REQUIRE(n <= lines.size());
      CHECK_MESSAGE(lines[n - 1].find(code) != std::string::npos,
                    "tape.cpp line " << n << ": " << lines[n - 1]);
      ++named;
    }
  }
  CHECK(named == 18);
}

TEST_CASE("docs/autograd.md: the example's gradients and tape") {
  Tensor x = Tensor::from_vector(std::vector<double>{0.5, -1.0}, {2}).set_requires_grad();
  Tensor w = Tensor::from_vector(std::vector<double>{2.0, 0.5}, {2}).set_requires_grad();
  Tensor m = x * w;    // op 1: mul
  Tensor t = tanh(m);  // op 2: tanh
  Tensor s = sum(t);   // op 3: sum
  s.backward();
  // x.grad() == [0.839949, 0.393224], w.grad() == [0.209987, -0.786448]
  CHECK(values(x.grad())[0] == doctest::Approx(0.839949).epsilon(1e-6));
  CHECK(values(x.grad())[1] == doctest::Approx(0.393224).epsilon(1e-6));
  CHECK(values(w.grad())[0] == doctest::Approx(0.209987).epsilon(1e-6));
  CHECK(values(w.grad())[1] == doctest::Approx(-0.786448).epsilon(1e-6));
  CHECK(values(m) == std::vector<double>{1.0, -0.5});
  CHECK(values(t)[0] == doctest::Approx(0.761594).epsilon(1e-6));
  CHECK(s.item() == doctest::Approx(0.299477).epsilon(1e-6));
  // after backward every record is consumed; before it (the same three ops again) none is
  const std::string after = renumbered(tape_string(s), 3);
  CHECK_MESSAGE(page_shows(kAutogradPage, after), after);
  CHECK(after.find("#1 mul([2] leaf, [2] leaf) [consumed]") != std::string::npos);
  const std::string before = renumbered(tape_string(sum(tanh(x * w))), 3);
  CHECK_MESSAGE(page_shows(kAutogradPage, before), before);
  CHECK(before.find("[consumed]") == std::string::npos);
}

TEST_CASE("docs/autograd.md: a write through data<T>() to a saved tensor makes backward throw") {
  Tensor a = Tensor::from_vector(std::vector<double>{0.5, -1.0}, {2}).set_requires_grad();
  Tensor th = tanh(a);  // tanh saves its output
  Tensor loss = sum(th);
  th.data<double>()[0] = 0;  // a mutable pointer: th's version goes up
  // loss.backward() throws: "backward of 'tanh': a tensor it saved (float64[2] on cpu) was modified ..."
  CHECK_THROWS_WITH_AS(
      loss.backward(),
      doctest::Contains("backward of 'tanh': a tensor it saved (float64[2] on cpu) was modified"), Error);
  // the same read through a const handle is no write
  Tensor th2 = tanh(a), loss2 = sum(th2);
  CHECK(std::as_const(th2).data<double>()[0] == doctest::Approx(std::tanh(0.5)));
  loss2.backward();
  CHECK(values(a.grad())[0] == doctest::Approx(1 - std::tanh(0.5) * std::tanh(0.5)));
}

TEST_CASE("docs/autograd.md: a tensor used three times receives the sum of three gradients") {
  Tensor x = Tensor::from_vector(std::vector<double>{3.0}, {1}).set_requires_grad();
  Tensor y = x * x + x;
  y.backward(Tensor::ones({1}, DType::F64));
  // x.grad() == [7]: 2 * 3 + 1
  CHECK(values(x.grad()) == std::vector<double>{7.0});
  int edges = 0;  // three edges point to x: mul's two and add's one
  std::istringstream in(tape_string(x * x + x));
  for (std::string line; std::getline(in, line);)
    for (size_t p = line.find("leaf"); p != std::string::npos; p = line.find("leaf", p + 1)) ++edges;
  CHECK(edges == 3);
  // exercise 1: x * x * x, three edges again, 3 x^2 = 27
  Tensor z = x * x * x;
  x.zero_grad();
  z.backward(Tensor::ones({1}, DType::F64));
  CHECK(values(x.grad()) == std::vector<double>{27.0});
}

TEST_CASE("docs/autograd.md: the demo's first step - broadcasting sums w's gradient to its shape") {
  manual_seed(0);
  const Tensor x = Tensor::rand({256}) * 4.0 - 2.0;                    // (256)
  const Tensor y = tanh(x * 1.7 - 0.4) + Tensor::randn({256}) * 0.05;  // (256)
  Tensor w = Tensor::zeros({1}).set_requires_grad();                   // (1)
  Tensor b = Tensor::zeros({1}).set_requires_grad();                   // (1)
  Tensor loss = mse_loss(tanh(x * w + b), y);
  loss.backward();
  // w.grad() == [-1.70119]: the demo's first "dloss/dw"
  {
    NoGradGuard no_grad;  // the update is not part of any graph
    axpy_(w, -0.5, w.grad());
    axpy_(b, -0.5, b.grad());
  }
  w.zero_grad();
  b.zero_grad();
  // one step of 0.5 from w = 0: w = -0.5 * (-1.70119); the closed form at w = b = 0 is -(2/256) sum(y x)
  CHECK(w.item() == doctest::Approx(0.5 * 1.70119).epsilon(1e-5));
  CHECK(w.item() == doctest::Approx(0.5 * 2.0 / 256 * sum(y * x).item()).epsilon(1e-5));
  CHECK(!w.grad().defined());
  Tensor w0 = Tensor::zeros({1}).set_requires_grad(), b0 = Tensor::zeros({1}).set_requires_grad();
  const Tensor again = mse_loss(tanh(x * w0 + b0), y);
  const std::string tape = tape_string(again);
  again.backward();
  CHECK(w0.grad().shape() == Shape{1});  // summed over the 256 points to w's shape
  CHECK(w0.grad().item() == doctest::Approx(-1.70119).epsilon(1e-5));
  // the tape the page prints, renumbered from 1
  const std::string shown = renumbered(tape, 7);
  CHECK_MESSAGE(page_shows(kAutogradPage, shown), shown);
}

TEST_CASE("docs/autograd.md: exercise 3 - a bias per point is slow, then fits the noise, not the curve") {
  const auto one = demo_fit(1, {200});
  const auto many = demo_fit(256, {200, 1000, 1250, 5000, 40000});
  // at step 200: 0.0140 against 0.0026; each of 256 biases got 1/256 of the shared one's gradient
  CHECK(one.at(200).loss == doctest::Approx(0.0026).epsilon(0.05));
  CHECK(many.at(200).loss == doctest::Approx(0.0140).epsilon(0.05));
  // it passes the (1) fit's loss between steps 1000 and 1250, then falls below the noise's 0.0025
  CHECK(many.at(1000).loss > one.at(200).loss);
  CHECK(many.at(1250).loss < one.at(200).loss);
  CHECK(many.at(5000).loss == doctest::Approx(0.0013).epsilon(0.05));
  CHECK(many.at(40000).loss == doctest::Approx(0.0006).epsilon(0.05));
  CHECK(many.at(40000).loss < 0.05 * 0.05);
  // ...while the true curve is a hundred times further than the (1) fit's
  CHECK(one.at(200).to_curve == doctest::Approx(0.000013).epsilon(0.05));
  CHECK(many.at(5000).to_curve == doctest::Approx(0.0014).epsilon(0.05));
  CHECK(many.at(40000).to_curve == doctest::Approx(0.0018).epsilon(0.05));
}

TEST_CASE("docs/autograd.md: an op of one's own, checked by gradcheck - and a wrong rule caught") {
  Generator g(1);
  Tensor a = Tensor::randn({5}, DType::F64, Device::CPU, &g).set_requires_grad();
  GradcheckResult r = gradcheck([](const std::vector<Tensor>& v) { return cube(v[0]); }, {a});
  // r.ok == true, r.checked == 5
  CHECK_MESSAGE(r.ok, r.report);
  CHECK(r.checked == 5);
  // its value and its record
  const Tensor c = cube(Tensor::from_vector(std::vector<double>{2.0}, {1}).set_requires_grad());
  CHECK(c.item() == 8.0);
  CHECK(tape_string(c).find("cube([1] leaf)") != std::string::npos);
  CHECK(tape_dot(c).find("saved [1]") != std::string::npos);
  // exercise 2: the rule with 2 instead of 3 fails
  auto wrong = [](const Tensor& x) {
    Tensor y;
    {
      NoGradGuard no_grad;
      y = x * x * x;
    }
    record("cube", {x}, y, [xs = Saved(x, "cube")](const Tensor& dy, const Need&) {
      const Tensor& v = xs.get();
      return Grads{dy * v * v * 2.0};
    });
    return y;
  };
  const GradcheckResult bad = gradcheck([&](const std::vector<Tensor>& v) { return wrong(v[0]); }, {a});
  CHECK_FALSE(bad.ok);
  CHECK(bad.report.rfind("gradcheck FAILED: 5 input elements", 0) == 0);
  CHECK(bad.report.find("element [") != std::string::npos);
  // exercise 4: a Saved made before the forward's ops is taken by their record() calls, not cube's
  auto early = [](const Tensor& x) {
    Saved xs(x, "cube");
    Tensor y;
    {
      NoGradGuard no_grad;
      y = x * x * x;
    }
    record("cube", {x}, y,
           [xs](const Tensor& dy, const Need&) { return Grads{dy * xs.get() * xs.get() * 3.0}; });
    return y;
  };
  const std::string dot = tape_dot(early(Tensor::ones({2}, DType::F64).set_requires_grad()));
  CHECK(dot.find("cube\\nout [2]") != std::string::npos);
  CHECK(dot.find("saved") == std::string::npos);
  // the saved input is version-checked: an in-place write before backward is an error
  Tensor x = Tensor::from_vector(std::vector<double>{1.0, 2.0}, {2}).set_requires_grad();
  Tensor xc = x * 1.0;
  Tensor y = cube(xc);
  {
    NoGradGuard no_grad;
    fill_(xc, 0.0);
  }
  CHECK_THROWS_AS(sum(y).backward(), Error);
}

TEST_CASE("docs/autograd.md: the two-input op - need[] skips work, sum_to undoes the broadcast") {
  Generator gen(5);
  const Tensor x0 = Tensor::randn({3, 4}, DType::F64, Device::CPU, &gen);  // (N, C)
  const Tensor g0 = Tensor::randn({4}, DType::F64, Device::CPU, &gen);     // (C)
  dx_computed = dg_computed = 0;
  {  // x data, g a weight: dg only
    Tensor g = g0.detach().clone().set_requires_grad();
    const Tensor z = gate(x0, g);
    CHECK(tape_string(z).find("gate([3, 4] const, [4] leaf)") != std::string::npos);
    sum(z).backward();
    CHECK(dx_computed == 0);
    CHECK(dg_computed == 1);
    CHECK(g.grad().shape() == Shape{4});
    // dg_c = sum_n x_nc s_c (1 - s_c)
    const auto xv = values(x0), gv = values(g0), dg = values(g.grad());
    for (size_t c = 0; c < 4; ++c) {
      const double sc = 1 / (1 + std::exp(-gv[c]));
      CHECK(dg[c] == doctest::Approx((xv[c] + xv[4 + c] + xv[8 + c]) * sc * (1 - sc)).epsilon(1e-12));
    }
  }
  {  // g frozen, x the output of something that wants a gradient: dx only
    Tensor x = x0.detach().clone().set_requires_grad();
    sum(gate(x, g0)).backward();
    CHECK(dx_computed == 1);
    CHECK(dg_computed == 1);
  }
  {  // exercise 7: both, and x is a leaf on the tape
    Tensor x = x0.detach().clone().set_requires_grad(), g = g0.detach().clone().set_requires_grad();
    const Tensor z = gate(x, g);
    CHECK(tape_string(z).find("gate([3, 4] leaf, [4] leaf)") != std::string::npos);
    sum(z).backward();
    CHECK(dx_computed == 2);
    CHECK(dg_computed == 2);
    const GradcheckResult r =
        gradcheck([](const std::vector<Tensor>& v) { return gate(v[0], v[1]); }, {x, g});
    CHECK_MESSAGE(r.ok, r.report);
    CHECK(r.checked == 16);
  }
  {  // exercise 6: dg left at (N, C) is refused, naming the op and both shapes
    auto no_sum_to = [](const Tensor& x, const Tensor& g) {
      Tensor s, z;
      {
        NoGradGuard no_grad;
        s = sigmoid(g);
        z = x * s;
      }
      record("gate", {x, g}, z, [xs = Saved(x, "gate"), s](const Tensor& dz, const Need&) {
        return Grads{Tensor(), dz * xs.get() * s * (1.0 - s)};
      });
      return z;
    };
    Tensor g = g0.detach().clone().set_requires_grad();
    CHECK_THROWS_WITH_AS(
        sum(no_sum_to(x0, g)).backward(),
        doctest::Contains("backward of 'gate' returned a gradient of shape [3, 4] for input 1 of shape [4]"),
        Error);
  }
  {  // the float32 seed of its main()
    Tensor g = g0.detach().clone().set_requires_grad();
    CHECK_THROWS_WITH_AS(
        gate(x0, g).backward(Tensor::ones({3, 4})),
        doctest::Contains("seed float32[3, 4] on cpu does not match result float64[3, 4] on cpu"), Error);
  }
}

TEST_CASE("docs/autograd.md: Adam's step bumps the parameters' versions - a graph saved before it refuses") {
  nn::Linear lin(2, 1);
  nn::Adam opt(lin.parameters(), {.lr = 0.01, .beta1 = 0.9});
  const Tensor x = Tensor::ones({4, 2});
  Tensor first = sum(lin(x));
  first.backward();
  Tensor stale = sum(lin(x));  // saves the weight as it is now
  opt.step();                  // ...which the step then changes
  CHECK_THROWS_WITH_AS(stale.backward(), doctest::Contains("modified in place"), Error);
  opt.zero_grad();
  sum(lin(x)).backward();  // a graph recorded after the step is fine
  CHECK(lin.weight.grad().defined());
}

TEST_CASE("the pages' commands name programs and flags that exist") {
  int commands = 0;
  for (const std::string& page : doc_pages())
    for (const auto& block : code_blocks(page)) {
      const std::string& lang = block.lang;
      if (lang != "sh" && lang != "bash" && !lang.empty()) continue;
      std::istringstream in(block.body);
      for (std::string line; std::getline(in, line);) {
        const std::smatch m = [&] {
          std::smatch r;
          std::regex_search(line, r, std::regex("build/apps/([A-Za-z_0-9]+)((?: [^#]*)?)"));
          return r;
        }();
        if (m.empty()) continue;
        const std::string program = std::string(CG_BINARY_DIR) + "/apps/" + m[1].str();
        CAPTURE(page);
        CAPTURE(line);
        REQUIRE(fs::exists(program));
        const auto [rc, help] = test::run_command(program + " --help 2>&1");
        CHECK(rc == 0);
        const std::string args = m[2].str();
        const std::regex flag("--([a-z_0-9]+)");
        for (auto it = std::sregex_iterator(args.begin(), args.end(), flag); it != std::sregex_iterator();
             ++it) {
          const std::string f = "--" + (*it)[1].str();
          CHECK_MESSAGE(help.find(f) != std::string::npos, f);
        }
        ++commands;
      }
    }
  CHECK(commands >= 3);
}
