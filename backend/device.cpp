#include "backend/device.h"

#include "cpu/kernels.h"
#include "cuda/device_api.h"

namespace cg::backend {

namespace {
[[noreturn]] void no_cuda(const char* what) {
  throw Error(
      std::string(what) +
      ": this build has no CUDA backend (configure with -DCYCLEGAN_CUDA=ON on a machine with the CUDA "
      "toolkit and cuDNN)");
}
}  // namespace

// In a build without CUDA the cuda:: functions are declared but not defined: each is named only
// under `if constexpr (kHaveCuda)`, so nothing links to them.

int gpu_count() {
  if constexpr (kHaveCuda) return cuda::device_count();
  return 0;
}

std::string gpu_description() {
  if constexpr (kHaveCuda) return cuda::device_description();
  return "none (this build has no CUDA backend)";
}

void set_gpu(int index) {
  if constexpr (kHaveCuda)
    cuda::set_device(index);
  else
    no_cuda("set_gpu");
}

void synchronize(Device device) {
  if (device == Device::CPU) return;  // CPU kernels finish before they return
  if constexpr (kHaveCuda) cuda::synchronize();
}

void* alloc(Device device, size_t bytes) {
  if (device == Device::CPU) return cpu::alloc(bytes);
  if constexpr (kHaveCuda) return cuda::alloc(bytes);
  no_cuda("alloc");
}

void free(Device device, void* p) {
  if (device == Device::CPU) return cpu::free(p);
  if constexpr (kHaveCuda) cuda::free(p);
}

GpuMemory gpu_memory() {
  if constexpr (kHaveCuda) return {cuda::malloc_count(), cuda::reserved_bytes(), cuda::peak_bytes_in_use()};
  return {};
}

void release_cached(Device device, size_t keep) {
  if (device == Device::CPU && cpu::cached_bytes() > keep) cpu::release_cached();
}

void reset_gpu_peak() {
  if constexpr (kHaveCuda) cuda::reset_peak_bytes_in_use();
}

// A Graph* is cuda's GraphHandle*, opaque above backend/.
Graph* graph_capture_begin() {
  if constexpr (kHaveCuda) return reinterpret_cast<Graph*>(cuda::graph_capture_begin());
  no_cuda("graph capture");
}

void graph_capture_end(Graph* g) {
  if constexpr (kHaveCuda) cuda::graph_capture_end(reinterpret_cast<cuda::GraphHandle*>(g));
}

void graph_capture_abort(Graph* g) {
  if constexpr (kHaveCuda) cuda::graph_capture_abort(reinterpret_cast<cuda::GraphHandle*>(g));
}

void graph_launch(Graph* g) {
  if constexpr (kHaveCuda) cuda::graph_launch(reinterpret_cast<cuda::GraphHandle*>(g));
}

void graph_destroy(Graph* g) {
  if constexpr (kHaveCuda)
    if (g) cuda::graph_destroy(reinterpret_cast<cuda::GraphHandle*>(g));
}

bool capturing() {
  if constexpr (kHaveCuda) return cuda::capturing();
  return false;
}

void set_allow_tf32(bool allow) {
  if constexpr (kHaveCuda) cuda::set_allow_tf32(allow);
}

bool allow_tf32() {
  if constexpr (kHaveCuda) return cuda::allow_tf32();
  return false;
}

void set_deterministic(bool on) {
  if constexpr (kHaveCuda) cuda::set_deterministic(on);
}

bool deterministic() {
  if constexpr (kHaveCuda) return cuda::deterministic();
  return false;
}

void profiler_range(bool start) {
  if constexpr (kHaveCuda) cuda::profiler_range(start);
}

void busy_wait_gpu(double ms) {
  if constexpr (kHaveCuda)
    cuda::busy_wait_gpu(ms);
  else
    no_cuda("busy_wait_gpu");
}

}  // namespace cg::backend
