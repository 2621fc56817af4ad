// CUDA graphs: the framework's stream captured once and launched again and again, so that a
// training step of thousands of small kernels pays one launch instead of thousands. While a
// capture runs, the caching allocator serves it from a private pool (backend/block_allocator.h):
// the addresses baked into the graph are never handed to anyone else while the graph lives.
#include <cuda_profiler_api.h>

#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {

struct GraphHandle {
  cudaGraphExec_t exec = nullptr;
  int pool = 0;
};

GraphHandle* graph_capture_begin() {
  auto* g = new GraphHandle;
  g->pool = new_memory_pool();
  set_memory_pool(g->pool);
  // Relaxed: the allocator may cudaMalloc a segment for the private pool while capturing.
  const cudaError_t e = cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed);
  if (e != cudaSuccess) {
    set_memory_pool(0);
    release_memory_pool(g->pool);
    delete g;
    fail("cudaStreamBeginCapture", e, __FILE__, __LINE__);
  }
  return g;
}

void graph_capture_end(GraphHandle* g) {
  set_memory_pool(0);
  cudaGraph_t graph = nullptr;
  CG_CUDA_CHECK(cudaStreamEndCapture(stream(), &graph));
  const cudaError_t e = cudaGraphInstantiate(&g->exec, graph, 0);
  cudaGraphDestroy(graph);
  if (e != cudaSuccess) fail("cudaGraphInstantiate", e, __FILE__, __LINE__);
}

void graph_capture_abort(GraphHandle* g) {
  set_memory_pool(0);
  cudaStreamCaptureStatus st;
  if (cudaStreamIsCapturing(stream(), &st) == cudaSuccess && st != cudaStreamCaptureStatusNone) {
    cudaGraph_t graph = nullptr;
    cudaStreamEndCapture(stream(), &graph);
    if (graph) cudaGraphDestroy(graph);
  }
  cudaGetLastError();  // a broken capture leaves its error behind; the eager path starts clean
  graph_destroy(g);
}

void graph_launch(GraphHandle* g) { CG_CUDA_CHECK(cudaGraphLaunch(g->exec, stream())); }

void graph_destroy(GraphHandle* g) {
  if (!g) return;
  if (g->exec) cudaGraphExecDestroy(g->exec);
  release_memory_pool(g->pool);
  delete g;
}

bool capturing() {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  CG_CUDA_CHECK(cudaStreamIsCapturing(stream(), &st));
  return st != cudaStreamCaptureStatusNone;
}

namespace {
__global__ void spin_kernel(long long cycles) {
  const long long t0 = clock64();
  while (clock64() - t0 < cycles) {
  }
}
}  // namespace

void busy_wait_gpu(double ms) {
  int dev = 0, sms = 0;
  CG_CUDA_CHECK(cudaGetDevice(&dev));
  CG_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  // cycles at about the H100's highest clock (2 GHz): at a lower clock the spin only lasts longer
  spin_kernel<<<static_cast<unsigned>(4 * sms), 128, 0, stream()>>>(static_cast<long long>(ms * 2e6));
  CG_CUDA_LAUNCH_CHECK();
  CG_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void profiler_range(bool start) { CG_CUDA_CHECK(start ? cudaProfilerStart() : cudaProfilerStop()); }

}  // namespace cg::cuda
