// Stopping a training run cleanly: SIGINT and SIGTERM (and, under mpirun, SIGUSR1 and SIGCONT)
// only record the signal while a StopSignals is alive; the training loop asks for it after each
// step, finishes the step and saves 'latest' before it exits.
#pragma once

namespace cg::models {

class StopSignals {
 public:
  // Installs the handlers (and forgets any signal seen before); `under_mpi` adds mpirun's two.
  explicit StopSignals(bool under_mpi);
  ~StopSignals();  // puts the previous handlers back
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // The signal received since, or 0.
  static int received();
};

// "interrupted (SIGINT)", "stopped (mpirun was told to stop)", ... for the stop message.
const char* signal_words(int sig);

}  // namespace cg::models
