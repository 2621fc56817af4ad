#include "models/common/file_set.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "backend/types.h"
#include "data/files.h"

namespace cg::models {

namespace fs = std::filesystem;
using data::fsync_dir;

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

}  // namespace cg::models
