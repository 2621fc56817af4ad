// Convolutions on the GPU through cuDNN. Per distinct shape (and direction), descriptors are made
// once and the fastest algorithm is measured once (cudnnFind*Ex, as PyTorch's cudnn.benchmark),
// then reused; workspaces come from the caching allocator. TF32 tensor cores are allowed unless
// set_allow_tf32(false) (PyTorch's default for convolutions is also to allow them).
#include <cudnn.h>

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

std::string geom_str(const kern::ConvGeom& g) {
  return "input [" + std::to_string(g.N) + ", " + std::to_string(g.C) + ", " + std::to_string(g.H) + ", " +
         std::to_string(g.W) + "], weight [" + std::to_string(g.K) + ", " + std::to_string(g.C) + ", " +
         std::to_string(g.R) + ", " + std::to_string(g.S) + "], stride " + std::to_string(g.stride) +
         ", padding " + std::to_string(g.pad);
}

void cudnn_check(cudnnStatus_t st, const char* what, const kern::ConvGeom* g) {
  if (st == CUDNN_STATUS_SUCCESS) return;
  throw Error(std::string("cuDNN error: ") + cudnnGetErrorString(st) + " in " + what +
              (g ? " (" + geom_str(*g) + ")" : std::string()));
}
#define CG_CUDNN(call, g) cudnn_check((call), #call, (g))

bool g_allow_tf32 = true;

cudnnHandle_t handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t hh;
    CG_CUDNN(cudnnCreate(&hh), nullptr);
    CG_CUDNN(cudnnSetStream(hh, stream()), nullptr);
    return hh;
  }();
  return h;
}

enum class Dir { Fwd, BwdData, BwdFilter };

// Descriptors and the chosen algorithm for one (shape, direction).
struct Plan {
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  int algo = 0;
  size_t workspace = 0;
};

// The most workspace an algorithm may ask for; faster algorithms that need more are passed over.
constexpr size_t kMaxWorkspace = size_t(1) << 30;

// RAII workspace from the caching allocator.
struct Workspace {
  explicit Workspace(size_t n) : p(n ? alloc(n) : nullptr) {}
  ~Workspace() { free(p); }
  void* p;
};

using Key =
    std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

Plan make_descriptors(const kern::ConvGeom& g) {
  Plan p;
  auto i = [](int64_t v) { return static_cast<int>(v); };
  CG_CUDNN(cudnnCreateTensorDescriptor(&p.x), &g);
  CG_CUDNN(cudnnCreateTensorDescriptor(&p.y), &g);
  CG_CUDNN(cudnnCreateTensorDescriptor(&p.bias), &g);
  CG_CUDNN(cudnnCreateFilterDescriptor(&p.w), &g);
  CG_CUDNN(cudnnCreateConvolutionDescriptor(&p.conv), &g);
  CG_CUDNN(
      cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i(g.N), i(g.C), i(g.H), i(g.W)),
      &g);
  CG_CUDNN(
      cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i(g.N), i(g.K), i(g.P), i(g.Q)),
      &g);
  CG_CUDNN(cudnnSetTensor4dDescriptor(p.bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, i(g.K), 1, 1), &g);
  CG_CUDNN(
      cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, i(g.K), i(g.C), i(g.R), i(g.S)),
      &g);
  CG_CUDNN(cudnnSetConvolution2dDescriptor(p.conv, i(g.pad), i(g.pad), i(g.stride), i(g.stride), 1, 1,
                                           CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
           &g);
  CG_CUDNN(cudnnSetConvolutionMathType(p.conv, g_allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH), &g);
  return p;
}

// Picks the fastest successful result that fits the workspace limit, and runs it later with the
// math type it was timed with (the search may report a tensor-op variant under the default math
// type, as PyTorch also handles). With TF32 off, tensor-op results are passed over.
template <class Perf>
void choose(Plan& p, const Perf* perf, int n, const kern::ConvGeom& g, const char* dir) {
  for (int k = 0; k < n; ++k) {
    if (perf[k].status != CUDNN_STATUS_SUCCESS || perf[k].memory > kMaxWorkspace) continue;
    if (!g_allow_tf32 && perf[k].mathType == CUDNN_TENSOR_OP_MATH) continue;
    p.algo = static_cast<int>(perf[k].algo);
    p.workspace = perf[k].memory;
    CG_CUDNN(cudnnSetConvolutionMathType(p.conv, perf[k].mathType), &g);
    return;
  }
  throw Error(std::string("cuDNN found no usable ") + dir + " algorithm for " + geom_str(g));
}

// The plan for (g, dir); on first sight, benchmarks the algorithms on the real buffers.
const Plan& plan(Dir dir, const kern::ConvGeom& g, const void* a, const void* b, void* out) {
  static std::map<Key, Plan> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  const Key key{static_cast<int>(dir), g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.stride, g.pad, g_allow_tf32};
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Plan p = make_descriptors(g);
  Workspace ws(kMaxWorkspace / 4);  // the search's scratch; the chosen algorithm may need less
  constexpr int kMax = 16;
  int n = 0;
  if (dir == Dir::Fwd) {
    cudnnConvolutionFwdAlgoPerf_t perf[kMax];
    CG_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(handle(), p.x, a, p.w, b, p.conv, p.y, out, kMax, &n,
                                                    perf, ws.p, kMaxWorkspace / 4),
             &g);
    choose(p, perf, n, g, "forward");
  } else if (dir == Dir::BwdData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMax];
    CG_CUDNN(cudnnFindConvolutionBackwardDataAlgorithmEx(handle(), p.w, b, p.y, a, p.conv, p.x, out, kMax, &n,
                                                         perf, ws.p, kMaxWorkspace / 4),
             &g);
    choose(p, perf, n, g, "backward-data");
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMax];
    CG_CUDNN(cudnnFindConvolutionBackwardFilterAlgorithmEx(handle(), p.x, a, p.y, b, p.conv, p.w, out, kMax,
                                                           &n, perf, ws.p, kMaxWorkspace / 4),
             &g);
    choose(p, perf, n, g, "backward-filter");
  }
  return cache.emplace(key, p).first->second;
}

}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }

void conv2d_forward(DType dt, const void* x, const void* w, const void* b, void* y, const kern::ConvGeom& g) {
  require_f32(dt, "conv2d_forward");
  const Plan& p = plan(Dir::Fwd, g, x, w, y);
  Workspace ws(p.workspace);
  const float one = 1.f, zero = 0.f;
  CG_CUDNN(cudnnConvolutionForward(handle(), &one, p.x, x, p.w, w, p.conv,
                                   static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), ws.p, p.workspace, &zero,
                                   p.y, y),
           &g);
  if (b) CG_CUDNN(cudnnAddTensor(handle(), &one, p.bias, b, &one, p.y, y), &g);
}

void conv2d_backward_data(DType dt, const void* dy, const void* w, void* dx, const kern::ConvGeom& g) {
  require_f32(dt, "conv2d_backward_data");
  const Plan& p = plan(Dir::BwdData, g, dy, w, dx);
  Workspace ws(p.workspace);
  const float one = 1.f, zero = 0.f;
  CG_CUDNN(cudnnConvolutionBackwardData(handle(), &one, p.w, w, p.y, dy, p.conv,
                                        static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), ws.p, p.workspace,
                                        &zero, p.x, dx),
           &g);
}

void conv2d_backward_weight(DType dt, const void* x, const void* dy, void* dw, void* db,
                            const kern::ConvGeom& g) {
  require_f32(dt, "conv2d_backward_weight");
  const Plan& p = plan(Dir::BwdFilter, g, x, dy, dw);
  Workspace ws(p.workspace);
  const float one = 1.f, zero = 0.f;
  CG_CUDNN(cudnnConvolutionBackwardFilter(handle(), &one, p.x, x, p.y, dy, p.conv,
                                          static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo), ws.p,
                                          p.workspace, &zero, p.w, dw),
           &g);
  if (db) CG_CUDNN(cudnnConvolutionBackwardBias(handle(), &one, p.y, dy, &zero, p.bias, db), &g);
}

}  // namespace cg::cuda
