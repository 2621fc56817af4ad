// NCCL for the ranks of a data-parallel run, one GPU each: bootstrapped by the unique id that rank 0
// makes and MPI broadcasts (backend/comm.cpp), then all-reduces and broadcasts on the
// framework's stream, so they order with the kernels around them and can be captured in a graph.
#include <algorithm>

#include "cuda/device_api.h"
#include "cuda/runtime.h"

#if CG_HAVE_NCCL
#include <nccl.h>
#endif

namespace cg::cuda {

#if CG_HAVE_NCCL
namespace {
ncclComm_t g_comm = nullptr;

void nccl_check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw Error(std::string("NCCL error in ") + what + ": " + ncclGetErrorString(r));
}
}  // namespace

bool nccl_available() { return true; }

std::string nccl_unique_id() {
  ncclUniqueId id;
  nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  return std::string(id.internal, sizeof id.internal);
}

void nccl_init(const std::string& unique_id, int rank, int size) {
  ncclUniqueId id;
  if (unique_id.size() != sizeof id.internal) throw Error("nccl_init: the unique id must be 128 bytes");
  std::copy(unique_id.begin(), unique_id.end(), id.internal);
  nccl_check(ncclCommInitRank(&g_comm, size, id, rank), "ncclCommInitRank");
}

void nccl_finalize() {
  if (!g_comm) return;
  ncclCommDestroy(g_comm);
  g_comm = nullptr;
}

void nccl_all_reduce(float* data, size_t n, bool average) {
  if (!g_comm) throw Error("nccl_all_reduce before nccl_init");
  nccl_check(ncclAllReduce(data, data, n, ncclFloat32, average ? ncclAvg : ncclSum, g_comm, stream()),
             "ncclAllReduce");
}

void nccl_broadcast(void* data, size_t bytes, int root) {
  if (!g_comm) throw Error("nccl_broadcast before nccl_init");
  nccl_check(ncclBroadcast(data, data, bytes, ncclUint8, root, g_comm, stream()), "ncclBroadcast");
}
#else
[[noreturn]] static void no_nccl() {
  throw Error("this build has no NCCL (nccl.h and libnccl were not found with the CUDA toolkit)");
}
bool nccl_available() { return false; }
std::string nccl_unique_id() { no_nccl(); }
void nccl_init(const std::string&, int, int) { no_nccl(); }
void nccl_finalize() {}
void nccl_all_reduce(float*, size_t, bool) { no_nccl(); }
void nccl_broadcast(void*, size_t, int) { no_nccl(); }
#endif

}  // namespace cg::cuda
