// The CUT ops' GPU kernels against the CPU on the same inputs (written without a GPU at hand:
// compiled, never run yet): depthwise convolution and its transpose, replication padding, narrow,
// permute, bmm on cuBLAS, log-softmax, cross-entropy, index_rows' gather and both scatter-add
// kernels, L2 normalisation, and CUT's compositions of them at a layer's real shape.
#include <functional>

#include "../helpers.h"
#include "ops/ops.h"

using namespace cg;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs f on the CPU and on the GPU from the same float32 inputs (those in `grad` requiring
// gradients), then backward from the same random seed; checks the output and every gradient.
void compare(const Fn& f, const std::vector<Tensor>& inputs, const std::vector<bool>& grad, double atol,
             double rtol, Generator& g) {
  std::vector<Tensor> c, d;
  for (size_t i = 0; i < inputs.size(); ++i) {
    c.push_back(inputs[i].clone().detach().set_requires_grad(grad[i]));
    d.push_back(inputs[i].to(Device::CUDA).detach().set_requires_grad(grad[i]));
  }
  Tensor yc = f(c), yd = f(d);
  REQUIRE(yd.is_cuda());
  CHECK_CLOSE(yd.to(Device::CPU), yc, atol, rtol);
  const Tensor seed = Tensor::randn(yc.shape(), DType::F32, Device::CPU, &g);
  yc.backward(seed);
  yd.backward(seed.to(Device::CUDA));
  for (size_t i = 0; i < inputs.size(); ++i) {
    CAPTURE(i);
    if (grad[i]) CHECK_CLOSE(d[i].grad().to(Device::CPU), c[i].grad(), atol, rtol);
  }
}

Tensor randn(const Shape& s, Generator& g, double scale = 1.0) {
  return (Tensor::randn(s, DType::F32, Device::CPU, &g) * scale).detach();
}

Tensor indices(const std::vector<float>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

// CUT's blur filter (C, 1, k, k): binomial row outer product, summed to `scale`.
Tensor blur(int64_t channels, int k, double scale) {
  std::vector<float> row(static_cast<size_t>(k), 1.f);
  for (int i = 1; i < k; ++i) row[static_cast<size_t>(i)] = row[static_cast<size_t>(i - 1)] * (k - i) / i;
  float total = 0;
  for (float a : row) total += a;
  std::vector<float> f;
  for (int64_t c = 0; c < channels; ++c)
    for (float a : row)
      for (float b : row) f.push_back(static_cast<float>(a * b / (total * total) * scale));
  return Tensor::from_vector(f, {channels, 1, k, k});
}

}  // namespace

TEST_CASE("cuda depthwise convolution and its transpose match the cpu - inputs and filters") {
  Generator g(361);
  struct C {
    Shape x;
    int64_t k, stride, pad, outpad;
  };
  // CUT's blurs (3x3 stride 2; the transposed 4x4 stride 2 padding 2) at a layer's width, and odd cases
  for (const C& c : {C{{1, 64, 66, 66}, 3, 2, 0, 0}, C{{1, 32, 34, 34}, 4, 2, 2, 0},
                     C{{2, 5, 11, 9}, 3, 3, 1, 2}, C{{2, 3, 7, 8}, 4, 2, 1, 1}}) {
    CAPTURE(shape_str(c.x));
    CAPTURE(c.k);
    const int64_t s = c.stride, p = c.pad, op = c.outpad;
    const Tensor x = randn(c.x, g), w = randn({c.x[1], 1, c.k, c.k}, g, 0.3);
    // a tap sums at most 16 products; the filter's gradient sums N P Q of them (in double on both)
    compare([=](auto& v) { return depthwise_conv2d(v[0], v[1], s, p); }, {x, w}, {true, true}, 1e-5, 1e-4, g);
    compare([=](auto& v) { return depthwise_conv_transpose2d(v[0], v[1], s, p, op); }, {x, w}, {true, true},
            1e-5, 1e-4, g);
  }
}

TEST_CASE("cuda replication padding - narrow and permute match the cpu - the copies bit for bit") {
  Generator g(362);
  const Tensor x = randn({2, 3, 9, 7}, g);
  struct Pads {
    int64_t l, r, t, b;
  };
  for (const Pads& p : {Pads{1, 1, 1, 1}, Pads{3, 0, 2, 5}, Pads{10, 2, 0, 12}}) {
    const int64_t l = p.l, r = p.r, t = p.t, b = p.b;
    CAPTURE(l);
    // copies, and sums of at most a border strip: the same additions in the same order
    compare([=](auto& v) { return replication_pad2d(v[0], l, r, t, b); }, {x}, {true}, 1e-6, 1e-6, g);
  }
  compare([](auto& v) { return replication_pad2d(v[0], 2, 3, 4, 1); }, {randn({1, 2, 1, 1}, g)}, {true}, 1e-6,
          1e-6, g);
  compare([](auto& v) { return narrow(narrow(v[0], 2, 1, 8), 3, 1, 6); }, {x}, {true}, 0, 0, g);
  compare([](auto& v) { return narrow(v[0], 1, 2, 1); }, {x}, {true}, 0, 0, g);
  compare([](auto& v) { return permute(v[0], {0, 2, 3, 1}); }, {x}, {true}, 0, 0, g);
  compare([](auto& v) { return transpose(v[0], 0, 3); }, {x}, {true}, 0, 0, g);
}

TEST_CASE("cuda bmm on cuBLAS matches the cpu - every transposition of its backward") {
  Generator g(363);
  struct Dims {
    int64_t B, M, K, N;
  };
  for (const Dims& d : {Dims{256, 1, 64, 1}, Dims{2, 256, 64, 256}, Dims{3, 5, 7, 2}}) {
    const int64_t B = d.B, M = d.M, K = d.K, N = d.N;
    CAPTURE(B);
    CAPTURE(M);
    compare([](auto& v) { return bmm(v[0], v[1]); }, {randn({B, M, K}, g), randn({B, K, N}, g)}, {true, true},
            1e-4, 1e-4, g);
  }
  CHECK_CLOSE(bmm(Tensor::ones({2, 3, 0}, DType::F32, Device::CUDA),
                  Tensor::ones({2, 0, 4}, DType::F32, Device::CUDA))
                  .to(Device::CPU),
              Tensor::zeros({2, 3, 4}), 0, 0);
}

TEST_CASE("cuda log_softmax and cross_entropy match the cpu") {
  Generator g(364);
  compare([](auto& v) { return log_softmax(v[0]); }, {randn({300, 257}, g, 5.0)}, {true}, 1e-5, 1e-5, g);
  compare([](auto& v) { return log_softmax(v[0]); }, {randn({2, 3, 1000}, g, 5.0)}, {true}, 1e-5, 1e-5, g);
  std::vector<float> t;
  for (int i = 0; i < 300; ++i) t.push_back(static_cast<float>((i * 37) % 257));
  const Tensor logits = randn({300, 257}, g, 14.0), target = indices(t);
  compare([&](auto& v) { return cross_entropy_rows(v[0], v[1]); }, {logits, target}, {true, false}, 1e-5,
          1e-5, g);
  compare([&](auto& v) { return cross_entropy(v[0], v[1]); }, {logits, Tensor::zeros({300})}, {true, false},
          1e-6, 1e-5, g);
}

TEST_CASE("cuda index_rows gathers and scatter-adds as the cpu - both scatter kernels - bit for bit") {
  Generator g(365);
  // fewer rows read than the table holds (the first-occurrence kernel), a row read three times
  const Tensor table = randn({4096, 16}, g);
  compare([](auto& v) { return index_rows(v[0], v[1]); }, {table, indices({7, 4095, 7, 0, 300, 7})},
          {true, false}, 0, 0, g);
  // more reads than rows (one thread per table element scanning the indices)
  std::vector<float> many;
  for (int i = 0; i < 50; ++i) many.push_back(static_cast<float>((i * 7) % 9));
  compare([&](auto& v) { return index_rows(v[0], v[1]); }, {randn({9, 5}, g), indices(many)}, {true, false},
          0, 0, g);
  CHECK_THROWS_WITH_AS(index_rows(table.to(Device::CUDA), indices({4096}).to(Device::CUDA)),
                       doctest::Contains("out of range for 4096 rows"), Error);
}

TEST_CASE("cuda CUT compositions match the cpu: Downsample - Upsample - sampled normalised rows - PatchNCE") {
  Generator g(366);
  const Tensor x = randn({1, 32, 34, 34}, g);
  compare([](auto& v) { return depthwise_conv2d(reflection_pad2d(v[0], 1), v[1], 2); }, {x, blur(32, 3, 1.0)},
          {true, false}, 1e-5, 1e-4, g);
  compare(
      [](auto& v) {
        const Tensor y =
            depthwise_conv_transpose2d(replication_pad2d(v[0], 1), v[1], 2, 2);  // (N, C, 2H + 2, ...)
        return narrow(narrow(y, 2, 1, y.size(2) - 2), 3, 1, y.size(3) - 2);
      },
      {x, blur(32, 4, 4.0)}, {true, false}, 1e-5, 1e-4, g);
  // 256 rows sampled from a (2, 64, 16, 16) feature map, normalised; then PatchNCE on two such sets
  std::vector<float> rows;
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 128; ++i) rows.push_back(static_cast<float>(b * 256 + (i * 11) % 256));
  const Tensor idx = indices(rows);
  auto sample = [idx](const Tensor& feat) {
    return l2_normalize(index_rows(permute(feat, {0, 2, 3, 1}).reshape({512, 64}), idx.to(feat.device())));
  };
  compare([&](auto& v) { return sample(v[0]); }, {randn({2, 64, 16, 16}, g)}, {true}, 1e-6, 1e-5, g);
  compare(
      [&](auto& v) {
        const Tensor q = sample(v[0]), k = sample(v[1]);  // (256, 64)
        const Tensor l_pos = bmm(q.reshape({256, 1, 64}), k.reshape({256, 64, 1})).reshape({256, 1});
        const Tensor l_neg =
            bmm(q.reshape({2, 128, 64}), transpose(k.reshape({2, 128, 64}), 2, 1)).reshape({256, 128});
        const Tensor target = Tensor::zeros({256}, DType::F32, q.device());
        return cross_entropy(cat1({l_pos, l_neg}) / 0.07, target);
      },
      {randn({2, 64, 16, 16}, g), randn({2, 64, 16, 16}, g)}, {true, true}, 1e-5, 1e-4, g);
}
