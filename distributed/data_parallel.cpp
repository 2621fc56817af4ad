#include "distributed/data_parallel.h"

#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "autograd/tape.h"
#include "backend/comm.h"
#include "backend/device.h"
#include "backend/dispatch.h"
#include "distributed/launch.h"
#include "ops/all_reduce.h"

namespace cg::distributed {

namespace {
ReduceStats g_stats;
}  // namespace

// ---- the process group ----

void DataParallel::init(int* argc, char*** argv) { comm::init(argc, argv); }
bool DataParallel::launched() { return comm::launched_size() > 1; }
std::optional<int> DataParallel::launch(int argc, char** argv, int ranks) {
  return launch_ranks(argc, argv, ranks);
}
void DataParallel::finalize() { comm::finalize(); }

DataParallel::DataParallel() : rank_(comm::rank()), size_(comm::size()) {}

std::string DataParallel::describe() const { return comm::describe_rank(); }

std::string DataParallel::setup_gpu(const std::vector<int>& gpu_ids, const std::string& backend) const {
  return comm::setup_gpu(gpu_ids, backend);
}

void DataParallel::same_start(const std::vector<nn::Module*>& networks) const {
  if (size_ == 1) return;
  NoGradGuard no_grad;
  for (nn::Module* net : networks) {
    for (auto [key, p] : net->named_parameters()) broadcast_(p);
    for (auto [key, b] : net->named_buffers()) broadcast_(b);
  }
}

void DataParallel::attach(nn::Adam& optimizer) const {
  // every step's gradients are averaged over the ranks before the update, so every rank takes the
  // same step (the one of the global batch)
  if (size_ > 1) optimizer.set_grad_hook([](const std::vector<Tensor>& g) { average_gradients(g); });
}

int DataParallel::agree_stop(int code) const { return size_ == 1 ? code : comm::all_reduce_max(code); }

bool DataParallel::any(bool flag) const {
  return size_ == 1 ? flag : comm::all_reduce_max(flag ? 1 : 0) != 0;
}

void DataParallel::mean(std::vector<double>& values) const {
  if (size_ == 1 || values.empty()) return;
  comm::all_reduce_sum(values.data(), values.size());
  for (double& v : values) v /= size_;
}

void DataParallel::barrier() const { comm::barrier(); }

void DataParallel::check_same(const std::string& text, const std::string& what) const {
  if (size_ == 1) return;
  // rank 0's text to every rank; each compares, and every rank learns whether any differed
  std::string root_text = text;
  uint64_t n = root_text.size();
  comm::broadcast(&n, sizeof n, 0);
  root_text.resize(n);
  comm::broadcast(root_text.data(), n, 0);
  std::string first;  // the first line of this rank's text that differs from rank 0's
  if (text != root_text) {
    std::istringstream mine(text), theirs(root_text);
    std::string a, b;
    while (true) {
      const bool more_a = static_cast<bool>(std::getline(mine, a));
      const bool more_b = static_cast<bool>(std::getline(theirs, b));
      if (!more_a && !more_b) break;
      if (a != b || more_a != more_b) {
        if (!more_a) a = "(nothing)";
        if (!more_b) b = "(nothing)";
        first.append("'").append(a).append("' where rank 0 has '").append(b).append("'");
        break;
      }
    }
  }
  const int bad_rank = comm::all_reduce_max(first.empty() ? -1 : rank_);
  if (bad_rank < 0) return;
  // the highest-numbered rank that differs says how; every rank ends with the same error
  std::string detail = first;
  uint64_t len = detail.size();
  comm::broadcast(&len, sizeof len, bad_rank);
  detail.resize(len);
  comm::broadcast(detail.data(), len, bad_rank);
  throw AgreedError("the ranks were given different " + what + ": rank " + std::to_string(bad_rank) +
                    " has " + detail + "; give every rank the same command line");
}

std::vector<std::string> DataParallel::gather(const std::string& mine) const { return comm::gather(mine); }

void DataParallel::abort_on_error(const std::exception& e) const {
  if (size_ == 1) return;
  // An error every rank has alike is said once, by rank 0, whose MPI_Abort ends the others; they
  // give it a few seconds to (an abort of theirs first could end rank 0 before it has spoken).
  if (rank_ != 0 && dynamic_cast<const AgreedError*>(&e)) {
    std::this_thread::sleep_for(std::chrono::seconds(3));
  } else {
    std::fprintf(stderr, "error on %s: %s\n", describe().c_str(), e.what());
  }
  std::fflush(stderr);
  comm::abort_job(1);
}

void DataParallel::abort_job(int code) const {
  if (size_ == 1) return;
  std::fflush(stdout);
  std::fflush(stderr);
  comm::abort_job(code);
}

// ---- the bucketed gradient average ----

void average_gradients(const std::vector<Tensor>& grads, size_t bucket_bytes) {
  if (comm::size() == 1 || grads.empty()) return;
  const auto start = std::chrono::steady_clock::now();
  const double scale = 1.0 / comm::size();
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
      comm::all_reduce_sum(g.raw(), static_cast<size_t>(g.numel()), dt, dev, scale);
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
    comm::all_reduce_sum(base, used / es, dt, dev, scale);
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
  if (dev != Device::CPU && comm::gpu_path() == comm::GpuPath::kNccl)
    backend::synchronize(dev);  // for the timing only
  g_stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++g_stats.calls;
}

ReduceStats reduce_stats() { return g_stats; }

}  // namespace cg::distributed
