// What a training run shows and logs: the progress line on a terminal, the official loss line,
// loss_log.txt and loss_log.csv in the experiment folder, and the official print_networks. Only
// rank 0 of a data-parallel run makes one.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "models/common/model.h"
#include "models/common/options.h"

namespace cg::models {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t);
// "01:02:03" or "2d 01:02:03" ("--:--:--" for an unknown time).
std::string hms(double seconds);

// Progress on stdout and the two loss logs in the experiment folder.
class Reporter {
 public:
  // `live`: a progress line redrawn in place (a terminal of one process; mpirun's pty is not the
  // user's).
  Reporter(const Options& opt, const std::vector<std::string>& loss_names, bool quiet, bool live);
  ~Reporter();

  // Any line for the user (the live line, if shown, is cleared first and redrawn later).
  void say(const std::string& line);
  // A warning or a stop, to stderr (quiet or not), the live line cleared first.
  void warn(const std::string& line);
  // The official loss line, to loss_log.txt always and to stdout when no live line is shown;
  // the same values at full precision to loss_log.csv.
  void losses(int epoch, int64_t iters, const std::vector<std::pair<std::string, double>>& l, double t_comp,
              double t_data);
  // Whether the live line would be redrawn now (terminals only, at most 5 times a second).
  bool progress_due() const;
  // The live line (terminals only), redrawn at most 5 times a second.
  void progress(int epoch, int total_epochs, int64_t epoch_iter, int64_t epoch_len, double its, double eta,
                const std::vector<std::pair<std::string, double>>& l);

 private:
  void clear_live();
  bool quiet_, live_, shown_ = false;
  Clock::time_point last_draw_{};
  std::ofstream txt_, csv_;
};

// The official print_networks: each network's parameter count, and with --verbose its layers
// (here: every parameter's name and shape, in state-dict order).
void print_networks(const Model& m, bool verbose);

}  // namespace cg::models
