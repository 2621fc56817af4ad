// safetensors files: an 8-byte little-endian header length, a JSON header mapping each name to
// {dtype, shape, data_offsets}, then the raw little-endian data. The format PyTorch users share
// weights in; we read and write F32 and F64.
#pragma once

#include <map>
#include <string>

#include "autograd/tensor.h"

namespace cg::safetensors {

struct Contents {
  std::map<std::string, Tensor> tensors;        // CPU tensors
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" entry
};

// Throws cg::Error naming the file (and the key) on anything malformed.
Contents load(const std::string& path);

// Writes atomically: a temporary file in the same folder, flushed to disk, then renamed over
// `path`, so a crash mid-write never leaves a half-written file under the real name.
void save(const std::string& path, const std::map<std::string, Tensor>& tensors,
          const std::map<std::string, std::string>& metadata = {});

}  // namespace cg::safetensors
