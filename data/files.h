// Writing files so that readers see the old contents or the new, never half.
//
// One file: write_file_atomically puts the bytes in <path>.tmp and renames it over <path> once
// complete (the web pages, the ONNX export).
//
// A set of files that belong together (a checkpoint: its network files and its training state):
// the writer puts every new file at <dir>/<name>.new, complete and flushed; commit_file_set then
// writes a journal <dir>/<set>.commit listing the names (the commit point) and renames each .new
// over its name. A crash before the journal exists leaves the old set (the .new files are
// leftovers that recover_file_set removes); a crash after it leaves a complete new set, which
// readers take from the .new files (committed_path) and recover_file_set puts in place.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cg::data {

// Throws cg::Error naming the file if it cannot be written; the temporary file is removed then and
// `path` is left as it was.
void write_file_atomically(const std::string& path, const std::string& bytes);

// The commit of a set whose files <dir>/<name>.new are written (names are relative to dir):
// journal, renames, journal removed. Throws naming the journal if it cannot be written (the old
// set is left as it was).
void commit_file_set(const std::string& dir, const std::string& set, const std::vector<std::string>& names);

// Finishes an interrupted commit of `set` (its journal exists: the .new files are renamed into
// place) and removes what an uncommitted save of it left: every <file>.new or <file>.tmp whose
// <file> `member` claims, and a half-written journal.
void recover_file_set(const std::string& dir, const std::string& set,
                      const std::function<bool(const std::string& file)>& member);

// The sets in `dir` whose journal exists (commits that a crash interrupted), sorted.
std::vector<std::string> interrupted_file_sets(const std::string& dir);

// The file a reader takes for <path> of `set`: its complete new version while the set is being
// committed, else `path` itself.
std::string committed_path(const std::string& dir, const std::string& set, const std::string& path);

// Flushes a folder's entries (renames, new files) to disk; errors are ignored, as a folder that
// cannot be opened has nothing to flush.
void fsync_dir(const std::string& dir);

// One writer per folder: an exclusive lock (flock) on <dir>/<file>, held while the object lives.
// The kernel drops it when the process ends however it ends, so a crash never leaves it stuck;
// the file keeps who holds it (pid, host, start time, command) for the message of the next that
// tries. Throws cg::Error naming the folder and the holder when another process has it, and the
// file when it cannot be made.
class FolderLock {
 public:
  FolderLock(const std::string& dir, const std::string& file, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace cg::data
