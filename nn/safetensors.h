// safetensors files: an 8-byte little-endian header length, a JSON header mapping each name to
// {dtype, shape, data_offsets}, then the raw little-endian data. The format PyTorch users share
// weights in; we read and write F32 and F64.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>

#include "tensor/tensor.h"

namespace cg::safetensors {

struct Contents {
  std::map<std::string, Tensor> tensors;        // CPU tensors
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" entry
};

// Throws cg::Error naming the file (and the key) on anything malformed. Every size in the header
// is checked against the file's length before anything is allocated, so a forged header cannot
// make us allocate more than the file holds.
Contents load(const std::string& path);
// The same from a stream of `size` bytes (the fuzzer's entry point); `name` is used in errors.
Contents load(std::istream& in, uint64_t size, const std::string& name);

// Writes atomically: a temporary file in the same folder, flushed to disk, then renamed over
// `path`, so a crash mid-write never leaves a half-written file under the real name.
void save(const std::string& path, const std::map<std::string, Tensor>& tensors,
          const std::map<std::string, std::string>& metadata = {});

}  // namespace cg::safetensors
