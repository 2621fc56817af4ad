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

namespace {

constexpr const char* kJournalTail = ".commit";

std::string journal_path(const std::string& dir, const std::string& set) {
  return (fs::path(dir) / (set + kJournalTail)).string();
}

// The file names a journal lists, one per line.
std::vector<std::string> journal_entries(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> v;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) v.push_back(line);
  return v;
}

}  // namespace

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void commit_file_set(const std::string& dir, const std::string& set, const std::vector<std::string>& names) {
  fsync_dir(dir);  // the .new files' entries are on disk before the journal that points at them
  const std::string journal = journal_path(dir, set);
  {
    std::FILE* f = std::fopen((journal + ".tmp").c_str(), "wb");
    if (!f) throw Error("cannot write '" + journal + ".tmp'");
    bool ok = true;
    for (const std::string& n : names) ok = ok && std::fprintf(f, "%s\n", n.c_str()) > 0;
    ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    ok = std::fclose(f) == 0 && ok;
    if (!ok) {
      std::remove((journal + ".tmp").c_str());
      throw Error("writing '" + journal + ".tmp' failed (the previous files are left as they were)");
    }
  }
  // The commit point: once the journal exists under its name, the new set is the set.
  fs::rename(journal + ".tmp", journal);
  fsync_dir(dir);
  recover_file_set(dir, set, [](const std::string&) { return false; });  // the renames
}

void recover_file_set(const std::string& dir, const std::string& set,
                      const std::function<bool(const std::string& file)>& member) {
  if (!fs::is_directory(dir)) return;
  const std::string journal = journal_path(dir, set);
  if (fs::exists(journal)) {  // the new set was complete: finish putting it in place
    for (const std::string& name : journal_entries(journal)) {
      const fs::path final_path = fs::path(dir) / name, fresh = final_path.string() + ".new";
      if (fs::exists(fresh)) fs::rename(fresh, final_path);
    }
    fsync_dir(dir);
    fs::remove(journal);
  }
  // Whatever is left is from a save that never completed: the old set stays.
  fs::remove(journal + ".tmp");
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    const bool partial = f.size() > 4 && (f.ends_with(".new") || f.ends_with(".tmp"));
    if (partial && member(f.substr(0, f.size() - 4))) fs::remove(e.path());
  }
}

std::vector<std::string> interrupted_file_sets(const std::string& dir) {
  std::vector<std::string> sets;
  if (!fs::is_directory(dir)) return sets;
  const std::string tail = kJournalTail;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.size() > tail.size() && f.ends_with(tail)) sets.push_back(f.substr(0, f.size() - tail.size()));
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

std::string committed_path(const std::string& dir, const std::string& set, const std::string& path) {
  if (fs::exists(journal_path(dir, set)) && fs::exists(path + ".new")) return path + ".new";
  return path;
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
