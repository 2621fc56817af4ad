// The CPU GEMM against a plain triple loop: every micro-kernel (M = 1..4 pick the narrow ones),
// edges in every dimension, transposed views, and the implicit im2col sources against explicit ones.
#include <cmath>

#include "cpu/conv_narrow.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "helpers.h"

using namespace cg;
using namespace cg::cpu;

namespace {
std::vector<float> random_vec(size_t n, Generator& g) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(g.normal());
  return v;
}

// Largest |got - want| / (1 + |want|) over the matrix.
double worst_error(const std::vector<float>& got, const std::vector<double>& want) {
  double w = 0;
  for (size_t i = 0; i < got.size(); ++i)
    w = std::max(w, std::abs(got[i] - want[i]) / (1 + std::abs(want[i])));
  return w;
}
}  // namespace

TEST_CASE("float GEMM equals the triple loop for every kernel shape - edge and transpose") {
  Generator g(12);
  for (int64_t M : {1, 2, 3, 4, 5, 13, 14, 15, 29, 64})
    for (int64_t N : {1, 17, 32, 33, 100, 257})
      for (int64_t K : {1, 7, 256, 300}) {
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(K);
        const auto a = random_vec(static_cast<size_t>(M * K), g),
                   b = random_vec(static_cast<size_t>(K * N), g);
        std::vector<double> want(static_cast<size_t>(M * N), 0.0);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j)
            for (int64_t k = 0; k < K; ++k) want[i * N + j] += double(a[i * K + k]) * b[k * N + j];
        std::vector<float> c(static_cast<size_t>(M * N), 1.0f);
        gemm<float>(M, N, K, {a.data(), K, 1}, {b.data(), N, 1}, c.data(), N, false);
        CHECK(worst_error(c, want) < 1e-4);
        // B^T stored (N, K) and read through strides; C accumulated onto 1s
        std::vector<float> bt(static_cast<size_t>(K * N));
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < N; ++j) bt[j * K + k] = b[k * N + j];
        std::vector<float> c2(static_cast<size_t>(M * N), 1.0f);
        gemm<float>(M, N, K, {a.data(), K, 1}, {bt.data(), 1, K}, c2.data(), N, true);
        for (double& x : want) x += 1.0;
        CHECK(worst_error(c2, want) < 1e-4);
      }
}

TEST_CASE("implicit im2col GEMMs equal products with the explicit column matrix") {
  Generator g(13);
  struct C {
    int64_t C, H, W, K, R, stride, pad;
  };
  for (const C& s : {C{3, 9, 11, 3, 3, 1, 1}, C{2, 10, 9, 5, 4, 2, 1}, C{4, 8, 8, 1, 3, 2, 0},
                     C{1, 7, 12, 14, 7, 1, 3}, C{3, 6, 5, 2, 1, 1, 0}}) {
    kern::ConvGeom geo{1, s.C, s.H, s.W, s.K, s.R, s.R, s.stride, s.pad};
    geo.P = (s.H + 2 * s.pad - s.R) / s.stride + 1;
    geo.Q = (s.W + 2 * s.pad - s.R) / s.stride + 1;
    CAPTURE(s.C);
    CAPTURE(s.R);
    CAPTURE(s.stride);
    const int64_t CRS = s.C * s.R * s.R, PQ = geo.P * geo.Q;
    const auto x = random_vec(static_cast<size_t>(s.C * s.H * s.W), g);
    std::vector<float> col(static_cast<size_t>(CRS * PQ), 0.0f);  // explicit im2col
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t t = 0; t < s.R; ++t)
          for (int64_t p = 0; p < geo.P; ++p)
            for (int64_t q = 0; q < geo.Q; ++q) {
              const int64_t ih = p * s.stride - s.pad + r, iw = q * s.stride - s.pad + t;
              if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W)
                col[((c * s.R + r) * s.R + t) * PQ + p * geo.Q + q] = x[(c * s.H + ih) * s.W + iw];
            }
    const auto w = random_vec(static_cast<size_t>(s.K * CRS), g);
    std::vector<float> y(static_cast<size_t>(s.K * PQ)), ref(static_cast<size_t>(s.K * PQ));
    gemm_im2col<float>(s.K, {w.data(), CRS, 1}, x.data(), geo, y.data(), PQ, false);
    gemm<float>(s.K, PQ, CRS, {w.data(), CRS, 1}, {col.data(), PQ, 1}, ref.data(), PQ, false);
    CHECK(worst_error(y, std::vector<double>(ref.begin(), ref.end())) < 1e-5);
    const auto dy = random_vec(static_cast<size_t>(s.K * PQ), g);
    std::vector<float> dw(static_cast<size_t>(s.K * CRS)), dref(static_cast<size_t>(s.K * CRS));
    gemm_im2col_t<float>(s.K, {dy.data(), PQ, 1}, x.data(), geo, dw.data(), CRS, false);
    gemm<float>(s.K, CRS, PQ, {dy.data(), PQ, 1}, {col.data(), 1, PQ}, dref.data(), CRS, false);
    CHECK(worst_error(dw, std::vector<double>(dref.begin(), dref.end())) < 1e-5);
  }
}

TEST_CASE(
    "implicit im2col GEMM adds each row its own bias - past the first block of rows - float and double") {
  // 700 rows: more than one MC block of every kernel (336 rows for AVX-512 and AVX2, 128 portable);
  // 5x5 runs on one thread, 16x16 splits the rows between threads
  Generator g(14);
  for (int64_t HW : {5, 16}) {
    CAPTURE(HW);
    const int64_t M = 700, C = 2, R = 3;
    kern::ConvGeom geo{1, C, HW, HW, M, R, R, 1, 1};
    geo.P = geo.Q = HW;
    const int64_t CRS = C * R * R, PQ = HW * HW;
    const auto x = random_vec(static_cast<size_t>(C * HW * HW), g),
               w = random_vec(static_cast<size_t>(M * CRS), g), bias = random_vec(static_cast<size_t>(M), g);
    std::vector<float> y(static_cast<size_t>(M * PQ)), plain(static_cast<size_t>(M * PQ));
    gemm_im2col<float>(M, {w.data(), CRS, 1}, x.data(), geo, y.data(), PQ, false, bias.data());
    gemm_im2col<float>(M, {w.data(), CRS, 1}, x.data(), geo, plain.data(), PQ, false);
    std::vector<double> want(plain.begin(), plain.end());
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < PQ; ++j) want[static_cast<size_t>(i * PQ + j)] += bias[static_cast<size_t>(i)];
    CHECK(worst_error(y, want) < 1e-6);
    const std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(bias.begin(), bias.end());
    std::vector<double> yd(static_cast<size_t>(M * PQ)), plaind(static_cast<size_t>(M * PQ));
    gemm_im2col<double>(M, {wd.data(), CRS, 1}, xd.data(), geo, yd.data(), PQ, false, bd.data());
    gemm_im2col<double>(M, {wd.data(), CRS, 1}, xd.data(), geo, plaind.data(), PQ, false);
    double worst = 0;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < PQ; ++j) {
        const size_t k = static_cast<size_t>(i * PQ + j);
        worst = std::max(worst, std::abs(yd[k] - (plaind[k] + bd[static_cast<size_t>(i)])));
      }
    CHECK(worst < 1e-12);
  }
}

TEST_CASE(
    "convolutions with 1-4 output channels equal a plain loop - through the narrow kernels with AVX-512") {
  // With AVX-512 the public entry takes the narrow direct kernels for these shapes (checked), and
  // they are also called directly; with AVX2 or the portable kernels (CG_CPU_ISA, ctest's cpu_isa_*
  // runs) it takes the GEMM path. Either way the results are checked against the loop.
  Generator g(14);
  int cases = 0;
  for (int64_t K : {1, 2, 3, 4})
    for (int64_t S : {3, 4, 7})
      for (int64_t pad : {0, 1, 3}) {
        // odd sizes, batch 2, a width past one 64-column block
        kern::ConvGeom geo{2, 5, 9, 71, K, S, S, 1, pad};
        geo.P = geo.H + 2 * pad - S + 1;
        geo.Q = geo.W + 2 * pad - S + 1;
        if (geo.P < 1) continue;
        CAPTURE(K);
        CAPTURE(S);
        CAPTURE(pad);
        const bool narrow = narrow_conv_applies(DType::F32, geo);
        REQUIRE(narrow == (std::string(gemm_isa()) == "avx512"));
        const int64_t CRS = geo.C * S * S, PQ = geo.P * geo.Q, HW = geo.H * geo.W;
        const auto x = random_vec(static_cast<size_t>(geo.N * geo.C * HW), g);
        const auto w = random_vec(static_cast<size_t>(K * CRS), g), b = random_vec(static_cast<size_t>(K), g);
        const auto dy = random_vec(static_cast<size_t>(geo.N * K * PQ), g);
        // the loop, in double: y (N, K, P, Q), dw (K, C, S, S), db (K)
        std::vector<double> y_ref(static_cast<size_t>(geo.N * K * PQ)),
            dw_ref(static_cast<size_t>(K * CRS), 0.0), db_ref(static_cast<size_t>(K), 0.0);
        for (int64_t n = 0; n < geo.N; ++n)
          for (int64_t k = 0; k < K; ++k)
            for (int64_t p = 0; p < geo.P; ++p)
              for (int64_t q = 0; q < geo.Q; ++q) {
                const size_t o = static_cast<size_t>((n * K + k) * PQ + p * geo.Q + q);
                double acc = b[static_cast<size_t>(k)];
                db_ref[static_cast<size_t>(k)] += dy[o];
                for (int64_t c = 0; c < geo.C; ++c)
                  for (int64_t r = 0; r < S; ++r)
                    for (int64_t t = 0; t < S; ++t) {
                      const int64_t ih = p + r - pad, iw = q + t - pad;
                      if (ih < 0 || ih >= geo.H || iw < 0 || iw >= geo.W) continue;
                      const size_t xi = static_cast<size_t>((n * geo.C + c) * HW + ih * geo.W + iw);
                      const size_t wi = static_cast<size_t>(((k * geo.C + c) * S + r) * S + t);
                      acc += static_cast<double>(w[wi]) * x[xi];
                      dw_ref[wi] += static_cast<double>(dy[o]) * x[xi];
                    }
                y_ref[o] = acc;
              }
        std::vector<float> y(y_ref.size()), dw(dw_ref.size()), db(static_cast<size_t>(K));
        conv2d_forward(DType::F32, x.data(), w.data(), b.data(), y.data(), geo);
        conv2d_backward_weight(DType::F32, x.data(), dy.data(), dw.data(), db.data(), geo);
        CHECK(worst_error(y, y_ref) < 1e-4);
        CHECK(worst_error(dw, dw_ref) < 1e-4);
        CHECK(worst_error(db, db_ref) < 1e-5);
        if (narrow) {
          std::vector<float> y_narrow(y.size());
          narrow_conv_forward(x.data(), w.data(), b.data(), y_narrow.data(), geo);
          CHECK(worst_error(y_narrow, y_ref) < 1e-4);
        }
        ++cases;
      }
  CHECK(cases == 4 * 3 * 3);  // every (K, S, pad): the loop above must not skip them all
}
