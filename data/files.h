// Writing files so that readers see the old contents or the new, never half: write_file_atomically
// puts the bytes in <path>.tmp and renames it over <path> once complete (the web pages, the ONNX
// export). A set of files replaced together (a checkpoint) is models/common/file_set.h's. And one
// writer per folder (FolderLock).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cg::data {

// Throws cg::Error naming the file if it cannot be written; the temporary file is removed then and
// `path` is left as it was.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Flushes a folder's entries (renames, new files) to disk; errors are ignored, as a folder that
// cannot be opened has nothing to flush.
void fsync_dir(const std::string& dir);

// Whether `inner` is the folder `outer` or lies below it, links resolved (the part of each path
// that exists is resolved: either may name a folder not made yet).
bool within_folder(const std::string& inner, const std::string& outer);

// One writer per folder: an exclusive lock (flock) on <dir>/<file>, held while the object lives.
// The kernel drops it when the process ends however it ends, so a crash never leaves it stuck;
// the file keeps who holds it (pid, host, start time, command) for the message of the next that
// tries. Throws cg::Error naming the folder and the holder when another process has it, and the
// file when it cannot be made. Released, it leaves nothing behind: the lock file is removed, and
// so are the folders it made if they are still empty (a run that failed before writing anything
// leaves no experiment folder).
class FolderLock {
 public:
  FolderLock(const std::string& dir, const std::string& file, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
  std::string path_;               // the lock file
  std::vector<std::string> made_;  // the folders the lock made, deepest first
};

}  // namespace cg::data
