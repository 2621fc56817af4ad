// The teaching pages cannot drift from the code: every ```cpp block of docs/*.md appears in this
// file (line for line, indentation and runs of blanks aside), where it is compiled and run with CHECKs on the
// numbers the page quotes; the tapes the pages print are compared with tape_string's; the commands of the
// pages name programs and flags that exist.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "autograd/gradcheck.h"
#include "autograd/tape.h"
#include "helpers.h"
#include "ops/ops.h"

using namespace cg;
namespace fs = std::filesystem;

namespace {

// ---- docs/autograd.md, "Writing an op of your own" ----
Tensor cube(const Tensor& x) {
  Tensor y;
  {
    NoGradGuard no_grad;  // the forward's own multiplications leave no records: cube's stands for them
    y = x * x * x;
  }
  record("cube", {x}, y, [xs = Saved(x, "cube")](const Tensor& dy, const Need& need) {
    if (!need[0]) return Grads{Tensor()};
    const Tensor& v = xs.get();  // throws if x was written in place since
    return Grads{dy * v * v * 3.0};
  });
  return y;
}

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

// The fenced blocks of a markdown file: (language, text).
std::vector<std::pair<std::string, std::string>> code_blocks(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(test::read_file(path));
  std::string line, lang, body;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      if (inside) {
        out.emplace_back(lang, body);
        body.clear();
      } else {
        lang = line.substr(3);
      }
      inside = !inside;
    } else if (inside) {
      body += line + "\n";
    }
  }
  return out;
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

}  // namespace

TEST_CASE("every C++ block of the teaching pages is in this file - compiled and run below") {
  const auto self = stripped_lines(test::read_file(std::string(CG_SOURCE_DIR) + "/tests/test_docs.cpp"));
  int blocks = 0;
  for (const std::string& page : doc_pages())
    for (const auto& block : code_blocks(page)) {
      const std::string& body = block.second;  // a plain reference: CAPTURE cannot name a binding
      if (block.first != "cpp") continue;
      CAPTURE(page);
      CAPTURE(body);
      CHECK(contains_lines(self, stripped_lines(body)));
      ++blocks;
    }
  CHECK(blocks >= 5);
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
  const std::string tape = tape_string(sum(tanh(x * w)));  // the same three ops again, before backward
  const std::string page = test::read_file(std::string(CG_SOURCE_DIR) + "/docs/autograd.md");
  // the record numbers are global: the page shows them counted from 1
  const std::regex seq("#([0-9]+)");
  std::string renumbered;
  std::map<std::string, int> first;
  std::smatch mt;
  std::string rest = tape;
  int base = -1;
  while (std::regex_search(rest, mt, seq)) {
    const int n = std::stoi(mt[1]);
    if (base < 0) base = n - 3;  // the newest record comes first: #3
    renumbered += mt.prefix().str() + "#" + std::to_string(n - base);
    rest = mt.suffix();
  }
  renumbered += rest;
  CHECK_MESSAGE(page.find(renumbered) != std::string::npos, renumbered);
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
  const std::regex seq("#([0-9]+)");
  std::smatch mt;
  std::string renumbered, rest = tape;
  int base = -1;
  while (std::regex_search(rest, mt, seq)) {
    const int n = std::stoi(mt[1]);
    if (base < 0) base = n - 7;
    renumbered += mt.prefix().str() + "#" + std::to_string(n - base);
    rest = mt.suffix();
  }
  renumbered += rest;
  const std::string page = test::read_file(std::string(CG_SOURCE_DIR) + "/docs/autograd.md");
  CHECK_MESSAGE(page.find(renumbered) != std::string::npos, renumbered);
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
  CHECK_FALSE(gradcheck([&](const std::vector<Tensor>& v) { return wrong(v[0]); }, {a}).ok);
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

TEST_CASE("the pages' commands name programs and flags that exist") {
  int commands = 0;
  for (const std::string& page : doc_pages())
    for (const auto& block : code_blocks(page)) {
      const std::string& lang = block.first;
      if (lang != "sh" && lang != "bash" && !lang.empty()) continue;
      std::istringstream in(block.second);
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
