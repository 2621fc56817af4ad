// The cuDNN plan search: per distinct shape and direction, every engine configuration cuDNN's
// heuristics offer (modes A, B and fallback) is built and timed once on the real buffers, and the
// fastest is kept, as PyTorch's cudnn.benchmark does; workspaces come from the caching allocator.
// The graph API reaches engines the legacy cudnnFind* calls never offer: on an H100 at CycleGAN's
// batch-1 shapes they run 2-3.5x faster (bench/cudnn_engines.cpp against bench/cudnn_layouts.cpp).
// Should no engine build for a shape, the legacy API's fastest algorithm serves it. TF32 tensor
// cores are allowed unless set_allow_tf32(false) (PyTorch's default for convolutions also allows
// them); set_deterministic(true) keeps only deterministic engines.
#include "cuda/conv_plans.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {

namespace {
bool g_allow_tf32 = true;
bool g_deterministic = false;
}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }
void set_deterministic(bool on) { g_deterministic = on; }
bool deterministic() { return g_deterministic; }

namespace conv {

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

cudnnHandle_t handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t hh;
    CG_CUDNN(cudnnCreate(&hh), nullptr);
    CG_CUDNN(cudnnSetStream(hh, stream()), nullptr);
    return hh;
  }();
  return h;
}

// A backend descriptor that destroys itself.
struct Desc {
  cudnnBackendDescriptor_t d = nullptr;
  explicit Desc(cudnnBackendDescriptorType_t t) { CG_CUDNN(cudnnBackendCreateDescriptor(t, &d), nullptr); }
  Desc(Desc&& o) noexcept : d(o.d) { o.d = nullptr; }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
  ~Desc() {
    if (d) cudnnBackendDestroyDescriptor(d);
  }
  template <class T>
  Desc& set(cudnnBackendAttributeName_t a, cudnnBackendAttributeType_t t, int64_t n, const T* v) {
    CG_CUDNN(cudnnBackendSetAttribute(d, a, t, n, v), nullptr);
    return *this;
  }
  Desc& finalize() {
    CG_CUDNN(cudnnBackendFinalize(d), nullptr);
    return *this;
  }
};

namespace {

const char* dir_name(Dir d) {
  return d == Dir::Fwd ? "forward" : d == Dir::BwdData ? "backward-data" : "backward-filter";
}

// The most workspace an engine may ask for; faster engines that need more are passed over.
constexpr int64_t kMaxWorkspace = int64_t(1) << 30;

// RAII workspace from the caching allocator.
struct Workspace {
  explicit Workspace(size_t n) : p(n ? alloc(n) : nullptr) {}
  ~Workspace() { free(p); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* p;
};

// Tensor unique ids in every operation graph: x (or dx) 1, w (or dw) 2, y (or dy) 3.
constexpr int64_t kX = 1, kW = 2, kY = 3;

// `align`: the byte alignment every pointer the plan will run on has. The vectorised tensor-core
// kernels need 16; declaring only 4 leaves cuDNN the scalar ones.
Desc tensor_desc(int64_t uid, int64_t n, int64_t c, int64_t h, int64_t w, int64_t align) {
  Desc d(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const cudnnDataType_t dt = CUDNN_DATA_FLOAT;
  const int64_t dims[4] = {n, c, h, w}, strides[4] = {c * h * w, h * w, w, 1};
  d.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt)
      .set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims)
      .set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides)
      .set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid)
      .set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align)
      .finalize();
  return d;
}

// The one-operation graph for (g, dir).
Desc operation_graph(Dir dir, const kern::ConvGeom& g, int64_t align) {
  Desc x = tensor_desc(kX, g.N, g.C, g.H, g.W, align), w = tensor_desc(kW, g.K, g.C, g.R, g.S, align),
       y = tensor_desc(kY, g.N, g.K, g.P, g.Q, align);
  Desc conv(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const int64_t nsd = 2, pad[2] = {g.pad, g.pad}, stride[2] = {g.stride, g.stride}, dil[2] = {1, 1};
  const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  conv.set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &nsd)
      .set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp)
      .set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode)
      .set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad)
      .set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad)
      .set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil)
      .set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride)
      .finalize();
  // The three operations take the same six attributes under their own names.
  struct OpAttrs {
    cudnnBackendDescriptorType_t type;
    cudnnBackendAttributeName_t x, w, y, conv, alpha, beta;
  };
  static const OpAttrs kOps[3] = {
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA},
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA},
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA},
  };
  const OpAttrs& a = kOps[static_cast<int>(dir)];
  const float alpha = 1, beta = 0;
  const auto B = CUDNN_TYPE_BACKEND_DESCRIPTOR;
  Desc op(a.type);
  op.set(a.x, B, 1, &x.d)
      .set(a.w, B, 1, &w.d)
      .set(a.y, B, 1, &y.d)
      .set(a.conv, B, 1, &conv.d)
      .set(a.alpha, CUDNN_TYPE_FLOAT, 1, &alpha)
      .set(a.beta, CUDNN_TYPE_FLOAT, 1, &beta);
  op.finalize();
  Desc graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  cudnnHandle_t h = handle();
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, B, 1, &op.d)
      .set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
  graph.finalize();
  return graph;
}

// Whether an engine configuration may run under the current switches: float32 inputs are never
// down-converted to half precision; TF32 (the tensor-core note, for float32 data) only when
// allowed; nondeterministic engines (atomics) only when determinism is not asked for.
bool acceptable(cudnnBackendDescriptor_t cfg) {
  Desc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  int64_t got = 0;
  if (cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &got,
                               &engine.d) != CUDNN_STATUS_SUCCESS)
    return false;
  cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  int64_t n = 0;
  if (cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                               CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, notes) != CUDNN_STATUS_SUCCESS)
    return false;
  for (int64_t k = 0; k < n; ++k) {
    if (notes[k] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS) return false;
    if (notes[k] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE && !g_allow_tf32) return false;
    if (notes[k] == CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC && g_deterministic) return false;
  }
  return true;
}

// The chosen way to run one (shape, direction): a graph-API execution plan, or a legacy algorithm.

void make_legacy_descriptors(Plan& p, const kern::ConvGeom& g) {
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
}

// Runs a graph-API plan on (x or dx, w or dw, y or dy).
cudnnStatus_t execute(const Desc& exec, int64_t workspace, void* x, void* w, void* y) {
  Workspace ws(static_cast<size_t>(workspace));
  Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  void* ptrs[3] = {x, w, y};
  const int64_t uids[3] = {kX, kW, kY};
  pack.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs)
      .set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids)
      .set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws.p)
      .finalize();
  return cudnnBackendExecute(handle(), exec.d, pack.d);
}

// Median of `runs` timed runs after one warm-up, in ms; negative when the plan fails to run.
float time_plan(const Desc& exec, int64_t workspace, void* x, void* w, void* y, int runs) {
  cudaEvent_t a, b;
  CG_CUDA_CHECK(cudaEventCreate(&a));
  CG_CUDA_CHECK(cudaEventCreate(&b));
  std::vector<float> ms;
  if (execute(exec, workspace, x, w, y) == CUDNN_STATUS_SUCCESS) {  // warm-up
    for (int i = 0; i < runs; ++i) {
      float t = 0;
      CG_CUDA_CHECK(cudaEventRecord(a, stream()));
      if (execute(exec, workspace, x, w, y) != CUDNN_STATUS_SUCCESS) break;
      CG_CUDA_CHECK(cudaEventRecord(b, stream()));
      CG_CUDA_CHECK(cudaEventSynchronize(b));
      CG_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
      ms.push_back(t);
    }
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  cudaGetLastError();  // an engine that failed to launch must not poison later checks
  if (static_cast<int>(ms.size()) < runs) return -1;
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// The fastest graph-API plan for (g, dir), timed on the real buffers; null when none builds. Every
// candidate is timed (median of 5), then the three fastest again (median of 15), on a GPU that was
// kept busy just before: an idle H100 starts at a fraction of its clock and ramps up over
// milliseconds, which otherwise makes the first candidates look slow (seen: FMA engines chosen
// over TF32 ones 3x faster).
std::shared_ptr<Desc> search_graph(Dir dir, const kern::ConvGeom& g, int64_t align, void* x, void* w, void* y,
                                   int64_t* ws) {
  Desc graph = operation_graph(dir, g, align);
  struct Candidate {
    std::shared_ptr<Desc> exec;
    int64_t ws;
    float ms;
    std::string json;  // cuDNN's description of the engine configuration, for CG_CONV_LOG
  };
  std::vector<Candidate> all;
  std::vector<std::string> seen;
  static bool first = true;
  busy_wait_gpu(first ? 100.0 : 10.0);
  first = false;
  for (cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_B, CUDNN_HEUR_MODE_FALLBACK}) {
    Desc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    heur.set(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph.d)
        .set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    if (cudnnBackendFinalize(heur.d) != CUDNN_STATUS_SUCCESS) continue;
    int64_t count = 0;
    if (cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0,
                                 &count, nullptr) != CUDNN_STATUS_SUCCESS)
      continue;
    std::vector<Desc> cfgs;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (int64_t i = 0; i < count; ++i) {
      cfgs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
      raw.push_back(cfgs.back().d);
    }
    if (cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count,
                                 &count, raw.data()) != CUDNN_STATUS_SUCCESS)
      continue;
    for (int64_t i = 0; i < count; ++i) {
      if (!acceptable(raw[static_cast<size_t>(i)])) continue;
      auto exec = std::make_shared<Desc>(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      cudnnHandle_t h = handle();
      exec->set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h)
          .set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
               &raw[static_cast<size_t>(i)]);
      if (cudnnBackendFinalize(exec->d) != CUDNN_STATUS_SUCCESS) continue;
      int64_t wsz = 0, got = 0, jl = 0;
      cudnnBackendGetAttribute(exec->d, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &got,
                               &wsz);
      if (wsz > kMaxWorkspace) continue;
      // The same configuration can come from two heuristic modes: time it once.
      cudnnBackendGetAttribute(exec->d, CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION, CUDNN_TYPE_CHAR, 0,
                               &jl, nullptr);
      std::string json(static_cast<size_t>(jl), '\0');
      if (jl)
        cudnnBackendGetAttribute(exec->d, CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION, CUDNN_TYPE_CHAR, jl,
                                 &jl, json.data());
      if (!json.empty() && std::find(seen.begin(), seen.end(), json) != seen.end()) continue;
      seen.push_back(json);
      const float ms = time_plan(*exec, wsz, x, w, y, 5);
      if (ms >= 0) all.push_back({exec, wsz, ms, json});
    }
  }
  if (all.empty()) return nullptr;
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) { return a.ms < b.ms; });
  all.resize(std::min<size_t>(all.size(), 3));
  for (Candidate& c : all) c.ms = time_plan(*c.exec, c.ws, x, w, y, 15);
  const Candidate& best =
      *std::min_element(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
        return (a.ms >= 0 ? a.ms : 1e30f) < (b.ms >= 0 ? b.ms : 1e30f);
      });
  if (best.ms < 0) return nullptr;
  if (std::getenv("CG_CONV_LOG"))  // which engines came first, to tell apart runs that disagree
    for (const Candidate& c : all)
      std::fprintf(stderr, "cg conv %s %s align %lld: %s%.4f ms, workspace %lld, %s\n", dir_name(dir),
                   geom_str(g).c_str(), static_cast<long long>(align), &c == &best ? "chosen " : "",
                   static_cast<double>(c.ms), static_cast<long long>(c.ws), c.json.c_str());
  *ws = best.ws;
  return best.exec;
}

// The fastest legacy algorithm (cudnnFind*Ex), for shapes where no graph-API plan builds.
template <class Perf>
bool choose_legacy(Plan& p, const Perf* perf, int n) {
  for (int k = 0; k < n; ++k) {
    if (perf[k].status != CUDNN_STATUS_SUCCESS || static_cast<int64_t>(perf[k].memory) > kMaxWorkspace / 4)
      continue;
    if (!g_allow_tf32 && perf[k].mathType == CUDNN_TENSOR_OP_MATH) continue;
    if (g_deterministic && perf[k].determinism != CUDNN_DETERMINISTIC) continue;
    p.legacy_algo = static_cast<int>(perf[k].algo);
    p.legacy_math = perf[k].mathType;
    p.workspace = static_cast<int64_t>(perf[k].memory);
    return true;
  }
  return false;
}

void search_legacy(Plan& p, Dir dir, const kern::ConvGeom& g, void* x, void* w, void* y) {
  Workspace ws(kMaxWorkspace / 4);
  constexpr int kMax = 16;
  int n = 0;
  bool ok = false;
  if (dir == Dir::Fwd) {
    cudnnConvolutionFwdAlgoPerf_t perf[kMax];
    CG_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(handle(), p.x, x, p.w, w, p.conv, p.y, y, kMax, &n, perf,
                                                    ws.p, kMaxWorkspace / 4),
             &g);
    ok = choose_legacy(p, perf, n);
  } else if (dir == Dir::BwdData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMax];
    CG_CUDNN(cudnnFindConvolutionBackwardDataAlgorithmEx(handle(), p.w, w, p.y, y, p.conv, p.x, x, kMax, &n,
                                                         perf, ws.p, kMaxWorkspace / 4),
             &g);
    ok = choose_legacy(p, perf, n);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMax];
    CG_CUDNN(cudnnFindConvolutionBackwardFilterAlgorithmEx(handle(), p.x, x, p.y, y, p.conv, p.w, w, kMax, &n,
                                                           perf, ws.p, kMaxWorkspace / 4),
             &g);
    ok = choose_legacy(p, perf, n);
  }
  if (!ok)
    throw Error(std::string("cuDNN found no usable ") + dir_name(dir) + " algorithm for " + geom_str(g));
}

using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       bool, bool, int64_t>;

// The largest of 16, 8, 4 bytes that all three pointers are aligned to.
int64_t common_alignment(const void* x, const void* w, const void* y) {
  const auto bits =
      reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(w) | reinterpret_cast<uintptr_t>(y);
  return bits % 16 == 0 ? 16 : bits % 8 == 0 ? 8 : 4;
}

}  // namespace

// The plan for (g, dir); on first sight, measured on the real buffers (x or dx, w or dw, y or dy).
const Plan& plan(Dir dir, const kern::ConvGeom& g, void* x, void* w, void* y) {
  static std::map<Key, Plan> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  const int64_t align = common_alignment(x, w, y);
  const Key key{static_cast<int>(dir), g.N,  g.C, g.H, g.W, g.K, g.R, g.S, g.stride, g.pad, g_allow_tf32,
                g_deterministic,       align};
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (capturing())
    throw Error(std::string("cuDNN ") + dir_name(dir) + " convolution " + geom_str(g) +
                " was first seen while a CUDA graph was being captured; run the step once eagerly first");
  Plan p;
  make_legacy_descriptors(p, g);
  p.exec = search_graph(dir, g, align, x, w, y, &p.workspace);
  if (!p.exec) search_legacy(p, dir, g, x, w, y);
  return cache.emplace(key, p).first->second;
}

void run(Dir dir, const Plan& p, const kern::ConvGeom& g, const void* x, const void* w, const void* y) {
  void* xx = const_cast<void*>(x);
  void* ww = const_cast<void*>(w);
  void* yy = const_cast<void*>(y);
  if (p.exec) {
    CG_CUDNN(execute(*p.exec, p.workspace, xx, ww, yy), &g);
    return;
  }
  Workspace ws(static_cast<size_t>(p.workspace));
  const float one = 1.f, zero = 0.f;
  CG_CUDNN(cudnnSetConvolutionMathType(p.conv, p.legacy_math), &g);
  if (dir == Dir::Fwd)
    CG_CUDNN(cudnnConvolutionForward(handle(), &one, p.x, x, p.w, w, p.conv,
                                     static_cast<cudnnConvolutionFwdAlgo_t>(p.legacy_algo), ws.p,
                                     static_cast<size_t>(p.workspace), &zero, p.y, yy),
             &g);
  else if (dir == Dir::BwdData)
    CG_CUDNN(cudnnConvolutionBackwardData(handle(), &one, p.w, w, p.y, y, p.conv,
                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(p.legacy_algo), ws.p,
                                          static_cast<size_t>(p.workspace), &zero, p.x, xx),
             &g);
  else
    CG_CUDNN(cudnnConvolutionBackwardFilter(handle(), &one, p.x, x, p.y, y, p.conv,
                                            static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.legacy_algo), ws.p,
                                            static_cast<size_t>(p.workspace), &zero, p.w, ww),
             &g);
}

}  // namespace conv
}  // namespace cg::cuda
