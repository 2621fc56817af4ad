// Which cuDNN layout and math mode runs CycleGAN's convolutions fastest on this GPU: for every
// convolution of the default generator and discriminator at one image size and batch, and for each
// direction (forward, backward-data, backward-filter), the fastest algorithm cudnnFind reports and
// its re-timed median, with activations in NCHW or NHWC, filters in KCRS or KRSC, and TF32 tensor
// cores allowed or not (FMA only). Also the cost of one NCHW <-> NHWC transform of each activation.
// This measurement chose the GPU layout (docs/DESIGN.md); it is not part of the framework.
//   ./build/bench/cudnn_layouts [size=256] [batch=1]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cudnn_common.h"

namespace {

using cudnn_bench::Layer;
using cudnn_bench::time_ms;

struct Result {
  float ms = -1;
  int algo = -1;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  bool deterministic = false;
};

cudnnHandle_t h;
void* ws;
constexpr size_t kWs = size_t(512) << 20;

// dir 0 fwd, 1 bwd data, 2 bwd filter. Returns the best result for the given math type filter.
Result run(const Layer& L, int N, int dir, bool nhwc, bool krsc, cudnnMathType_t math, float* x, float* w,
           float* y) {
  const int P = L.P();
  cudnnTensorDescriptor_t xd, yd;
  cudnnFilterDescriptor_t wd;
  cudnnConvolutionDescriptor_t cd;
  DN(cudnnCreateTensorDescriptor(&xd));
  DN(cudnnCreateTensorDescriptor(&yd));
  DN(cudnnCreateFilterDescriptor(&wd));
  DN(cudnnCreateConvolutionDescriptor(&cd));
  const cudnnTensorFormat_t tf = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  DN(cudnnSetTensor4dDescriptor(xd, tf, CUDNN_DATA_FLOAT, N, L.C, L.H, L.H));
  DN(cudnnSetTensor4dDescriptor(yd, tf, CUDNN_DATA_FLOAT, N, L.K, P, P));
  DN(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, krsc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, L.K, L.C,
                                L.R, L.R));
  DN(cudnnSetConvolution2dDescriptor(cd, L.pad, L.pad, L.stride, L.stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                     CUDNN_DATA_FLOAT));
  DN(cudnnSetConvolutionMathType(cd, math));
  Result best;
  int n = 0;
  const float one = 1, zero = 0;
  auto consider = [&](auto* perf, auto exec) {
    for (int k = 0; k < n; ++k) {
      if (perf[k].status != CUDNN_STATUS_SUCCESS || perf[k].memory > kWs) continue;
      // FMA runs must not take tensor-op results
      if (math == CUDNN_FMA_MATH && perf[k].mathType != CUDNN_FMA_MATH &&
          perf[k].mathType != CUDNN_DEFAULT_MATH)
        continue;
      DN(cudnnSetConvolutionMathType(cd, perf[k].mathType));
      const float ms = time_ms([&] { exec(perf[k].algo, perf[k].memory); }, 15);
      if (best.ms < 0 || ms < best.ms) {
        best = {ms, static_cast<int>(perf[k].algo), perf[k].mathType,
                perf[k].determinism == CUDNN_DETERMINISTIC};
      }
    }
  };
  if (dir == 0) {
    cudnnConvolutionFwdAlgoPerf_t perf[16];
    DN(cudnnFindConvolutionForwardAlgorithmEx(h, xd, x, wd, w, cd, yd, y, 16, &n, perf, ws, kWs));
    consider(perf, [&](cudnnConvolutionFwdAlgo_t a, size_t m) {
      DN(cudnnConvolutionForward(h, &one, xd, x, wd, w, cd, a, ws, m, &zero, yd, y));
    });
  } else if (dir == 1) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[16];
    DN(cudnnFindConvolutionBackwardDataAlgorithmEx(h, wd, w, yd, y, cd, xd, x, 16, &n, perf, ws, kWs));
    consider(perf, [&](cudnnConvolutionBwdDataAlgo_t a, size_t m) {
      DN(cudnnConvolutionBackwardData(h, &one, wd, w, yd, y, cd, a, ws, m, &zero, xd, x));
    });
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[16];
    DN(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, xd, x, yd, y, cd, wd, w, 16, &n, perf, ws, kWs));
    consider(perf, [&](cudnnConvolutionBwdFilterAlgo_t a, size_t m) {
      DN(cudnnConvolutionBackwardFilter(h, &one, xd, x, yd, y, cd, a, ws, m, &zero, wd, w));
    });
  }
  cudnnDestroyTensorDescriptor(xd);
  cudnnDestroyTensorDescriptor(yd);
  cudnnDestroyFilterDescriptor(wd);
  cudnnDestroyConvolutionDescriptor(cd);
  return best;
}

// NCHW -> NHWC of (N, C, H, H) through cudnnTransformTensor.
float transform_ms(int N, int C, int H, float* a, float* b) {
  cudnnTensorDescriptor_t s, d;
  DN(cudnnCreateTensorDescriptor(&s));
  DN(cudnnCreateTensorDescriptor(&d));
  DN(cudnnSetTensor4dDescriptor(s, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, C, H, H));
  DN(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, N, C, H, H));
  const float one = 1, zero = 0;
  const float ms = time_ms([&] { DN(cudnnTransformTensor(h, &one, s, a, &zero, d, b)); }, 15);
  cudnnDestroyTensorDescriptor(s);
  cudnnDestroyTensorDescriptor(d);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  const int S = argc > 1 ? std::atoi(argv[1]) : 256, N = argc > 2 ? std::atoi(argv[2]) : 1;
  DN(cudnnCreate(&h));
  CK(cudaMalloc(&ws, kWs));
  const std::vector<Layer> layers = cudnn_bench::cyclegan_layers(S);
  size_t maxx = 0, maxw = 0, maxy = 0;
  for (const Layer& L : layers) {
    maxx = std::max(maxx, size_t(N) * L.C * L.H * L.H);
    maxw = std::max(maxw, size_t(L.K) * L.C * L.R * L.R);
    maxy = std::max(maxy, size_t(N) * L.K * L.P() * L.P());
  }
  float *x = cudnn_bench::random_buffer(maxx, 12345), *w = cudnn_bench::random_buffer(maxw, 12345),
        *y = cudnn_bench::random_buffer(maxy, 12345), *t;
  CK(cudaMalloc(&t, std::max(maxx, maxy) * 4));
  std::printf(
      "cuDNN %zu, size %d, batch %d; ms per call (median of 15), [algo,math T=tensor-op F=fma D=default,"
      " det]\n",
      cudnnGetVersion(), S, N);
  const char* dirs[] = {"fwd ", "bwdD", "bwdF"};
  struct Cfg {
    const char* name;
    bool nhwc, krsc;
    cudnnMathType_t math;
  };
  const Cfg cfgs[] = {{"NCHW fma", false, false, CUDNN_FMA_MATH},
                      {"NCHW tf32", false, false, CUDNN_DEFAULT_MATH},
                      {"NHWC/KCRS tf32", true, false, CUDNN_DEFAULT_MATH},
                      {"NHWC/KRSC tf32", true, true, CUDNN_DEFAULT_MATH},
                      {"NHWC/KRSC fma", true, true, CUDNN_FMA_MATH}};
  std::printf("%-11s %-4s %8s", "layer", "dir", "GFLOP");
  for (const Cfg& c : cfgs) std::printf(" | %-22s", c.name);
  std::printf("\n");
  double total[5] = {};
  for (const Layer& L : layers) {
    const double gf = L.gflop(N);
    for (int dir = 0; dir < 3; ++dir) {
      std::printf("%-11s %-4s %8.3f", L.name, dirs[dir], gf);
      for (int c = 0; c < 5; ++c) {
        const Result r = run(L, N, dir, cfgs[c].nhwc, cfgs[c].krsc, cfgs[c].math, x, w, y);
        const char m = r.math == CUDNN_TENSOR_OP_MATH || r.math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION ? 'T'
                       : r.math == CUDNN_FMA_MATH                                                        ? 'F'
                                                  : 'D';
        std::printf(" | %7.4f %5.0fTF [%d,%c,%d]", r.ms, r.ms > 0 ? gf / r.ms : 0.0, r.algo, m,
                    r.deterministic);
        if (r.ms > 0) total[c] += r.ms;
      }
      std::printf("\n");
    }
  }
  std::printf("%-25s", "sum over the table (ms)");
  for (double v : total) std::printf(" | %-22.3f", v);
  std::printf("\n\nNCHW -> NHWC transform (cudnnTransformTensor), ms:\n");
  for (const Layer& L : layers)
    std::printf("  %s input (%d,%d,%d,%d): %.4f\n", L.name, N, L.C, L.H, L.H,
                transform_ms(N, L.C, L.H, x, t));
  return 0;
}
