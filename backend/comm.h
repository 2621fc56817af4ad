// The process group of a data-parallel run, at the device boundary: every rank of an MPI launch
// (mpirun, srun), or this process alone. MPI launches the ranks and tells each its rank and local
// rank; host memory moves over MPI, GPU memory over NCCL when every rank has a GPU of its own, else
// through the host (copied out, reduced over MPI, copied back: two ranks on one GPU, which NCCL
// refuses). Tensors go through ops/all_reduce.h, data parallelism through distributed/. A build
// without MPI (CG_HAVE_MPI=0) runs alone and refuses to be one of several ranks (init throws).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "backend/types.h"

namespace cg::comm {

// Whether this build has MPI.
bool have_mpi();

// How many ranks the launcher says this process is one of (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
// PMIX_SIZE, srun's SLURM_STEP_NUM_TASKS), 1 when none says so.
int launched_size();

// Joins the launch's process group: MPI_Init when launched as one of several ranks (with MPI), and
// a check that a build without MPI is not one of several. Refuses a launch whose processes do not
// form one world (srun without --mpi=pmix: each process "rank 0 of 1" while the launcher says N):
// each would train alone on the same experiment. Call once, first thing in main; a second call
// does nothing. Throws cg::Error naming what is missing and how to launch instead.
void init(int* argc, char*** argv);
// Leaves it (MPI_Finalize); at exit if not called.
void finalize();
// Ends every rank of the job at once with `code` (MPI_Abort): what a rank does on an error, so
// that the others do not wait for it in a collective forever. Returns normally when alone.
void abort_job(int code);

int rank();        // 0 .. size() - 1
int size();        // 1 when alone
int local_rank();  // the rank among those on this machine (which GPU it takes)
int local_size();
inline bool is_root() { return rank() == 0; }
// "rank 1 of 4 (pid 1234 on host gpu7)", for messages.
std::string describe_rank();

// ---- collectives on host memory (no-ops when alone). Every rank must call them in the same
// order with the same sizes, as MPI requires. ----
void all_reduce_sum(float* data, size_t n);
void all_reduce_sum(double* data, size_t n);
int all_reduce_max(int value);
void broadcast(void* data, size_t bytes, int root = 0);
// At `root`: every rank's `mine`, in rank order; elsewhere: empty.
std::vector<std::string> gather(const std::string& mine, int root = 0);
void barrier();

// ---- GPUs ----
enum class GpuPath { kNccl, kHost };
// For a run on the GPU: makes the local rank's GPU this process's (gpu_ids[local_rank] when given,
// else the local rank), and sets up the GPU collectives: `path` "nccl", "host" or "auto" (NCCL
// when this build has it and no two ranks of this machine share a GPU). Returns what it chose, as a
// line for the log. Call on every rank, after init and before any CUDA work.
std::string setup_gpu(const std::vector<int>& gpu_ids, const std::string& path);
GpuPath gpu_path();

// ---- collectives on the memory of any device (no-ops when alone) ----
// In place: `n` values of `dt` (float32 or float64) at `data` on `device` become the sum over
// ranks, times `scale`.
void all_reduce_sum(void* data, size_t n, DType dt, Device device, double scale = 1.0);
// In place: rank `root`'s `bytes` at `data` on `device`.
void broadcast(void* data, size_t bytes, Device device, int root = 0);

}  // namespace cg::comm
