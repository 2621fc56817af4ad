// The process group of a data-parallel run: every rank of an MPI launch (mpirun, srun), or this
// process alone. MPI launches the ranks and tells each its rank and local rank; the collectives
// here move host memory over MPI. GPU tensors go through dist/collectives.h, which picks NCCL or a
// host-staged MPI path. A build without MPI (CG_HAVE_MPI=0) runs alone and refuses to be one of
// several ranks (init throws).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cg::dist {

// Whether this build has MPI.
bool have_mpi();

// How many ranks the launcher says this process is one of (OMPI_COMM_WORLD_SIZE, PMI_SIZE, srun's
// SLURM_STEP_NUM_TASKS), 1 when none says so.
int launched_size();

// Joins the launch's process group: MPI_Init when launched as one of several ranks (with MPI), and
// a check that a build without MPI is not one of several. Call once, first thing in main; a second
// call does nothing. Throws cg::Error naming what is missing.
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

}  // namespace cg::dist
