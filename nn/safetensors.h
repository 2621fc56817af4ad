// safetensors files: an 8-byte little-endian header length, a JSON header mapping each name to
// {dtype, shape, data_offsets}, then the raw little-endian data. The format PyTorch users share
// weights in. We read every dtype PyTorch's state dicts hold (F32, F64, F16, BF16, I64, I32) into
// float tensors, exactly: F16 and BF16 widen to F32, the integers become F64 (I64 values beyond
// 2^53 are refused as not exactly representable). We write F32 and F64, and I64 for the tensors
// the caller names (batch norm's num_batches_tracked, which PyTorch keeps as an int64).
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <set>
#include <string>

#include "tensor/tensor.h"

namespace cg::safetensors {

struct Contents {
  std::map<std::string, Tensor> tensors;        // CPU tensors, F32 or F64 (see above)
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" entry
  std::map<std::string, std::string> dtypes;    // each tensor's dtype in the file: "F32", "I64", ...
};

// Throws cg::Error naming the file (and the key) on anything malformed. Every size in the header
// is checked against the file's length before anything is allocated, so a forged header cannot
// make us allocate more than the file holds.
Contents load(const std::string& path);
// The same from a stream of `size` bytes (the fuzzer's entry point); `name` is used in errors.
Contents load(std::istream& in, uint64_t size, const std::string& name);

// The file's bytes, in memory (`name` is used in errors): what save writes, and what a rank's
// state is sent as to rank 0 in data-parallel training.
std::string serialize(const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      const std::set<std::string>& int64_keys = {},
                      const std::string& name = "safetensors bytes");
// load() of bytes in memory.
Contents load_bytes(const std::string& bytes, const std::string& name);

// Writes atomically: a temporary file in the same folder, flushed to disk, then renamed over
// `path`, so a crash mid-write never leaves a half-written file under the real name. The tensors
// named in `int64_keys` are written as I64; each of their values must be a whole number (an error
// names the key otherwise, before anything is written).
void save(const std::string& path, const std::map<std::string, Tensor>& tensors,
          const std::map<std::string, std::string>& metadata = {},
          const std::set<std::string>& int64_keys = {});

}  // namespace cg::safetensors
