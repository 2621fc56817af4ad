#include "data/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
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

bool within_folder(const std::string& inner, const std::string& outer) {
  const fs::path i = fs::weakly_canonical(fs::absolute(inner)), o = fs::weakly_canonical(fs::absolute(outer));
  auto at = i.begin();
  for (auto part = o.begin(); part != o.end(); ++part, ++at) {
    if (part->empty() && std::next(part) == o.end()) break;  // "a/b/": the trailing empty part
    if (at == i.end() || *at != *part) return false;
  }
  return true;
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
  for (fs::path p = fs::absolute(dir); !p.empty() && !fs::exists(p); p = p.parent_path()) {
    made_.push_back(p.string());
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir);
  path_ = (fs::path(dir) / file).string();
  // The holder removes the file when it lets go: a lock taken on a file that is no longer the one
  // under the name (removed between our open and our flock) is no lock, so that case tries again.
  for (;;) {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error("cannot open the lock file '" + path_ + "': " + std::strerror(errno));
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder(4096, '\0');
      const ssize_t n = pread(fd_, holder.data(), holder.size(), 0);
      holder.resize(n > 0 ? static_cast<size_t>(n) : 0);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
      close(fd_);
      fd_ = -1;
      if (err != EWOULDBLOCK) throw Error("cannot lock '" + path_ + "': " + std::strerror(err));
      throw Error(what + " '" + dir + "' is in use by another training (" +
                  (holder.empty() ? std::string("holder unknown") : holder) +
                  "); wait for it to end, stop it, or train under another --name");
    }
    struct stat held {
    }, named{};
    if (fstat(fd_, &held) == 0 && stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino)
      break;
    close(fd_);  // the file we locked was removed meanwhile: lock the one under the name now
    fd_ = -1;
  }
  const std::string line = holder_line() + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, line.data(), line.size(), 0) < 0) {
  }  // who holds it is for messages only: the lock itself is the flock
}

FolderLock::~FolderLock() {
  if (fd_ < 0) return;
  // removed while still held, so that nobody can lock the old file once we let go of it
  ::unlink(path_.c_str());
  close(fd_);
  std::error_code ec;
  for (const std::string& d : made_)
    if (!fs::remove(d, ec)) break;  // not empty (the run wrote there), or gone: keep the rest
}

}  // namespace cg::data
