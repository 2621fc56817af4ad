// A set of files that belong together (a checkpoint: its network files and its training state),
// replaced so that readers see the old set or the new, never a mix: the writer puts every new file
// at <dir>/<name>.new, complete and flushed; commit_file_set then writes a journal
// <dir>/<set>.commit listing the names (the commit point) and renames each .new over its name. A
// crash before the journal exists leaves the old set (the .new files are leftovers that
// recover_file_set removes); a crash after it leaves a complete new set, which readers take from
// the .new files (committed_path) and recover_file_set puts in place.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cg::models {

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

}  // namespace cg::models
