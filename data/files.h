// Writing a whole file so that readers see the old contents or the new, never half: the bytes go
// to <path>.tmp, which is renamed over <path> once complete (the web pages, the ONNX export).
#pragma once

#include <string>

namespace cg::data {

// Throws cg::Error naming the file if it cannot be written; the temporary file is removed then and
// `path` is left as it was.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace cg::data
