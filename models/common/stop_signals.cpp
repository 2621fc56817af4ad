#include "models/common/stop_signals.h"

#include <csignal>
#include <vector>

namespace cg::models {

namespace {

// The handler only records the signal; the loop acts on it.
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_stop_signal(int sig) { g_signal = sig; }

struct Installed {
  std::vector<int> signals;
  std::vector<struct sigaction> old;
};
Installed g_installed;

}  // namespace

// Under mpirun two more: mpirun forwards SIGUSR1 to every rank, and when it is itself told to stop
// (SIGINT, SIGTERM) its first word to the ranks is SIGCONT, then SIGTERM a second later, then
// SIGKILL a second after that (OpenMPI 4's odls_base_sigkill_timeout, 1 s): the ranks act on the
// SIGCONT, so that they have those seconds to finish the step and save.
StopSignals::StopSignals(bool under_mpi) {
  g_signal = 0;
  Installed& in = g_installed;
  in.signals = {SIGINT, SIGTERM};
  if (under_mpi) in.signals.insert(in.signals.end(), {SIGUSR1, SIGCONT});
  in.old.resize(in.signals.size());
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < in.signals.size(); ++i) sigaction(in.signals[i], &sa, &in.old[i]);
}

StopSignals::~StopSignals() {
  Installed& in = g_installed;
  for (size_t i = 0; i < in.signals.size(); ++i) sigaction(in.signals[i], &in.old[i], nullptr);
  in.signals.clear();
  in.old.clear();
}

int StopSignals::received() { return static_cast<int>(g_signal); }

const char* signal_words(int sig) {
  switch (sig) {
    case SIGINT:
      return "interrupted (SIGINT)";
    case SIGTERM:
      return "terminated (SIGTERM)";
    case SIGUSR1:
      return "stopped (SIGUSR1)";
    case SIGCONT:
      return "stopped (mpirun was told to stop)";
    default:
      return "stopped";
  }
}

}  // namespace cg::models
