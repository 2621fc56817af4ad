#include "dist/comm.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "backend/types.h"

#if CG_HAVE_MPI
#include <mpi.h>
#endif

namespace cg::dist {

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
#if CG_HAVE_MPI
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  w.mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
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

}  // namespace cg::dist
