#include "data/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "backend/types.h"

namespace cg::data {

namespace fs = std::filesystem;

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("cannot write '" + tmp + "': " + why);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// ---- one writer per folder ----

namespace {
// "pid 1234 on host gpu7 since 2026-12-02 22:31:05 UTC: /path/cyclegan_train --name x ..."
std::string holder_line() {
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  char when[64];
  const std::time_t t = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&t));
  std::string cmd;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  for (std::string arg; std::getline(in, arg, '\0');) cmd += (cmd.empty() ? "" : " ") + arg;
  return "pid " + std::to_string(getpid()) + " on host " + host + " since " + when +
         (cmd.empty() ? "" : ": " + cmd);
}
}  // namespace

FolderLock::FolderLock(const std::string& dir, const std::string& file, const std::string& what) {
  fs::create_directories(dir);
  const std::string path = (fs::path(dir) / file).string();
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open the lock file '" + path + "': " + std::strerror(errno));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder(4096, '\0');
    const ssize_t n = pread(fd_, holder.data(), holder.size(), 0);
    holder.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK) throw Error("cannot lock '" + path + "': " + std::strerror(err));
    throw Error(what + " '" + dir + "' is in use by another training (" +
                (holder.empty() ? std::string("holder unknown") : holder) +
                "); wait for it to end, stop it, or train under another --name");
  }
  const std::string line = holder_line() + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, line.data(), line.size(), 0) < 0) {
  }  // who holds it is for messages only: the lock itself is the flock
}

FolderLock::~FolderLock() {
  if (fd_ < 0) return;
  if (ftruncate(fd_, 0) != 0) {
  }  // an empty file: nobody holds it (the flock goes with the close)
  close(fd_);
}

}  // namespace cg::data
