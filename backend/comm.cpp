#include "backend/comm.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backend/device.h"
#include "backend/dispatch.h"
#include "backend/types.h"
#include "cuda/device_api.h"

#if CG_HAVE_MPI
#include <mpi.h>
#endif

namespace cg::comm {

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (*end == '\0' && x >= 0 && x < INT_MAX) ? static_cast<int>(x) : -1;
}

struct World {
  bool initialised = false;  // init() ran
  bool mpi = false;          // MPI_Init was called by us
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
};
World& world() {
  static World w;
  return w;
}

#if CG_HAVE_MPI
// MPI counts are ints: large buffers go in pieces.
constexpr size_t kChunk = size_t{1} << 30;

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(std::string(what) + " failed on " + describe_rank() + ": " + std::string(msg, len));
}

template <class T>
void all_reduce_sum_impl(T* data, size_t n, MPI_Datatype type) {
  if (world().size == 1 || n == 0) return;
  for (size_t off = 0; off < n; off += kChunk)
    check(MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(kChunk, n - off)), type, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
}
#endif

// Which variable says how many ranks were launched, as "NAME=value" (for messages).
std::string launch_variable() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (env_int(name) >= 1) return std::string(name) + "=" + std::getenv(name);
  return "";
}

constexpr const char* kHowToLaunch =
    "launch the ranks so that they form one MPI world: `srun --mpi=pmix -n N ...` under Slurm, or "
    "`mpirun -np N ...`";

}  // namespace

bool have_mpi() { return CG_HAVE_MPI != 0; }

int launched_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (const int n = env_int(name); n >= 1) return n;
  return 1;
}

void init(int* argc, char*** argv) {
  World& w = world();
  if (w.initialised) return;
  w.initialised = true;
  const int launched = launched_size();
  if (launched <= 1) return;  // alone: MPI is never started (a singleton MPI_Init spawns helpers)
  // srun without a process-management interface (--mpi=none): every process would start MPI as a
  // singleton, "rank 0 of 1", and train alone on the same experiment.
  const bool any_pmi = std::getenv("PMIX_RANK") || std::getenv("PMI_RANK") || std::getenv("PMI_FD") ||
                       std::getenv("OMPI_COMM_WORLD_RANK");
  if (!any_pmi)
    throw Error("this process was started as one of " + std::to_string(launched) + " tasks (" +
                launch_variable() +
                ") but was given no process-management interface (no PMIx or PMI variables: srun "
                "--mpi=none?), so the tasks cannot form one world and each would train alone; " +
                kHowToLaunch);
#if CG_HAVE_MPI
  // srun --mpi=pmi2: Debian's Open MPI takes srun's tasks through PMIx only, and aborts in MPI_Init
  // with its own words; ours first, since nothing of ours runs after that abort
  if (!std::getenv("PMIX_RANK") && !std::getenv("OMPI_COMM_WORLD_RANK") && std::getenv("PMI_FD"))
    std::fprintf(stderr,
                 "note: started by srun with PMI-2; if MPI_Init fails below, this MPI joins srun's tasks "
                 "through PMIx: launch with `srun --mpi=pmix`\n");
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  w.mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  if (w.size != launched) {
    const std::string what =
        "this process is rank " + std::to_string(w.rank) + " of an MPI world of " + std::to_string(w.size) +
        ", but the launcher started " + std::to_string(launched) + " (" + launch_variable() +
        "): the processes do not form one world, and each would train alone; " + kHowToLaunch;
    finalize();
    w.rank = 0;
    w.size = 1;
    throw Error(what);
  }
  // the ranks of this machine: a communicator of those that share memory
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &w.local_rank);
  MPI_Comm_size(local, &w.local_size);
  MPI_Comm_free(&local);
  std::atexit([] { finalize(); });
#else
  (void)argc;
  (void)argv;
  throw Error("this process was launched as one of " + std::to_string(launched) +
              " ranks (mpirun or srun), but this build has no MPI, so the ranks could not share their "
              "work: each would train alone on the same experiment. Install libopenmpi-dev and rebuild "
              "(CMake finds MPI), or run one process");
#endif
}

void finalize() {
#if CG_HAVE_MPI
  World& w = world();
  if (!w.mpi) return;
  w.mpi = false;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
#endif
}

void abort_job(int code) {
#if CG_HAVE_MPI
  if (world().mpi && world().size > 1) MPI_Abort(MPI_COMM_WORLD, code);
#else
  (void)code;
#endif
}

int rank() { return world().rank; }
int size() { return world().size; }
int local_rank() { return world().local_rank; }
int local_size() { return world().local_size; }

std::string describe_rank() {
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  return "rank " + std::to_string(rank()) + " of " + std::to_string(size()) + " (pid " +
         std::to_string(getpid()) + " on host " + host + ")";
}

#if CG_HAVE_MPI
void all_reduce_sum(float* data, size_t n) { all_reduce_sum_impl(data, n, MPI_FLOAT); }
void all_reduce_sum(double* data, size_t n) { all_reduce_sum_impl(data, n, MPI_DOUBLE); }

int all_reduce_max(int value) {
  if (size() == 1) return value;
  int out = value;
  check(MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

void broadcast(void* data, size_t bytes, int root) {
  if (size() == 1) return;
  char* p = static_cast<char*>(data);
  for (size_t off = 0; off < bytes; off += kChunk)
    check(MPI_Bcast(p + off, static_cast<int>(std::min(kChunk, bytes - off)), MPI_BYTE, root, MPI_COMM_WORLD),
          "MPI_Bcast");
}

std::vector<std::string> gather(const std::string& mine, int root) {
  if (size() == 1) return {mine};
  if (mine.size() > static_cast<size_t>(INT_MAX)) throw Error("dist::gather: more than 2 GiB from one rank");
  const int len = static_cast<int>(mine.size());
  std::vector<int> lens(static_cast<size_t>(size())), offs(static_cast<size_t>(size()));
  check(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Gather");
  std::vector<char> all;
  if (rank() == root) {
    size_t total = 0;
    for (size_t r = 0; r < lens.size(); ++r) {
      if (total + static_cast<size_t>(lens[r]) > static_cast<size_t>(INT_MAX))
        throw Error("dist::gather: more than 2 GiB in all");
      offs[r] = static_cast<int>(total);
      total += static_cast<size_t>(lens[r]);
    }
    all.resize(std::max<size_t>(total, 1));
  }
  check(MPI_Gatherv(mine.data(), len, MPI_BYTE, all.data(), lens.data(), offs.data(), MPI_BYTE, root,
                    MPI_COMM_WORLD),
        "MPI_Gatherv");
  std::vector<std::string> out;
  if (rank() == root)
    for (size_t r = 0; r < lens.size(); ++r)
      out.emplace_back(all.data() + offs[r], static_cast<size_t>(lens[r]));
  return out;
}

void barrier() {
  if (size() > 1) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}
#else
// Alone, every collective is the identity.
void all_reduce_sum(float*, size_t) {}
void all_reduce_sum(double*, size_t) {}
int all_reduce_max(int value) { return value; }
void broadcast(void*, size_t, int) {}
std::vector<std::string> gather(const std::string& mine, int) { return {mine}; }
void barrier() {}
#endif

// ---- GPUs, and collectives on any device's memory ----

namespace {

GpuPath g_path = GpuPath::kHost;

// Host memory for the host-staged path, kept between calls.
[[maybe_unused]] std::vector<char>& staging(size_t bytes) {  // GPU paths only
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
    const int count = backend::gpu_count();
    if (!gpu_ids.empty() && (gpu < 0 || gpu >= count))
      throw Error("--gpu_ids names GPU " + std::to_string(gpu) + ", but this machine has " +
                  std::to_string(count) + " (0 to " + std::to_string(count - 1) + ")");
    if (gpu >= count) gpu = count > 0 ? gpu % count : gpu;  // more ranks than GPUs: they share
    backend::set_gpu(gpu);
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

void all_reduce_sum(void* data, size_t n, DType dt, Device device, double scale) {
  if (size() == 1 || n == 0) return;
  if (dt != DType::F32 && dt != DType::F64) throw Error("all_reduce_sum: float32 or float64 values only");
  const size_t bytes = n * dtype_size(dt);
  if (device == Device::CPU) {
    sum_host(data, n, dt);
    if (scale != 1.0) scale_host(data, n, dt, scale);
    return;
  }
  if constexpr (kHaveCuda) {
    const bool average = scale == 1.0 / size();
    if (g_path == GpuPath::kNccl && (average || scale == 1.0)) {  // float32: the only dtype on the GPU
      cuda::nccl_all_reduce(static_cast<float*>(data), n, average);
      return;
    }
    if (g_path == GpuPath::kNccl) throw Error("all_reduce_sum: NCCL reduces to the sum or the average only");
    std::vector<char>& host = staging(bytes);
    backend::copy_bytes(host.data(), Device::CPU, data, device, bytes);
    sum_host(host.data(), n, dt);
    if (scale != 1.0) scale_host(host.data(), n, dt, scale);
    backend::copy_bytes(data, device, host.data(), Device::CPU, bytes);
  } else {
    backend::no_cuda("all_reduce_sum");
  }
}

void broadcast(void* data, size_t bytes, Device device, int root) {
  if (size() == 1) return;
  if (device == Device::CPU) return broadcast(data, bytes, root);
  if constexpr (kHaveCuda) {
    if (g_path == GpuPath::kNccl) return cuda::nccl_broadcast(data, bytes, root);
    std::vector<char>& host = staging(bytes);
    backend::copy_bytes(host.data(), Device::CPU, data, device, bytes);
    broadcast(host.data(), bytes, root);
    backend::copy_bytes(data, device, host.data(), Device::CPU, bytes);
  } else {
    backend::no_cuda("broadcast");
  }
}

}  // namespace cg::comm
