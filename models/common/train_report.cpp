#include "models/common/train_report.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "models/common/checkpoint.h"

namespace cg::models {

namespace fs = std::filesystem;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string hms(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--:--";
  const long t = static_cast<long>(s);
  char buf[64];
  if (t >= 86400)
    std::snprintf(buf, sizeof buf, "%ldd %02ld:%02ld:%02ld", t / 86400, t / 3600 % 24, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  return buf;
}

Reporter::Reporter(const Options& opt, const std::vector<std::string>& loss_names, bool quiet, bool live)
    : quiet_(quiet), live_(!quiet && live && isatty(STDOUT_FILENO)) {
  const std::string dir = experiment_dir(opt);
  txt_.open(dir + "/loss_log.txt", std::ios::app);
  const std::string csv_path = dir + "/loss_log.csv";
  const bool fresh = !fs::exists(csv_path) || fs::file_size(csv_path) == 0;
  csv_.open(csv_path, std::ios::app);
  if (!txt_ || !csv_) throw Error("cannot write the loss logs in '" + dir + "'");
  if (fresh) {
    csv_ << "epoch,iters";
    for (const std::string& n : loss_names) csv_ << "," << n;
    csv_ << "\n" << std::flush;
  }
  char now[128];
  const std::time_t t = std::time(nullptr);
  std::strftime(now, sizeof now, "%c", std::localtime(&t));
  txt_ << "================ Training Loss (" << now << ") ================\n" << std::flush;
}

Reporter::~Reporter() { clear_live(); }

void Reporter::say(const std::string& line) {
  if (quiet_) return;
  clear_live();
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void Reporter::warn(const std::string& line) {
  clear_live();
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void Reporter::losses(int epoch, int64_t iters, const std::vector<std::pair<std::string, double>>& l,
                      double t_comp, double t_data) {
  char head[128];
  std::snprintf(head, sizeof head, "(epoch: %d, iters: %lld, time: %.3f, data: %.3f) ", epoch,
                static_cast<long long>(iters), t_comp, t_data);
  std::string msg = head;
  for (const auto& [k, v] : l) {
    char item[64];
    std::snprintf(item, sizeof item, "%s: %.3f ", k.c_str(), v);
    msg += item;
  }
  txt_ << msg << "\n" << std::flush;
  csv_ << epoch << "," << iters;
  for (const auto& [k, v] : l) {
    char num[32];
    std::snprintf(num, sizeof num, ",%.9g", v);  // 9 significant digits: every float32 exactly
    csv_ << num;
  }
  csv_ << "\n" << std::flush;
  if (!live_) say(msg);
}

bool Reporter::progress_due() const { return live_ && seconds_since(last_draw_) >= 0.2; }

void Reporter::progress(int epoch, int total_epochs, int64_t epoch_iter, int64_t epoch_len, double its,
                        double eta, const std::vector<std::pair<std::string, double>>& l) {
  if (!progress_due()) return;
  last_draw_ = Clock::now();
  char head[160];
  std::snprintf(head, sizeof head, "epoch %d/%d  iter %lld/%lld  %.2f it/s  ETA %s |", epoch, total_epochs,
                static_cast<long long>(epoch_iter), static_cast<long long>(epoch_len), its, hms(eta).c_str());
  std::string line = head;
  for (const auto& [k, v] : l) {
    char item[48];
    std::snprintf(item, sizeof item, " %s %.3f", k.c_str(), v);
    line += item;
  }
  std::printf("\r%s\033[K", line.c_str());
  std::fflush(stdout);
  shown_ = true;
}

void Reporter::clear_live() {
  if (shown_) {
    std::printf("\r\033[K");
    shown_ = false;
  }
}

void print_networks(const Model& m, bool verbose) {
  std::printf("---------- Networks initialized -------------\n");
  for (const auto& [name, net] : m.networks()) {
    int64_t n = 0;
    for (const auto& [key, p] : net->named_parameters()) {
      n += p.numel();
      if (verbose) std::printf("  %s.%s %s\n", name.c_str(), key.c_str(), shape_str(p.shape()).c_str());
    }
    std::printf("[Network %s] Total number of parameters : %.3f M\n", name.c_str(),
                static_cast<double>(n) / 1e6);
  }
  std::printf("-----------------------------------------------\n");
}

}  // namespace cg::models
