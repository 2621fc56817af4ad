// The ops CUT needs below its models: depthwise convolution and its transpose (the antialiasing
// blurs), replication padding, narrow, permute, bmm, log-softmax, cross-entropy, row gathering and
// L2 normalisation. Float64 gradchecks at awkward shapes, independent float64 references where one
// exists (the depthwise ops against the dense convolutions with a block-diagonal weight, bmm
// against broadcasting), and PyTorch fixtures (tests/fixtures/make_cut_ops.py), alone and in the
// official code's compositions: Downsample, Upsample, PatchSampleF's sampling and PatchNCE.
#include <fstream>
#include <functional>
#include <map>

#include "autograd/gradcheck.h"
#include "cuda/device_api.h"
#include "helpers.h"
#include "ops/ops.h"

using namespace cg;
using Fn = cg::test::OpFn;
using cg::test::param;

namespace {

void expect_gradcheck(const Fn& f, const std::vector<Tensor>& inputs) {
  const auto r = gradcheck(f, inputs);
  CHECK_MESSAGE(r.ok, r.report);
  CHECK(r.checked > 0);
}

Tensor index_tensor(const std::vector<double>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

// The dense (C, C, R, S) weight with w's filter c at [c, c] and zeros elsewhere: the convolution
// with it is the depthwise one (a reference computed by other kernels).
Tensor block_diagonal(const Tensor& w) {
  const int64_t C = w.size(0), RS = w.size(2) * w.size(3);
  std::vector<double> dense(static_cast<size_t>(C * C * RS), 0.0);
  const std::vector<double> taps = w.to_vector<double>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t t = 0; t < RS; ++t)
      dense[static_cast<size_t>((c * C + c) * RS + t)] = taps[static_cast<size_t>(c * RS + t)];
  return Tensor::from_vector(dense, {C, C, w.size(2), w.size(3)}).to(w.dtype());
}

// The inverse: the diagonal blocks [c, c] of a dense (C, C, R, S) weight as (C, 1, R, S).
Tensor diagonal_blocks(const Tensor& dense) {
  const int64_t C = dense.size(0), RS = dense.size(2) * dense.size(3);
  const std::vector<double> all = dense.to_vector<double>();
  std::vector<double> diag;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t t = 0; t < RS; ++t) diag.push_back(all[static_cast<size_t>((c * C + c) * RS + t)]);
  return Tensor::from_vector(diag, {C, 1, dense.size(2), dense.size(3)}).to(dense.dtype());
}

// CUT's blur (networks.py's get_filter): the outer product of a binomial row of length k, summed to
// 1, times `scale`, one copy per channel: (C, 1, k, k).
Tensor blur_filter(int64_t channels, int k, double scale) {
  std::vector<double> row(static_cast<size_t>(k), 1.0);
  for (int i = 1; i < k; ++i) row[static_cast<size_t>(i)] = row[static_cast<size_t>(i - 1)] * (k - i) / i;
  double total = 0;
  for (double a : row) total += a;
  std::vector<double> f;
  for (int64_t c = 0; c < channels; ++c)
    for (double a : row)
      for (double b : row) f.push_back(a * b / (total * total) * scale);
  return Tensor::from_vector(f, {channels, 1, k, k});
}

// networks.py's Downsample(pad_type, filt_size = k): pad (k - 1) / 2 before and the rest after, blur
// at stride 2.
Tensor downsample(const Tensor& x, const Tensor& filt, bool reflect) {
  const int64_t k = filt.size(2), lo = (k - 1) / 2, hi = k - 1 - lo;
  const Tensor p = reflect ? reflection_pad2d(x, lo, hi, lo, hi) : replication_pad2d(x, lo, hi, lo, hi);
  return depthwise_conv2d(p, filt, 2);
}

// networks.py's Upsample(filt_size = k): replication pad 1, the transposed blur at stride 2 with
// padding 1 + (k - 1) / 2, then [1:, 1:], and [:-1, :-1] for an even k: (N, C, 2H, 2W).
Tensor upsample(const Tensor& x, const Tensor& filt) {
  const int64_t k = filt.size(2);
  const Tensor y = depthwise_conv_transpose2d(replication_pad2d(x, 1), filt, 2, 1 + (k - 1) / 2);
  const int64_t keep_h = y.size(2) - 1 - (k % 2 == 0), keep_w = y.size(3) - 1 - (k % 2 == 0);
  return narrow(narrow(y, 2, 1, keep_h), 3, 1, keep_w);
}

// PatchSampleF's sampling without its MLP: feat (B, C, H, W) -> (B P, C), the rows at positions
// patch_id (P) of every image, L2-normalised.
Tensor patch_sample(const Tensor& feat, const Tensor& patch_id) {
  const int64_t B = feat.size(0), C = feat.size(1), HW = feat.size(2) * feat.size(3);
  std::vector<double> rows;  // row b HW + id of the (B HW, C) matrix
  for (int64_t b = 0; b < B; ++b)
    for (double id : patch_id.to_vector<double>()) rows.push_back(static_cast<double>(b * HW) + id);
  const Tensor idx = index_tensor(rows).to(feat.dtype());
  return l2_normalize(index_rows(permute(feat, {0, 2, 3, 1}).reshape({B * HW, C}), idx));
}

// PatchNCELoss (negatives from the same image only) on L2-normalised q and k (B P, D): per-row loss.
Tensor patchnce_rows(const Tensor& q_raw, const Tensor& k_raw, int64_t batch, double tau) {
  const Tensor q = l2_normalize(q_raw), k = l2_normalize(k_raw);
  const int64_t n = q.size(0), dim = q.size(1), np = n / batch;
  const Tensor l_pos = bmm(q.reshape({n, 1, dim}), k.reshape({n, dim, 1})).reshape({n, 1});
  Tensor l_neg =
      bmm(q.reshape({batch, np, dim}), transpose(k.reshape({batch, np, dim}), 2, 1));  // (B, np, np)
  std::vector<double> eye(static_cast<size_t>(np * np), 0.0);
  for (int64_t i = 0; i < np; ++i) eye[static_cast<size_t>(i * np + i)] = 1.0;
  const Tensor mask = Tensor::from_vector(eye, {1, np, np}).to(q.dtype());
  // masked_fill(diagonal, -10): x 1 + 0 off the diagonal and x 0 - 10 on it, exactly
  l_neg = (l_neg * (1.0 - mask) + mask * -10.0).reshape({n, np});
  const Tensor logits = cat1({l_pos, l_neg}) / tau;  // (B P, 1 + np)
  return cross_entropy_rows(logits, Tensor::zeros({n}, q.dtype()));
}

const std::map<std::string, Fn>& fixture_ops() {
  static const std::map<std::string, Fn> m = {
      {"dw_conv3_s2", [](auto& v) { return depthwise_conv2d(v[0], v[1], 2); }},
      {"dw_conv_rect_p1", [](auto& v) { return depthwise_conv2d(v[0], v[1], 1, 1); }},
      {"dw_conv4_s3_p2", [](auto& v) { return depthwise_conv2d(v[0], v[1], 3, 2); }},
      {"dw_convT4_s2_p2", [](auto& v) { return depthwise_conv_transpose2d(v[0], v[1], 2, 2); }},
      {"dw_convT3_s2_p1_op1", [](auto& v) { return depthwise_conv_transpose2d(v[0], v[1], 2, 1, 1); }},
      {"downsample_reflect3", [](auto& v) { return downsample(v[0], v[1], true); }},
      {"downsample_replicate4", [](auto& v) { return downsample(v[0], v[1], false); }},
      {"upsample_replicate4", [](auto& v) { return upsample(v[0], v[1]); }},
      {"upsample_replicate3", [](auto& v) { return upsample(v[0], v[1]); }},
      {"replication_pad_1", [](auto& v) { return replication_pad2d(v[0], 1); }},
      {"replication_pad_lrtb", [](auto& v) { return replication_pad2d(v[0], 2, 0, 1, 3); }},
      {"replication_pad_wide", [](auto& v) { return replication_pad2d(v[0], 4, 1, 0, 5); }},
      {"narrow_hw", [](auto& v) { return narrow(narrow(v[0], 2, 1, 4), 3, 1, 5); }},
      {"narrow_crop", [](auto& v) { return narrow(narrow(v[0], -2, 0, 4), -1, 0, 5); }},
      {"narrow_dim1", [](auto& v) { return narrow(v[0], 1, 2, 3); }},
      {"narrow_dim0", [](auto& v) { return narrow(v[0], 0, 1, 1); }},
      {"permute_nhwc",
       [](auto& v) {
         return permute(v[0], {0, 2, 3, 1}).reshape({2, 20, 3});
       }},
      {"transpose_21", [](auto& v) { return transpose(v[0], 2, 1); }},
      {"bmm", [](auto& v) { return bmm(v[0], v[1]); }},
      {"bmm_lpos",
       [](auto& v) {
         return bmm(v[0].reshape({7, 1, 8}), v[1].reshape({7, 8, 1})).reshape({7, 1});
       }},
      {"log_softmax", [](auto& v) { return log_softmax(v[0]); }},
      {"log_softmax_3d", [](auto& v) { return log_softmax(v[0]); }},
      {"cross_entropy_rows", [](auto& v) { return cross_entropy_rows(v[0], v[1]); }},
      {"cross_entropy_mean", [](auto& v) { return cross_entropy(v[0], v[1]); }},
      {"cross_entropy_large", [](auto& v) { return cross_entropy_rows(v[0], v[1]); }},
      {"index_rows", [](auto& v) { return index_rows(v[0], v[1]); }},
      {"l2_normalize", [](auto& v) { return l2_normalize(v[0]); }},
      {"patch_sample", [](auto& v) { return patch_sample(v[0], v[1]); }},
      {"patchnce", [](auto& v) { return patchnce_rows(v[0], v[1], 2, 0.07); }},
  };
  return m;
}

}  // namespace

TEST_CASE("depthwise conv2d and its transpose pass gradcheck - input and filter - odd sizes and strides") {
  Generator g(341);
  struct C {
    Shape x;
    int64_t R, S, stride, pad, outpad;
  };
  for (const C& c :
       {C{{2, 3, 7, 6}, 3, 3, 1, 1, 0}, C{{1, 2, 9, 8}, 3, 3, 2, 0, 1}, C{{2, 2, 8, 9}, 4, 4, 2, 2, 1},
        C{{1, 3, 6, 7}, 3, 2, 3, 1, 2}, C{{1, 1, 5, 5}, 1, 1, 1, 0, 0}, C{{1, 2, 4, 5}, 4, 4, 2, 2, 0}}) {
    CAPTURE(shape_str(c.x));
    CAPTURE(c.R);
    CAPTURE(c.stride);
    CAPTURE(c.pad);
    const int64_t s = c.stride, p = c.pad, op = c.outpad;
    Tensor x = param(c.x, g), w = param({c.x[1], 1, c.R, c.S}, g, 0.5);
    expect_gradcheck([=](auto& v) { return depthwise_conv2d(v[0], v[1], s, p); }, {x, w});
    expect_gradcheck([=](auto& v) { return depthwise_conv_transpose2d(v[0], v[1], s, p, op); }, {x, w});
  }
}

TEST_CASE("depthwise conv2d and its transpose equal the dense convolutions with a block-diagonal weight") {
  // float64, where the two computations agree to rounding: every tap, stride and padding of the
  // direct kernels against cpu/conv2d.cpp's GEMM path, gradients included
  Generator g(342);
  for (int64_t stride : {1, 2, 3})
    for (int64_t pad : {0, 1, 2}) {
      CAPTURE(stride);
      CAPTURE(pad);
      const Tensor x0 = test::randn64({2, 5, 11, 10}, g), w0 = test::randn64({5, 1, 4, 3}, g);
      const Tensor dense_w = block_diagonal(w0);
      for (bool transposed : {false, true}) {
        CAPTURE(transposed);
        const int64_t op = transposed ? stride - 1 : 0;
        Tensor x = x0.clone().set_requires_grad(), xr = x0.clone().set_requires_grad();
        Tensor w = w0.clone().set_requires_grad(), wr = dense_w.clone().set_requires_grad();
        Tensor y = transposed ? depthwise_conv_transpose2d(x, w, stride, pad, op)
                              : depthwise_conv2d(x, w, stride, pad);
        Tensor yr = transposed ? conv_transpose2d(xr, wr, Tensor(), stride, pad, op)
                               : conv2d(xr, wr, Tensor(), stride, pad);
        CHECK_CLOSE(y, yr, 1e-12, 1e-12);
        const Tensor seed = test::randn64(y.shape(), g);
        y.backward(seed);
        yr.backward(seed);
        CHECK_CLOSE(x.grad(), xr.grad(), 1e-12, 1e-12);
        // the dense weight's gradient on its diagonal blocks is the depthwise filter's gradient
        CHECK_CLOSE(w.grad(), diagonal_blocks(wr.grad()), 1e-12, 1e-12);
      }
    }
}

TEST_CASE("CUT's Downsample and Upsample compositions pass gradcheck - Upsample doubles the size") {
  Generator g(343);
  for (int k : {3, 4}) {
    CAPTURE(k);
    const Tensor fd = blur_filter(3, k, 1.0), fu = blur_filter(3, k, 4.0);
    for (bool reflect : {true, false})
      expect_gradcheck([&](auto& v) { return downsample(v[0], fd, reflect); }, {param({2, 3, 7, 8}, g)});
    expect_gradcheck([&](auto& v) { return upsample(v[0], fu); }, {param({1, 3, 4, 5}, g)});
    CHECK(upsample(Tensor::zeros({1, 3, 4, 5}, DType::F64), fu).shape() == Shape{1, 3, 8, 10});
  }
  // the blur of a constant image is that constant (the filter sums to 1; Upsample's to 4 over its
  // four phases), edges included, thanks to the padding
  const Tensor c = Tensor::full({1, 2, 6, 6}, 0.75, DType::F64);
  CHECK_CLOSE(downsample(c, blur_filter(2, 3, 1.0), true), Tensor::full({1, 2, 3, 3}, 0.75, DType::F64),
              1e-15, 0);
  CHECK_CLOSE(upsample(c, blur_filter(2, 4, 4.0)), Tensor::full({1, 2, 12, 12}, 0.75, DType::F64), 1e-15, 0);
}

TEST_CASE("replication_pad2d - narrow - permute and transpose pass gradcheck") {
  Generator g(344);
  expect_gradcheck([](auto& v) { return replication_pad2d(v[0], 1); }, {param({2, 2, 4, 5}, g)});
  expect_gradcheck([](auto& v) { return replication_pad2d(v[0], 3, 0, 2, 5); }, {param({1, 2, 3, 4}, g)});
  // pads wider than the plane, and a 1x1 plane: every output copies its one pixel
  expect_gradcheck([](auto& v) { return replication_pad2d(v[0], 4, 6, 5, 3); }, {param({1, 2, 2, 3}, g)});
  expect_gradcheck([](auto& v) { return replication_pad2d(v[0], 2, 1, 0, 3); }, {param({1, 1, 1, 1}, g)});
  const Tensor x = param({3, 4, 5, 6}, g);
  for (int dim = -4; dim < 4; ++dim) {
    CAPTURE(dim);
    const int64_t size = x.size(dim);
    expect_gradcheck([=](auto& v) { return narrow(v[0], dim, 1, size - 2); }, {x});
    expect_gradcheck([=](auto& v) { return narrow(v[0], dim, size - 1, 1); }, {x});
  }
  expect_gradcheck([](auto& v) { return narrow(narrow(v[0], 2, 1, 3), 3, 1, 4); }, {x});
  expect_gradcheck([](auto& v) { return permute(v[0], {0, 2, 3, 1}); }, {x});
  expect_gradcheck([](auto& v) { return permute(v[0], {3, 1, 0, 2}); }, {x});
  expect_gradcheck([](auto& v) { return transpose(v[0], -1, 1); }, {x});
  // values: a permutation moves values, the inverse permutation puts them back
  CHECK(test::identical(permute(permute(x, {0, 2, 3, 1}), {0, 3, 1, 2}), x.detach()));
  const Tensor t = Tensor::from_vector(std::vector<double>{0, 1, 2, 3, 4, 5}, {2, 3});
  CHECK(transpose(t, 0, 1).to_vector<double>() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(narrow(t, 1, 1, 2).to_vector<double>() == std::vector<double>{1, 2, 4, 5});
  const Tensor r = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {1, 1, 2, 2});
  CHECK(replication_pad2d(r, 1, 0, 0, 1).to_vector<double>() ==
        std::vector<double>{1, 1, 2, 3, 3, 4, 3, 3, 4});
}

// The libraries mapped into this process, as /proc/self/maps lists them.
static std::string mapped_files() {
  std::ifstream in("/proc/self/maps");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

#if CG_HAVE_CUDA  // a CPU-only build has no cuBLAS at all
TEST_CASE("a CUDA build opens cuBLAS at its first use - not at start-up") {
  // Linked, libcublas and libcublasLt cost every process about 200 MiB resident at start-up (CPU
  // runs and --help included); only the GPU's bmm needs them.
  CHECK(mapped_files().find("libcublas") == std::string::npos);
  std::string path;
  try {
    path = cuda::cublas_library();  // opens it without touching a GPU
  } catch (const Error& e) {
    FAIL(e.what());
  }
  CHECK(path.find("libcublas.so") != std::string::npos);
  CHECK(mapped_files().find("libcublas") != std::string::npos);
  CHECK(cuda::cublas_library() == path);  // opened once
}
#endif

TEST_CASE("bmm passes gradcheck and equals the broadcast sum of products - small and split batches") {
  Generator g(345);
  expect_gradcheck([](auto& v) { return bmm(v[0], v[1]); }, {param({3, 4, 5}, g), param({3, 5, 2}, g)});
  expect_gradcheck([](auto& v) { return bmm(v[0], v[1]); }, {param({2, 1, 6}, g), param({2, 6, 1}, g)});
  expect_gradcheck([](auto& v) { return bmm(v[0], v[1]); }, {param({1, 7, 3}, g), param({1, 3, 9}, g)});
  // Every path of the CPU kernel, gradients included (their transposed operands): PatchNCE's 256
  // one-by-one products of length 64 and 5 small products (plain loops, the batch split over
  // threads), 4 medium products (the packed GEMM, the batch split) and one 256 x 64 x 256 product
  // (the GEMM split over threads). The reference multiplies by broadcasting and sums.
  struct Dims {
    int64_t B, M, K, N;
  };
  for (const Dims& d :
       {Dims{256, 1, 64, 1}, Dims{5, 33, 17, 9}, Dims{4, 40, 30, 50}, Dims{1, 256, 64, 256}}) {
    const int64_t B = d.B, M = d.M, K = d.K, N = d.N;
    CAPTURE(B);
    CAPTURE(M);
    for (DType dt : {DType::F64, DType::F32}) {
      CAPTURE(dtype_name(dt));
      // float32: sums of at most 256 products in two orders
      const double tol = dt == DType::F64 ? 1e-12 : 1e-4;
      const Tensor a0 = Tensor::randn({B, M, K}, dt, Device::CPU, &g),
                   b0 = Tensor::randn({B, K, N}, dt, Device::CPU, &g);
      Tensor a = a0.clone().set_requires_grad(), b = b0.clone().set_requires_grad();
      Tensor ar = a0.clone().set_requires_grad(), br = b0.clone().set_requires_grad();
      const Tensor c = bmm(a, b), ref = sum(ar.reshape({B, M, K, 1}) * br.reshape({B, 1, K, N}), {2});
      CHECK_CLOSE(c, ref, tol, tol);
      const Tensor seed = Tensor::randn(c.shape(), dt, Device::CPU, &g);
      c.backward(seed);
      ref.backward(seed);
      CHECK_CLOSE(a.grad(), ar.grad(), tol, tol);
      CHECK_CLOSE(b.grad(), br.grad(), tol, tol);
    }
  }
  // an empty inner dim gives zeros, as torch.bmm
  CHECK_CLOSE(bmm(Tensor::ones({2, 3, 0}), Tensor::ones({2, 0, 4})), Tensor::zeros({2, 3, 4}), 0, 0);
}

TEST_CASE("log_softmax - cross_entropy - index_rows and l2_normalize pass gradcheck") {
  Generator g(346);
  expect_gradcheck([](auto& v) { return log_softmax(v[0]); }, {param({4, 7}, g, 3.0)});
  expect_gradcheck([](auto& v) { return log_softmax(v[0]); }, {param({2, 3, 5}, g, 3.0)});
  const Tensor t = index_tensor({0, 4, 2, 0, 6});
  expect_gradcheck([&](auto& v) { return cross_entropy_rows(v[0], t); }, {param({5, 7}, g, 3.0)});
  expect_gradcheck([&](auto& v) { return cross_entropy(v[0], t); }, {param({5, 7}, g, 3.0)});
  // a row named twice gets both gradients, a row never named gets 0
  const Tensor idx = index_tensor({4, 1, 4, 0, 2});
  expect_gradcheck([&](auto& v) { return index_rows(v[0], idx); }, {param({6, 3}, g)});
  expect_gradcheck([](auto& v) { return l2_normalize(v[0]); }, {param({5, 4}, g)});
  expect_gradcheck([](auto& v) { return l2_normalize(v[0], 0); }, {param({5, 4}, g)});
  expect_gradcheck([](auto& v) { return patchnce_rows(v[0], v[1], 2, 0.07); },
                   {param({8, 5}, g), param({8, 5}, g)});
  expect_gradcheck(
      [](auto& v) {
        return patch_sample(v[0], index_tensor({5, 0, 11}));
      },
      {param({2, 3, 3, 4}, g)});

  // the values: log_softmax's rows exponentiate to 1; cross-entropy picks -log_softmax at the target
  const Tensor x = test::randn64({5, 7}, g) * 10.0;
  const std::vector<double> ls = log_softmax(x).to_vector<double>(),
                            ce = cross_entropy_rows(x, t).to_vector<double>();
  for (int r = 0; r < 5; ++r) {
    double total = 0;
    for (int j = 0; j < 7; ++j) total += std::exp(ls[static_cast<size_t>(r * 7 + j)]);
    CHECK(total == doctest::Approx(1.0).epsilon(1e-14));
    CHECK(ce[static_cast<size_t>(r)] ==
          -ls[static_cast<size_t>(r * 7 + static_cast<int>(t.to_vector<double>()[static_cast<size_t>(r)]))]);
  }
  // huge logits neither overflow nor lose the answer
  const Tensor big = Tensor::from_vector(std::vector<double>{1000, 0, -1000, 1000}, {2, 2});
  CHECK_CLOSE(cross_entropy_rows(big, index_tensor({1, 0})),
              Tensor::from_vector(std::vector<double>{1000, 2000}, {2}), 1e-9, 0);
  // l2_normalize: unit rows (up to eps), and the official eps added to the norm, not under the root
  const std::vector<double> n =
      l2_normalize(Tensor::from_vector(std::vector<double>{3, 4}, {1, 2})).to_vector<double>();
  CHECK(n[0] == 3.0 / (5.0 + 1e-7));
  CHECK(n[1] == 4.0 / (5.0 + 1e-7));
}

TEST_CASE(
    "the CUT ops match PyTorch alone and as the official Downsample - Upsample - PatchSampleF and PatchNCE "
    "(float32 fixtures)") {
  const auto fx = test::fixture("cut_ops.safetensors");
  // float32 sums of at most a few dozen O(1) terms (PatchNCE's logits reach 1/0.07 = 14, the large
  // cross-entropy case 100): 2e-5 absolute and 1e-4 relative, far below any real bug (a wrong tap,
  // index or row moves values by O(0.1))
  const int cases = test::check_fixture_cases(fx, fixture_ops(), 2e-5, 1e-4);
  CHECK(cases == 29);
}

TEST_CASE("depthwise convolutions round as the other convolutions under --amp's bfloat16 autocast") {
  Generator g(347);
  const Tensor x = Tensor::randn({1, 3, 8, 8}, DType::F32, Device::CPU, &g),
               w = Tensor::randn({3, 1, 3, 3}, DType::F32, Device::CPU, &g);
  CHECK(test::off_bf16_grid(depthwise_conv2d(x, w, 2, 1)) > 0);
  Bf16Autocast amp;
  CHECK(test::off_bf16_grid(depthwise_conv2d(x, w, 2, 1)) == 0);
  CHECK(test::off_bf16_grid(depthwise_conv_transpose2d(x, w, 2, 1)) == 0);
  // the operands were rounded first: the same as convolving the rounded values exactly
  CHECK_CLOSE(depthwise_conv2d(x, w, 2, 1), round_bf16(depthwise_conv2d(round_bf16(x), round_bf16(w), 2, 1)),
              0, 0);
}

TEST_CASE("the CUT ops' errors name the shapes and indices") {
  const Tensor x = Tensor::zeros({1, 3, 6, 6});
  CHECK_THROWS_WITH_AS(depthwise_conv2d(x, Tensor::zeros({3, 2, 3, 3})),
                       doctest::Contains("weight (C, 1, R, S) with the same C, got input float32[1, 3, 6, 6] "
                                         "on cpu and weight [3, 2, 3, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(depthwise_conv2d(x, Tensor::zeros({4, 1, 3, 3})),
                       doctest::Contains("weight [4, 1, 3, 3]"), Error);
  CHECK_THROWS_WITH_AS(depthwise_conv2d(x, Tensor::zeros({3, 1, 7, 7})),
                       doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_WITH_AS(depthwise_conv_transpose2d(x, Tensor::zeros({3, 1, 3, 3}), 2, 1, 2),
                       doctest::Contains("output_padding < stride"), Error);
  CHECK_THROWS_WITH_AS(depthwise_conv2d(x, Tensor::zeros({3, 1, 3, 3}, DType::F64)),
                       doctest::Contains("depthwise_conv2d"), Error);
  CHECK_THROWS_WITH_AS(replication_pad2d(x, -1, 0, 0, 0), doctest::Contains("must be >= 0"), Error);
  CHECK_THROWS_WITH_AS(replication_pad2d(Tensor::zeros({3, 6, 6}), 1), doctest::Contains("4-D"), Error);
  CHECK_THROWS_WITH_AS(narrow(x, 2, 4, 3),
                       doctest::Contains("[4, 7) is out of range for dim 2 of float32[1, 3, 6, 6]"), Error);
  CHECK_THROWS_WITH_AS(narrow(x, 4, 0, 1), doctest::Contains("dim 4 out of range"), Error);
  CHECK_THROWS_WITH_AS(permute(x, {0, 2, 2, 1}), doctest::Contains("given twice"), Error);
  CHECK_THROWS_WITH_AS(permute(x, {0, 2, 1}), doctest::Contains("3 dims given"), Error);
  CHECK_THROWS_WITH_AS(
      bmm(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 5, 6})),
      doctest::Contains("expected (B, M, K) and (B, K, N), got float32[2, 3, 4] on cpu and float32[2, 5, 6]"),
      Error);
  CHECK_THROWS_WITH_AS(bmm(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 6})),
                       doctest::Contains("(B, K, N)"), Error);
  const Tensor logits = Tensor::zeros({2, 9});
  CHECK_THROWS_WITH_AS(cross_entropy_rows(logits, Tensor::from_vector(std::vector<float>{0, 9}, {2})),
                       doctest::Contains("index 9.000000 at position 1 is out of range for 9 classes"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy_rows(logits, Tensor::from_vector(std::vector<float>{0.5f, 1}, {2})),
                       doctest::Contains("position 0"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy_rows(logits, Tensor::zeros({3})), doctest::Contains("targets (N)"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy_rows(logits, Tensor::zeros({2}, DType::F64)),
                       doctest::Contains("dtype and device"), Error);
  CHECK_THROWS_WITH_AS(
      index_rows(Tensor::zeros({10, 4}), Tensor::from_vector(std::vector<float>{3, 10}, {2})),
      doctest::Contains("index 10.000000 at position 1 is out of range for 10 rows"), Error);
  CHECK_THROWS_WITH_AS(index_rows(x, Tensor::zeros({1})), doctest::Contains("x must be (N, C)"), Error);
  CHECK_THROWS_WITH_AS(log_softmax(Tensor::zeros({3, 0})), doctest::Contains("at least one value"), Error);
}
