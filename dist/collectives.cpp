#include "dist/collectives.h"

#include <chrono>
#include <cstring>

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "dist/comm.h"
#include "ops/elementwise.h"

namespace cg::dist {

namespace {

GpuPath g_path = GpuPath::kHost;
ReduceStats g_stats;

// Host memory for the host-staged path and for packing buckets, kept between calls.
std::vector<char>& staging(size_t bytes) {
  static std::vector<char> buf;
  if (buf.size() < bytes) buf.resize(bytes);
  return buf;
}

void sum_host(void* data, size_t n, DType dt) {
  if (dt == DType::F64)
    all_reduce_sum(static_cast<double*>(data), n);
  else
    all_reduce_sum(static_cast<float*>(data), n);
}

void scale_host(void* data, size_t n, DType dt, double s) {
  if (dt == DType::F64) {
    double* p = static_cast<double*>(data);
    for (size_t i = 0; i < n; ++i) p[i] *= s;
  } else {
    float* p = static_cast<float*>(data);
    const float f = static_cast<float>(s);
    for (size_t i = 0; i < n; ++i) p[i] *= f;
  }
}

// In place on `bytes` at `data` on `dev` holding n values of `dt`: the sum over ranks, times `scale`.
void reduce_buffer(void* data, Device dev, size_t n, DType dt, double scale) {
  const size_t bytes = n * dtype_size(dt);
  if (dev == Device::CPU) {
    sum_host(data, n, dt);
    if (scale != 1.0) scale_host(data, n, dt, scale);
    return;
  }
  if constexpr (kHaveCuda) {
    if (g_path == GpuPath::kNccl && scale == 1.0 / size()) {
      cuda::nccl_all_reduce_avg(static_cast<float*>(data), n);
      return;
    }
    if (g_path == GpuPath::kNccl) throw Error("dist: NCCL reduces to the average only");
    std::vector<char>& host = staging(bytes);
    cuda::copy_to_host(host.data(), data, bytes);
    sum_host(host.data(), n, dt);
    if (scale != 1.0) scale_host(host.data(), n, dt, scale);
    cuda::copy_to_device(data, host.data(), bytes);
  } else {
    backend::no_cuda("all_reduce");
  }
}

}  // namespace

std::string setup_gpu(const std::vector<int>& gpu_ids, const std::string& path) {
  if (path != "auto" && path != "nccl" && path != "host")
    throw Error("--dist_backend '" + path + "' is not one of auto, nccl, host");
  if constexpr (!kHaveCuda) {
    throw Error("this build has no CUDA backend");
  } else {
    const int lr = local_rank();
    int gpu = lr;
    if (!gpu_ids.empty()) {
      if (static_cast<int>(gpu_ids.size()) < local_size())
        throw Error("--gpu_ids names " + std::to_string(gpu_ids.size()) + " GPUs for " +
                    std::to_string(local_size()) + " ranks on this machine");
      gpu = gpu_ids[static_cast<size_t>(lr)];
    }
    const int count = cuda::device_count();
    if (!gpu_ids.empty() && (gpu < 0 || gpu >= count))
      throw Error("--gpu_ids names GPU " + std::to_string(gpu) + ", but this machine has " +
                  std::to_string(count) + " (0 to " + std::to_string(count - 1) + ")");
    if (gpu >= count) gpu = count > 0 ? gpu % count : gpu;  // more ranks than GPUs: they share
    cuda::set_device(gpu);
    // whether two ranks of a machine take one GPU: more ranks there than GPUs, or an id given twice
    bool twice = local_size() > count;
    for (size_t a = 0; a < gpu_ids.size() && static_cast<int>(a) < local_size(); ++a)
      for (size_t b = a + 1; b < gpu_ids.size() && static_cast<int>(b) < local_size(); ++b)
        twice = twice || gpu_ids[a] == gpu_ids[b];
    const int shared = all_reduce_max(twice ? 1 : 0);
    if (path == "nccl" && !cuda::nccl_available())
      throw Error("--dist_backend nccl: this build has no NCCL (nccl.h and libnccl with the CUDA toolkit)");
    if (path == "nccl" && shared)
      throw Error("--dist_backend nccl: two ranks share a GPU, which NCCL refuses; use --dist_backend host");
    const bool nccl = size() > 1 && path != "host" && cuda::nccl_available() && !shared;
    g_path = nccl ? GpuPath::kNccl : GpuPath::kHost;
    if (nccl) {
      std::string id(128, '\0');
      if (rank() == 0) id = cuda::nccl_unique_id();
      broadcast(id.data(), id.size(), 0);
      cuda::nccl_init(id, rank(), size());
    }
    return describe_rank() + ": GPU " + std::to_string(gpu) + ", gradients over " +
           (size() == 1 ? std::string("nothing (one rank)")
            : nccl      ? std::string("NCCL")
                        : std::string("MPI through host memory") +
                         (shared ? " (ranks share a GPU)" : " (no NCCL in this build)"));
  }
}

GpuPath gpu_path() { return g_path; }

void all_reduce_sum_(Tensor& t) {
  if (size() == 1) return;
  if (t.dtype() != DType::F32 && t.dtype() != DType::F64) throw Error("all_reduce_sum_: float tensors only");
  if (t.is_cuda() && g_path == GpuPath::kNccl) {
    // NCCL averages; the sum is the average times the rank count (exact for a power of two)
    reduce_buffer(t.raw(), t.device(), static_cast<size_t>(t.numel()), t.dtype(), 1.0 / size());
    Tensor s = t * static_cast<double>(size());
    backend::copy_bytes(t.raw(), t.device(), s.raw(), s.device(), t.nbytes());
  } else {
    reduce_buffer(t.raw(), t.device(), static_cast<size_t>(t.numel()), t.dtype(), 1.0);
  }
  t.bump_version();
}

void broadcast_(Tensor& t, int root) {
  if (size() == 1) return;
  if (t.is_cuda() && g_path == GpuPath::kNccl) {
    cuda::nccl_broadcast(t.raw(), t.nbytes(), root);
  } else if (t.is_cuda()) {
    std::vector<char>& host = staging(t.nbytes());
    backend::copy_bytes(host.data(), Device::CPU, t.raw(), t.device(), t.nbytes());
    broadcast(host.data(), t.nbytes(), root);
    backend::copy_bytes(t.raw(), t.device(), host.data(), Device::CPU, t.nbytes());
  } else {
    broadcast(t.raw(), t.nbytes(), root);
  }
  t.bump_version();
}

void average_gradients(const std::vector<Tensor>& grads, size_t bucket_bytes) {
  if (size() == 1 || grads.empty()) return;
  const auto start = std::chrono::steady_clock::now();
  const double scale = 1.0 / size();
  const Device dev = grads[0].device();
  const DType dt = grads[0].dtype();
  const size_t es = dtype_size(dt);
  for (const Tensor& g : grads)
    if (g.device() != dev || g.dtype() != dt)
      throw Error("average_gradients: gradients on one device in one dtype, got " + g.describe() + " and " +
                  grads[0].describe());
  // One bucket: a run of gradients packed end to end into one buffer (on their device), reduced,
  // and unpacked. A gradient larger than a bucket is reduced where it lies.
  Tensor bucket;  // (bucket_bytes / es) on dev, made once
  size_t i = 0;
  while (i < grads.size()) {
    const size_t first_bytes = grads[i].nbytes();
    if (first_bytes >= bucket_bytes) {
      Tensor g = grads[i];
      reduce_buffer(g.raw(), dev, static_cast<size_t>(g.numel()), dt, scale);
      g.bump_version();
      g_stats.bytes += static_cast<double>(first_bytes);
      ++i;
      continue;
    }
    size_t j = i, used = 0;
    while (j < grads.size() && used + grads[j].nbytes() <= bucket_bytes) used += grads[j++].nbytes();
    if (!bucket.defined()) bucket = Tensor::empty({static_cast<int64_t>(bucket_bytes / es)}, dt, dev);
    char* base = static_cast<char*>(bucket.raw());
    size_t off = 0;
    for (size_t k = i; k < j; ++k) {
      backend::copy_bytes(base + off, dev, grads[k].raw(), dev, grads[k].nbytes());
      off += grads[k].nbytes();
    }
    reduce_buffer(base, dev, used / es, dt, scale);
    off = 0;
    for (size_t k = i; k < j; ++k) {
      Tensor g = grads[k];
      backend::copy_bytes(g.raw(), dev, base + off, dev, g.nbytes());
      g.bump_version();
      off += g.nbytes();
    }
    g_stats.bytes += static_cast<double>(used);
    i = j;
  }
  if (dev != Device::CPU && g_path == GpuPath::kNccl) {
    if constexpr (kHaveCuda) cuda::synchronize();  // for the timing only
  }
  g_stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++g_stats.calls;
}

ReduceStats reduce_stats() { return g_stats; }

Tensor all_reduce_sum(const Tensor& x) {
  Tensor y = x.detach().clone();  // x's shape
  all_reduce_sum_(y);
  record("all_reduce_sum", {x}, y, [](const Tensor& dy, const Need&) {
    Tensor dx = dy.clone();  // the gradient at y summed over ranks: every rank's loss saw x
    all_reduce_sum_(dx);
    return Grads{dx};
  });
  return y;
}

}  // namespace cg::dist
