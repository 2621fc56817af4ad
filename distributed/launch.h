// The official user's habit, `cyclegan_train --gpu_ids 0,1,2,3 ...`: one plain command that starts
// a rank per GPU itself, through mpirun, on this machine.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cg::distributed {

// The command that runs `ranks` copies of this program with its arguments: mpirun -np N
// --bind-to none <program> <argv[1..]>. Throws when there is no mpirun on PATH.
std::vector<std::string> launch_command(const std::string& program, int argc, char** argv, int ranks);

// When `ranks` > 1 and this process is not a rank of a launch already: runs launch_command as a
// child, with mpirun's grace before it kills the ranks raised to 30 s (so that a stop can save),
// passes SIGINT and SIGTERM on to it, and returns its exit status. Nothing otherwise: the caller
// trains in this process. Throws naming what is missing (MPI in this build, mpirun).
std::optional<int> launch_ranks(int argc, char** argv, int ranks);

}  // namespace cg::distributed
