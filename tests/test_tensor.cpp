// Tensor basics: factories, shapes, conversions, printing, random numbers, safetensors IO.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "helpers.h"
#include "ops/ops.h"

using namespace cg;

TEST_CASE("factories fill the requested values - shapes and dtypes") {
  Tensor z = Tensor::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.numel() == 6);
  CHECK(z.dtype() == DType::F32);
  CHECK(z.device() == Device::CPU);
  for (float v : z.to_vector<float>()) CHECK(v == 0.0f);
  for (double v : Tensor::ones({4}, DType::F64).to_vector<double>()) CHECK(v == 1.0);
  for (float v : Tensor::full({2, 2}, 2.5).to_vector<float>()) CHECK(v == 2.5f);
  Tensor s = Tensor::full({}, 3.0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == 3.0);
  Tensor fv = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(fv.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(fv.size(-1) == 3);
  CHECK_THROWS_AS(fv.size(2), Error);
  CHECK_THROWS_WITH_AS(Tensor::from_vector(std::vector<float>{1, 2}, {3}),
                       doctest::Contains("do not fill shape [3]"), Error);
  CHECK_THROWS_AS(Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {3}), Error);  // nor overfill it
  CHECK_THROWS_AS(Tensor::empty({2, -1}), Error);
}

TEST_CASE("float64 is refused on cuda with a clear message") {
  CHECK_THROWS_WITH_AS(Tensor::zeros({2}, DType::F64, Device::CUDA),
                       doctest::Contains("float64 tensors live on the CPU only"), Error);
}

TEST_CASE("reshape shares storage and infers -1 - bad reshapes name the shapes") {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = a.reshape({3, -1});
  CHECK(b.shape() == Shape{3, 2});
  CHECK(b.raw() == a.raw());
  CHECK_THROWS_WITH_AS(a.reshape({4, 2}), doctest::Contains("cannot view float32[2, 3] on cpu as [4, 2]"),
                       Error);
  CHECK_THROWS_AS(a.reshape({-1, -1}), Error);
  CHECK_THROWS_AS(a.reshape({-1, 4}), Error);  // 6 is no multiple of 4: -1 cannot be inferred
  CHECK_THROWS_AS(a.reshape({5, -1}), Error);
  CHECK_THROWS_AS(a.reshape({3, -2}), Error);  // only -1 is inferred; other negative sizes are errors
  CHECK_THROWS_AS(a.reshape({-3, 2}), Error);
}

TEST_CASE("dtype conversion round-trips and item() needs one element") {
  Tensor a = Tensor::from_vector(std::vector<double>{0.1, -2.5, 3.0}, {3});
  Tensor f = a.to(DType::F32);
  CHECK(f.dtype() == DType::F32);
  CHECK(f.to_vector<float>()[0] == 0.1f);
  CHECK(f.to(DType::F64).to_vector<double>()[1] == -2.5);
  CHECK_THROWS_WITH_AS(a.item(), doctest::Contains("one-element"), Error);
  CHECK_THROWS_AS(a.data<float>(), Error);
}

TEST_CASE("clone copies - detach shares storage and drops history") {
  Tensor a = Tensor::ones({3}).set_requires_grad();
  Tensor c = a.clone();
  CHECK(c.raw() != a.raw());
  CHECK(c.requires_grad());
  CHECK_FALSE(c.is_leaf());
  Tensor d = (a * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  Tensor e = a.detach();
  CHECK(e.raw() == a.raw());
}

TEST_CASE("operator<< prints values - shape - dtype and autograd state") {
  std::ostringstream os;
  os << Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  CHECK(os.str() == "Tensor([[1, 2],\n [3, 4]], float32[2, 2] on cpu)");
  std::ostringstream os2;
  Tensor x = Tensor::ones({10}).set_requires_grad();
  os2 << x * 3.0;
  CHECK(os2.str() == "Tensor([3, 3, 3, ..., 3, 3, 3], float32[10] on cpu, record=mul_scalar)");
  std::ostringstream os3;
  os3 << Tensor();
  CHECK(os3.str() == "Tensor(undefined)");
}

TEST_CASE("seeded generators repeat - their state round-trips through a string") {
  manual_seed(42);
  const auto a = Tensor::randn({100}).to_vector<float>();
  manual_seed(42);
  const auto b = Tensor::randn({100}).to_vector<float>();
  CHECK(a == b);
  Generator g(5);
  g.normal();
  const std::string st = g.state();
  const double next = g.normal();
  Generator h(999);
  h.set_state(st);
  CHECK(h.normal() == next);
  CHECK_THROWS_AS(h.set_state("not a state"), Error);
  // Rough moments: 100k normals have mean ~0 and variance ~1; uniforms lie in [0, 1).
  Generator m(1);
  double s = 0, s2 = 0;
  for (int i = 0; i < 100000; ++i) {
    const double v = m.normal();
    s += v;
    s2 += v * v;
  }
  CHECK(std::abs(s / 1e5) < 0.02);
  CHECK(std::abs(s2 / 1e5 - 1.0) < 0.02);
  for (float u : Tensor::rand({1000}).to_vector<float>()) CHECK((u >= 0.0f && u < 1.0f));
  for (int i = 0; i < 1000; ++i) CHECK(m.below(7) < 7);
}

TEST_CASE("safetensors round-trip - and clear errors for bad files") {
  const std::string path = std::string(CG_BINARY_DIR) + "/test_roundtrip.safetensors";
  Tensor a = Tensor::randn({2, 3, 4});
  Tensor b = Tensor::randn({5}, DType::F64);
  safetensors::save(path, {{"a", a}, {"layer.b", b}}, {{"note", "hello"}});
  auto c = safetensors::load(path);
  CHECK(c.tensors.size() == 2);
  CHECK(c.tensors.at("a").to_vector<float>() == a.to_vector<float>());
  CHECK(c.tensors.at("layer.b").dtype() == DType::F64);
  CHECK(c.tensors.at("layer.b").to_vector<double>() == b.to_vector<double>());
  CHECK(c.metadata.at("note") == "hello");

  CHECK_THROWS_WITH_AS(safetensors::load(path + ".missing"), doctest::Contains(".missing"), Error);
  // Truncate the file: the error names it.
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 10));
  }
  CHECK_THROWS_WITH_AS(safetensors::load(path), doctest::Contains("test_roundtrip.safetensors"), Error);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "garbage";
  }
  CHECK_THROWS_WITH_AS(safetensors::load(path), doctest::Contains("not a valid safetensors file"), Error);
  std::remove(path.c_str());
}

namespace {
// A safetensors file with this JSON header and `data_bytes` zero bytes after it.
void write_raw_safetensors(const std::string& path, const std::string& header, size_t data_bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header << std::string(data_bytes, '\0');
}
}  // namespace

TEST_CASE("forged safetensors headers are refused before any allocation - naming the file and tensor") {
  const std::string path = std::string(CG_BINARY_DIR) + "/forged.safetensors";
  struct Case {
    const char* header;
    size_t data;
    const char* error;
  };
  for (const Case& c : {
           // 2^96 elements: the product wraps to 0 in int64 and would pass a byte-count check of 0
           Case{R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296,1],"data_offsets":[0,0]}})",
                0, "tensor 'w' has an impossible shape [4294967296, 4294967296, 4294967296, 1]"},
           Case{R"({"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}})", 16,
                "tensor 'w' has an impossible shape [-1, 4]"},
           // 4 TB claimed by a 16-byte tensor: refused by the count, not by a failed allocation
           Case{R"({"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,16]}})", 16,
                "tensor 'w' of shape [1000000, 1000000] needs 4000000000000 bytes but has 16"},
           // more bytes than the shape needs is as malformed as fewer
           Case{R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 16,
                "tensor 'w' of shape [2] needs 8 bytes but has 16"},
           Case{R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,99]}})", 16,
                "data offsets outside the file"},
           Case{R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 4,
                "dtype U8 (supported: F32, F64, F16, BF16, I64, I32)"},
           // each dtype's element size: 2 bytes for F16 and BF16, 4 for I32, 8 for I64
           Case{R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})", 16,
                "tensor 'w' of shape [4] needs 8 bytes but has 16"},
           Case{R"({"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,8]}})", 8,
                "tensor 'w' of shape [2] needs 4 bytes but has 8"},
           Case{R"({"w":{"dtype":"I32","shape":[2],"data_offsets":[0,16]}})", 16,
                "tensor 'w' of shape [2] needs 8 bytes but has 16"},
           Case{R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}})", 4,
                "tensor 'w' of shape [1] needs 8 bytes but has 4"},
           Case{R"({"__metadata__":{"a":{"b":1}}})", 0, "__metadata__ entry 'a' is not a string"},
           Case{R"({"w":{"dtype":"F32","shape":"abc","data_offsets":[0,0]}})", 0,
                "tensor 'w': 'shape' is not a list"},
           Case{R"([1,2])", 0, "not a JSON object"},
           // floats where whole numbers belong (3e80 to an integer is undefined behaviour in C++;
           // found by fuzz_train_state), negative offsets
           Case{R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[3e80,0]}})", 0,
                "tensor 'w': 'data_offsets' holds 3e+80, not a whole number in range"},
           Case{R"({"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,0]}})", 0, "'shape' holds 1e+30"},
           Case{R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 0, "'data_offsets' holds -4"},
       }) {
    CAPTURE(c.header);
    write_raw_safetensors(path, c.header, c.data);
    try {
      safetensors::load(path);
      FAIL("loaded a forged file");
    } catch (const Error& e) {
      const std::string m = e.what();
      CHECK_MESSAGE(m.find("'" + path + "' is not a valid safetensors file") != std::string::npos, m);
      CHECK_MESSAGE(m.find(c.error) != std::string::npos, m);
    }
  }
  // a header length past the end of the file
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10);
  }
  CHECK_THROWS_WITH_AS(safetensors::load(path), doctest::Contains("runs past the end"), Error);
  std::remove(path.c_str());
}

TEST_CASE("shapes whose element count is negative or overflows are errors - not wrapped sizes") {
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({3, 0, 5}) == 0);
  CHECK(shape_numel({int64_t{1} << 31, int64_t{1} << 31}) == int64_t{1} << 62);
  CHECK_THROWS_WITH_AS(shape_numel({int64_t{1} << 32, int64_t{1} << 32}), doctest::Contains("more than 2^63"),
                       Error);
  CHECK_THROWS_WITH_AS(shape_numel({2, -3}), doctest::Contains("[2, -3] has a negative dimension"), Error);
  CHECK_THROWS_WITH_AS(Tensor::empty({int64_t{1} << 40, int64_t{1} << 20}), doctest::Contains("too large"),
                       Error);
}

TEST_CASE("cuda tensors: a clear error where there is no GPU or CUDA build - float64 refused everywhere") {
  // float64 never lives on the GPU: refused before any device is touched, on every machine
  CHECK_THROWS_WITH_AS(Tensor::zeros({2}, DType::F64, Device::CUDA), doctest::Contains("float64"), Error);
  if (cuda_available()) {
    const Tensor t = Tensor::ones({2}, DType::F32, Device::CUDA);
    CHECK(t.is_cuda());
    CHECK(t.to_vector<float>() == std::vector<float>{1.f, 1.f});
    return;
  }
  try {
    Tensor::zeros({2}, DType::F32, Device::CUDA);
    FAIL("a cuda tensor was made on a machine without a GPU");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK((m.find("no CUDA backend") != std::string::npos || m.find("no CUDA device") != std::string::npos));
  }
}
