#include "distributed/launch.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "backend/types.h"
#include "backend/comm.h"

namespace cg::distributed {

namespace {
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    const size_t end = p.find(':', start);
    const std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (access(cand.c_str(), X_OK) == 0) return cand;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

volatile std::sig_atomic_t g_child = 0;
extern "C" void pass_on(int sig) {
  if (g_child > 0) kill(static_cast<pid_t>(g_child), sig);
}
}  // namespace

std::vector<std::string> launch_command(const std::string& program, int argc, char** argv, int ranks) {
  const std::string mpirun = find_on_path("mpirun");
  if (mpirun.empty())
    throw Error("--gpu_ids names " + std::to_string(ranks) +
                " GPUs, which takes one rank each, but there is no mpirun on PATH (Debian: apt-get install "
                "openmpi-bin)");
  std::vector<std::string> cmd = {mpirun, "-np", std::to_string(ranks), "--bind-to", "none", program};
  for (int i = 1; i < argc; ++i) cmd.emplace_back(argv[i]);
  return cmd;
}

std::optional<int> launch_ranks(int argc, char** argv, int ranks) {
  if (ranks <= 1 || comm::launched_size() > 1) return std::nullopt;
  if (!comm::have_mpi())
    throw Error("--gpu_ids names " + std::to_string(ranks) +
                " GPUs, one rank each, but this build has no MPI (install libopenmpi-dev and rebuild)");
  std::error_code ec;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  const std::vector<std::string> cmd = launch_command(ec ? std::string(argv[0]) : self, argc, argv, ranks);
  // mpirun's default grace between SIGTERM and SIGKILL to the ranks is 1 s: too short to save
  setenv("OMPI_MCA_odls_base_sigkill_timeout", "30", 0);
  // a container's root is the usual user of a GPU machine; mpirun refuses root unless told
  if (geteuid() == 0) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }
  std::fprintf(stderr, "starting %d ranks:", ranks);
  for (const std::string& a : cmd) std::fprintf(stderr, " %s", a.c_str());
  std::fprintf(stderr, "\n");
  std::vector<char*> args;
  for (const std::string& a : cmd) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw Error("cannot start mpirun (fork failed)");
  if (pid == 0) {
    execv(args[0], args.data());
    _exit(127);
  }
  g_child = pid;
  struct sigaction sa {};
  sa.sa_handler = pass_on;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace cg::distributed
