// The convolution stack: float64 gradchecks at awkward shapes, PyTorch fixtures at CycleGAN's layer
// shapes scaled down, dropout's statistics.
#include <functional>
#include <map>

#include "autograd/gradcheck.h"
#include "helpers.h"
#include "ops/ops.h"

using namespace cg;
using Fn = cg::test::OpFn;
using cg::test::param;

namespace {
Tensor resblock(const std::vector<Tensor>& v) {
  Tensor h = relu(instance_norm2d(conv2d(reflection_pad2d(v[0], 1), v[1], v[2])));
  return v[0] + instance_norm2d(conv2d(reflection_pad2d(h, 1), v[3], v[4]));
}

const std::map<std::string, Fn>& fixture_ops() {
  static const std::map<std::string, Fn> m = {
      {"pad3_conv7", [](auto& v) { return conv2d(reflection_pad2d(v[0], 3), v[1], v[2]); }},
      {"conv3_s2_p1", [](auto& v) { return conv2d(v[0], v[1], v[2], 2, 1); }},
      {"conv4_s2_p1", [](auto& v) { return conv2d(v[0], v[1], v[2], 2, 1); }},
      {"conv4_s1_p1", [](auto& v) { return conv2d(v[0], v[1], v[2], 1, 1); }},
      {"convT3_s2_p1_op1", [](auto& v) { return conv_transpose2d(v[0], v[1], v[2], 2, 1, 1); }},
      {"conv3_nobias", [](auto& v) { return conv2d(v[0], v[1], Tensor(), 1, 1); }},
      {"instance_norm", [](auto& v) { return instance_norm2d(v[0]); }},
      {"reflection_pad_1", [](auto& v) { return reflection_pad2d(v[0], 1); }},
      {"reflection_pad_lrtb", [](auto& v) { return reflection_pad2d(v[0], 2, 1, 3, 0); }},
      {"bce_with_logits", [](auto& v) { return bce_with_logits(v[0], v[1]); }},
      {"resblock", resblock},
      {"instance_norm_relu", [](auto& v) { return instance_norm_act2d(v[0], 0.0); }},
      {"instance_norm_lrelu", [](auto& v) { return instance_norm_act2d(v[0], 0.2); }},
  };
  return m;
}

void expect_gradcheck(const Fn& f, const std::vector<Tensor>& inputs) {
  const auto r = gradcheck(f, inputs);
  CHECK_MESSAGE(r.ok, r.report);
}
}  // namespace

TEST_CASE(
    "conv2d passes gradcheck at odd sizes - stride 1 to 3 - non-square kernels - batch 2 - with and without "
    "bias") {
  Generator g(21);
  // (N, C, H, W), (K, R, S), stride, padding
  struct C {
    Shape x;
    int64_t K, R, S, stride, pad;
  };
  for (const C& c :
       {C{{2, 3, 7, 6}, 4, 3, 3, 1, 1}, C{{1, 2, 9, 8}, 3, 3, 3, 2, 1}, C{{2, 2, 8, 9}, 2, 4, 4, 2, 1},
        C{{1, 3, 6, 7}, 2, 4, 4, 1, 1}, C{{1, 2, 9, 9}, 2, 7, 7, 1, 0}, C{{1, 2, 5, 5}, 3, 1, 1, 1, 0},
        C{{2, 1, 7, 5}, 2, 3, 2, 3, 2}, C{{1, 2, 6, 7}, 3, 3, 1, 1, 1}, C{{1, 2, 7, 6}, 2, 2, 3, 1, 0}}) {
    CAPTURE(shape_str(c.x));
    CAPTURE(c.R);
    CAPTURE(c.S);
    CAPTURE(c.stride);
    Tensor x = param(c.x, g), w = param({c.K, c.x[1], c.R, c.S}, g, 0.3), b = param({c.K}, g);
    const int64_t s = c.stride, p = c.pad;
    expect_gradcheck([=](auto& v) { return conv2d(v[0], v[1], v[2], s, p); }, {x, w, b});
    expect_gradcheck([=](auto& v) { return conv2d(v[0], v[1], Tensor(), s, p); }, {x, w});
  }
}

TEST_CASE("conv_transpose2d passes gradcheck including output_padding 1") {
  Generator g(22);
  struct C {
    Shape x;
    int64_t Cout, R, stride, pad, outpad;
  };
  for (const C& c :
       {C{{2, 3, 4, 5}, 2, 3, 2, 1, 1}, C{{1, 2, 5, 3}, 3, 3, 2, 1, 0}, C{{1, 2, 4, 4}, 2, 3, 1, 1, 0},
        C{{2, 2, 3, 3}, 2, 4, 2, 1, 0}, C{{1, 3, 3, 4}, 2, 3, 3, 0, 2}}) {
    CAPTURE(shape_str(c.x));
    CAPTURE(c.stride);
    CAPTURE(c.outpad);
    Tensor x = param(c.x, g), w = param({c.x[1], c.Cout, c.R, c.R}, g, 0.3), b = param({c.Cout}, g);
    const int64_t s = c.stride, p = c.pad, op = c.outpad;
    expect_gradcheck([=](auto& v) { return conv_transpose2d(v[0], v[1], v[2], s, p, op); }, {x, w, b});
  }
}

TEST_CASE("reflection_pad2d - instance_norm2d - dropout and bce_with_logits pass gradcheck") {
  Generator g(23);
  expect_gradcheck([](auto& v) { return reflection_pad2d(v[0], 1); }, {param({2, 2, 4, 5}, g)});
  expect_gradcheck([](auto& v) { return reflection_pad2d(v[0], 3); }, {param({1, 2, 5, 4}, g)});
  expect_gradcheck([](auto& v) { return reflection_pad2d(v[0], 2, 0, 1, 3); }, {param({1, 1, 4, 6}, g)});
  expect_gradcheck([](auto& v) { return instance_norm2d(v[0]); }, {param({2, 3, 5, 4}, g)});
  expect_gradcheck([](auto& v) { return instance_norm2d(v[0] * 4.0 + 3.0); }, {param({1, 2, 3, 3}, g)});
  // fused with ReLU / LeakyReLU (for these inputs no normalised value lies within eps of the kink at 0)
  for (double slope : {0.0, 0.2}) {
    CAPTURE(slope);
    expect_gradcheck([slope](auto& v) { return instance_norm_act2d(v[0], slope); }, {param({2, 3, 4, 5}, g)});
  }
  // the fused op equals the composition
  Tensor xin = param({2, 3, 4, 5}, g);
  CHECK_CLOSE(instance_norm_act2d(xin, 0.2), leaky_relu(instance_norm2d(xin), 0.2), 1e-12, 1e-12);
  expect_gradcheck(
      [](auto& v) {
        Generator fixed(99);  // the same mask for every evaluation
        return dropout(v[0], 0.5, true, &fixed);
      },
      {param({2, 3, 4, 4}, g)});
  Tensor target = (Tensor::rand({2, 1, 5, 5}, DType::F64, Device::CPU, &g) * 1.0).detach();
  expect_gradcheck([](auto& v) { return bce_with_logits(v[0], v[1]); },
                   {param({2, 1, 5, 5}, g, 3.0), target});
  expect_gradcheck([](auto& v) { return bce_with_logits(v[0], v[1]); },
                   {param({1, 1, 3, 3}, g), param({1, 1, 3, 3}, g)});
}

TEST_CASE("the convolution stack matches PyTorch (float32 fixtures)") {
  const auto fx = test::fixture("conv.safetensors");
  // float32 with sums of up to a few hundred products of O(1) terms, accumulated in another
  // order than PyTorch's: 2e-5 absolute on O(1) outputs is ~100 ulps of slack, far below any
  // real bug (a wrong tap or index moves values by O(0.1)).
  const int cases = test::check_fixture_cases(fx, fixture_ops(), 2e-5, 1e-4);
  CHECK(cases == 13);
}

TEST_CASE("instance norm refuses a single value per channel - as PyTorch - and accepts two") {
  CHECK_THROWS_WITH_AS(instance_norm2d(Tensor::ones({2, 3, 1, 1})),
                       doctest::Contains("need more than one value per channel, got"), Error);
  CHECK_NOTHROW(instance_norm2d(Tensor::ones({2, 3, 1, 2})));
}

TEST_CASE("conv shape errors name the shapes") {
  Tensor x = Tensor::zeros({1, 3, 8, 8});
  CHECK_THROWS_WITH_AS(conv2d(x, Tensor::zeros({4, 2, 3, 3}), Tensor()),
                       doctest::Contains("has 3 channels but weight [4, 2, 3, 3] expects 2"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({5})),
                       doctest::Contains("should have shape [4]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(Tensor::zeros({3, 8, 8}), Tensor::zeros({4, 3, 3, 3}), Tensor()),
                       doctest::Contains("4-D input"), Error);
  CHECK_THROWS_WITH_AS(conv2d(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({4, 3, 7, 7}), Tensor()),
                       doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(x, Tensor::zeros({3, 2, 3, 3}), Tensor(), 2, 1, 2),
                       doctest::Contains("output_padding < stride"), Error);
  CHECK_THROWS_WITH_AS(reflection_pad2d(Tensor::zeros({1, 1, 3, 3}), 3), doctest::Contains("smaller than"),
                       Error);
  // each side on its own, as PyTorch: a pad equal to its dimension (3 wide, 4 high) is refused, one
  // less is not
  for (int side = 0; side < 4; ++side) {
    CAPTURE(side);
    int64_t p[4] = {0, 0, 0, 0};
    p[side] = side < 2 ? 3 : 4;
    CHECK_THROWS_WITH_AS(reflection_pad2d(Tensor::zeros({1, 1, 4, 3}), p[0], p[1], p[2], p[3]),
                         doctest::Contains("smaller than"), Error);
    p[side] -= 1;
    CHECK_NOTHROW(reflection_pad2d(Tensor::zeros({1, 1, 4, 3}), p[0], p[1], p[2], p[3]));
  }
  CHECK_THROWS_WITH_AS(instance_norm2d(Tensor::zeros({1, 3, 8})), doctest::Contains("4-D"), Error);
}

TEST_CASE("transposed conv output sizes follow PyTorch - CycleGAN upsampling doubles H and W") {
  Tensor x = Tensor::zeros({1, 8, 16, 16});
  CHECK(conv_transpose2d(x, Tensor::zeros({8, 4, 3, 3}), Tensor::zeros({4}), 2, 1, 1).shape() ==
        Shape{1, 4, 32, 32});
  CHECK(conv_transpose2d(x, Tensor::zeros({8, 4, 3, 3}), Tensor(), 2, 1, 0).shape() == Shape{1, 4, 31, 31});
  CHECK(conv2d(Tensor::zeros({1, 3, 256, 256}), Tensor::zeros({64, 3, 4, 4}), Tensor(), 2, 1).shape() ==
        Shape{1, 64, 128, 128});
}

TEST_CASE("dropout keeps about 1-p of the values scaled by 1/(1-p) and is the identity in eval mode") {
  Tensor x = Tensor::ones({100000});
  Generator g(4);
  const auto v = dropout(x, 0.5, true, &g).to_vector<float>();
  int64_t kept = 0;
  for (float e : v) {
    CHECK((e == 0.0f || e == 2.0f));
    kept += e != 0.0f;
  }
  CHECK(std::abs(static_cast<double>(kept) / 1e5 - 0.5) < 0.01);
  // p = 0.2: 80% kept, each scaled by 1.25 (at p = 0.5 a rule that swaps kept and dropped looks the same)
  int64_t kept2 = 0;
  for (float e : dropout(x, 0.2, true, &g).to_vector<float>()) {
    CHECK((e == 0.0f || e == 1.25f));
    kept2 += e != 0.0f;
  }
  CHECK(std::abs(static_cast<double>(kept2) / 1e5 - 0.8) < 4 * std::sqrt(0.8 * 0.2 / 1e5));  // 4 std devs
  Tensor same = dropout(x, 0.5, false);
  CHECK(same.raw() == x.raw());
  Generator g1(8), g2(8);
  CHECK(dropout(x, 0.3, true, &g1).to_vector<float>() == dropout(x, 0.3, true, &g2).to_vector<float>());
}

TEST_CASE("float32 convolution paths (GEMM - narrow direct kernels - col2im) agree with float64") {
  // float64 always takes the portable path; float32 takes the AVX-512 GEMM, the narrow kernels
  // (1-4 output channels, or 1-4 input channels for the gradient of the input) or col2im.
  Generator g(31);
  struct C {
    Shape x;
    int64_t K, R, stride, pad;
  };
  for (const C& c :
       {C{{2, 3, 17, 19}, 8, 7, 1, 3}, C{{2, 8, 15, 13}, 3, 7, 1, 0}, C{{2, 6, 12, 11}, 1, 4, 1, 1},
        C{{2, 2, 9, 9}, 2, 3, 1, 1}, C{{2, 5, 16, 16}, 7, 3, 2, 1}, C{{1, 20, 10, 12}, 18, 3, 1, 1}}) {
    CAPTURE(shape_str(c.x));
    CAPTURE(c.K);
    Tensor x64 = test::randn64(c.x, g), w64 = test::randn64({c.K, c.x[1], c.R, c.R}, g) * 0.2,
           b64 = test::randn64({c.K}, g);
    std::vector<Tensor> results[2];
    for (int f = 0; f < 2; ++f) {
      const DType dt = f == 0 ? DType::F64 : DType::F32;
      Tensor x = x64.to(dt).detach().set_requires_grad(), w = w64.to(dt).detach().set_requires_grad(),
             b = b64.to(dt).detach().set_requires_grad();
      Tensor y = conv2d(x, w, b, c.stride, c.pad);
      Generator sg(5);
      y.backward(Tensor::randn(y.shape(), dt, Device::CPU, &sg));
      results[f] = {y.to(DType::F64), x.grad().to(DType::F64), w.grad().to(DType::F64),
                    b.grad().to(DType::F64)};
    }
    for (size_t i = 0; i < 4; ++i) {
      CAPTURE(i);
      CHECK_CLOSE(results[1][i], results[0][i], 1e-4, 1e-4);
    }
  }
}

TEST_CASE("round_bf16 rounds to the nearest bfloat16 - ties to even - as PyTorch's .bfloat16()") {
  // expected values printed by torch.tensor(v).bfloat16().float()
  const std::vector<float> in = {0.1f,  1.00390625f, 1.01171875f, 1.0039072036743164f, 3.4028234663852886e38f,
                                 -2.5f, 1e-40f,      65504.0f};
  const std::vector<float> want = {0.10009765625f,         1.0f,    1.015625f, 1.0078125f, INFINITY, -2.5f,
                                   9.183549615799121e-41f, 65536.0f};
  const auto got = round_bf16(Tensor::from_vector(in, {8})).to_vector<float>();
  for (size_t i = 0; i < in.size(); ++i) {
    CAPTURE(in[i]);
    CHECK(got[i] == want[i]);
  }
  CHECK(std::isnan(round_bf16(Tensor::full({1}, NAN)).item()));
  // a cast: the gradient passes through, itself rounded
  Tensor x = Tensor::from_vector(std::vector<float>{1.0f, 2.0f}, {2}).set_requires_grad();
  round_bf16(x).backward(Tensor::from_vector(std::vector<float>{0.1f, 1.00390625f}, {2}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{0.10009765625f, 1.0f});
}

TEST_CASE("Bf16Autocast: both convolutions compute on bfloat16 operands - forward and backward") {
  Generator g(21);
  const Tensor x0 = Tensor::randn({2, 3, 9, 9}, DType::F32, Device::CPU, &g),
               w0 = Tensor::randn({4, 3, 3, 3}, DType::F32, Device::CPU, &g),
               wt0 = Tensor::randn({3, 4, 3, 3}, DType::F32, Device::CPU, &g),
               b0 = Tensor::randn({4}, DType::F32, Device::CPU, &g),
               dy = Tensor::randn({2, 4, 9, 9}, DType::F32, Device::CPU, &g);
  using Conv = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>;
  const std::vector<std::pair<const char*, Conv>> convs = {
      {"conv2d", [](const Tensor& x, const Tensor& w, const Tensor& b) { return conv2d(x, w, b, 1, 1); }},
      {"conv_transpose2d",
       [](const Tensor& x, const Tensor& w, const Tensor& b) { return conv_transpose2d(x, w, b, 1, 1); }}};
  for (const auto& entry : convs) {  // (no structured binding: clang 14 cannot capture one)
    const char* name = entry.first;
    const Conv& conv = entry.second;
    CAPTURE(name);
    const bool t = std::string(name) == "conv_transpose2d";
    const Tensor& wsrc = t ? wt0 : w0;
    // under autocast
    Tensor x = x0.clone().set_requires_grad(), w = wsrc.clone().set_requires_grad(),
           b = b0.clone().set_requires_grad();
    Tensor y;
    {
      const Bf16Autocast amp;
      y = conv(x, w, b);
    }
    y.backward(dy);
    // the same written out: rounded operands, rounded output, exact fp32 convolution in between
    Tensor xe = x0.clone().set_requires_grad(), we = wsrc.clone().set_requires_grad(),
           be = b0.clone().set_requires_grad();
    const Tensor ye = round_bf16(conv(round_bf16(xe), round_bf16(we), round_bf16(be)));
    ye.backward(dy);
    CHECK(test::identical(y, ye));
    CHECK(test::identical(x.grad(), xe.grad()));
    CHECK(test::identical(w.grad(), we.grad()));
    CHECK(test::identical(b.grad(), be.grad()));
    CHECK(test::off_bf16_grid(y) == 0);
    CHECK(test::off_bf16_grid(w.grad()) == 0);
    CHECK(test::off_bf16_grid(x.grad()) == 0);
    // and it is not the fp32 convolution
    CHECK_FALSE(test::identical(y, conv(x0, wsrc, b0)));
  }
  // float64 and code outside the guard are left alone
  const Bf16Autocast amp;
  const Tensor x64 = x0.to(DType::F64), w64 = w0.to(DType::F64);
  const Tensor y64 = conv2d(x64, w64, Tensor(), 1, 1);
  Tensor y64_exact;
  {
    const Bf16Autocast off(false);
    y64_exact = conv2d(x64, w64, Tensor(), 1, 1);
  }
  CHECK(y64.to_vector<double>() == y64_exact.to_vector<double>());
}
