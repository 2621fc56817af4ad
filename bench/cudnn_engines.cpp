// The cuDNN graph (backend) API against CycleGAN's convolutions: for every convolution of the
// default generator and discriminator at one size and batch, each direction and each layout (NCHW,
// NHWC strides), every engine configuration the heuristics offer (modes A, B and fallback) is
// built, timed (median of 9) and the fastest reported with its engine number. Engines that
// down-convert float32 inputs to half precision are skipped; TF32 tensor-core engines are kept.
// bench/cudnn_layouts.cpp measures the legacy API on the same table.
//   ./build/bench/cudnn_engines [size=256] [batch=1]
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "cudnn_common.h"

namespace {

using cudnn_bench::Layer;

using Desc = cudnnBackendDescriptor_t;
cudnnHandle_t h;
void* ws;
constexpr int64_t kWs = int64_t(512) << 20;

Desc make(cudnnBackendDescriptorType_t t) {
  Desc d;
  DN(cudnnBackendCreateDescriptor(t, &d));
  return d;
}
template <class T>
void set(Desc d, cudnnBackendAttributeName_t a, cudnnBackendAttributeType_t t, int64_t n, const T* v) {
  DN(cudnnBackendSetAttribute(d, a, t, n, v));
}

Desc tensor(int64_t uid, int64_t n, int64_t c, int64_t hgt, int64_t w, bool nhwc) {
  Desc d = make(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const cudnnDataType_t dt = CUDNN_DATA_FLOAT;
  const int64_t dims[4] = {n, c, hgt, w};
  const int64_t nchw[4] = {c * hgt * w, hgt * w, w, 1}, nhwc_s[4] = {hgt * w * c, 1, w * c, c};
  const int64_t align = 16;
  set(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
  set(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
  set(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, nhwc ? nhwc_s : nchw);
  set(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  set(d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
  DN(cudnnBackendFinalize(d));
  return d;
}

struct Best {
  float ms = -1;
  int64_t engine = -1;
  int tried = 0;
  std::string json;
};

// Median of 9 timed runs, in ms; negative when the plan fails to run.
float median_ms(Desc plan, Desc vp) {
  bool ok = true;
  const float ms =
      cudnn_bench::time_ms([&] { ok = ok && cudnnBackendExecute(h, plan, vp) == CUDNN_STATUS_SUCCESS; }, 9);
  return ok ? ms : -1;
}

Best search(const Layer& L, int N, int dir, bool nhwc, float* x, float* w, float* y) {
  const int64_t P = L.P();
  Desc xd = tensor(1, N, L.C, L.H, L.H, nhwc), wd = tensor(2, L.K, L.C, L.R, L.R, nhwc),
       yd = tensor(3, N, L.K, P, P, nhwc);
  Desc conv = make(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const int64_t nsd = 2, pad[2] = {L.pad, L.pad}, stride[2] = {L.stride, L.stride}, dil[2] = {1, 1};
  const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  set(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &nsd);
  set(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
  set(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  set(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad);
  set(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad);
  set(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil);
  set(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride);
  DN(cudnnBackendFinalize(conv));
  const float alpha = 1, beta = 0;
  Desc op;
  if (dir == 0) {
    op = make(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &xd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &wd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &yd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
  } else if (dir == 1) {
    op = make(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &xd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &wd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &yd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
  } else {
    op = make(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &xd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &wd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &yd);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
  }
  DN(cudnnBackendFinalize(op));
  Desc graph = make(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op);
  set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
  DN(cudnnBackendFinalize(graph));

  Desc vp = make(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  void* ptrs[3] = {x, w, y};
  const int64_t uids[3] = {1, 2, 3};
  set(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs);
  set(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
  set(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
  DN(cudnnBackendFinalize(vp));

  Best best;
  std::set<std::string> seen;
  for (cudnnBackendHeurMode_t hm : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_B, CUDNN_HEUR_MODE_FALLBACK}) {
    Desc heur = make(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    set(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
    set(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &hm);
    if (cudnnBackendFinalize(heur) != CUDNN_STATUS_SUCCESS) continue;
    int64_t count = 0;
    DN(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count,
                                nullptr));
    std::vector<Desc> cfgs(static_cast<size_t>(count));
    for (auto& c : cfgs) c = make(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    DN(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count,
                                &count, cfgs.data()));
    for (int64_t i = 0; i < count; ++i) {
      Desc engine = make(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
      int64_t got = 0, eid = -1;
      DN(cudnnBackendGetAttribute(cfgs[i], CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                  &got, &engine));
      cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &got, &eid);
      cudnnBackendNumericalNote_t notes[16];
      int64_t nn = 0;
      cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE, 16, &nn,
                               notes);
      bool down = false;
      for (int64_t k = 0; k < nn; ++k) down |= notes[k] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS;
      cudnnBackendDestroyDescriptor(engine);
      if (down) continue;
      Desc plan = make(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      set(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
      set(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfgs[i]);
      if (cudnnBackendFinalize(plan) != CUDNN_STATUS_SUCCESS) {
        cudnnBackendDestroyDescriptor(plan);
        continue;
      }
      int64_t wsz = 0;
      cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &got,
                               &wsz);
      int64_t jl = 0;
      cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION, CUDNN_TYPE_CHAR, 0, &jl,
                               nullptr);
      std::string json(static_cast<size_t>(jl), '\0');
      if (jl)
        cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION, CUDNN_TYPE_CHAR, jl,
                                 &jl, json.data());
      if (wsz <= kWs && seen.insert(json).second) {
        const float ms = median_ms(plan, vp);
        ++best.tried;
        if (ms > 0 && (best.ms < 0 || ms < best.ms)) best = {ms, eid, best.tried, json};
      }
      cudnnBackendDestroyDescriptor(plan);
      cudaGetLastError();
    }
    for (auto& c : cfgs) cudnnBackendDestroyDescriptor(c);
    cudnnBackendDestroyDescriptor(heur);
  }
  for (Desc d : {vp, graph, op, conv, xd, wd, yd}) cudnnBackendDestroyDescriptor(d);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int S = argc > 1 ? std::atoi(argv[1]) : 256, N = argc > 2 ? std::atoi(argv[2]) : 1;
  DN(cudnnCreate(&h));
  CK(cudaMalloc(&ws, kWs));
  const std::vector<Layer> layers = cudnn_bench::cyclegan_layers(S);
  size_t big = 0;
  for (const Layer& L : layers)
    big = std::max(
        {big, size_t(N) * L.C * L.H * L.H, size_t(L.K) * L.C * L.R * L.R, size_t(N) * L.K * L.P() * L.P()});
  float *x = cudnn_bench::random_buffer(big, 7), *w = cudnn_bench::random_buffer(big, 7),
        *y = cudnn_bench::random_buffer(big, 7);
  std::printf("cuDNN %zu graph API, size %d, batch %d: best engine, ms (median of 9) and TFLOP/s\n",
              cudnnGetVersion(), S, N);
  const char* dirs[] = {"fwd ", "bwdD", "bwdF"};
  double total[2] = {};
  for (const Layer& L : layers) {
    const double gf = L.gflop(N);
    for (int dir = 0; dir < 3; ++dir) {
      std::printf("%s %s %7.3f GF", L.name, dirs[dir], gf);
      std::string why;
      for (int nhwc = 0; nhwc < 2; ++nhwc) {
        const Best b = search(L, N, dir, nhwc, x, w, y);
        std::printf(" | %s %7.4f ms %5.0f TF eng %3lld (%2d tried)", nhwc ? "NHWC" : "NCHW", b.ms,
                    b.ms > 0 ? gf / b.ms : 0.0, static_cast<long long>(b.engine), b.tried);
        if (b.ms > 0) total[nhwc] += b.ms;
        if (L.name[2] == 'R' && nhwc) why = b.json;
      }
      std::printf("\n");
      if (!why.empty()) std::printf("    %s\n", why.substr(0, 400).c_str());
    }
  }
  std::printf("sum over the table: NCHW %.3f ms, NHWC %.3f ms\n", total[0], total[1]);
  return 0;
}
