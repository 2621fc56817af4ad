#include "nn/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "nn/json_whole.h"

namespace cg::safetensors {

using json = nlohmann::json;

namespace {
// A JSON array of whole numbers, each at least `lo` (nn/json_whole.h says why not get<>).
std::vector<int64_t> whole_numbers(const json& j, const char* field, int64_t lo) {
  if (!j.is_array()) throw Error(std::string("'") + field + "' is not a list");
  std::vector<int64_t> out;
  for (const json& v : j) {
    if (!whole_in_range(v, lo, std::numeric_limits<int64_t>::max()))
      throw Error(std::string("'") + field + "' holds " + v.dump() + ", not a whole number in range");
    out.push_back(v.get<int64_t>());
  }
  return out;
}
}  // namespace

Contents load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open safetensors file '" + path + "': " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error("cannot read safetensors file '" + path + "' (not a regular file?)");
  in.seekg(0);
  return load(in, static_cast<uint64_t>(size), "'" + path + "'");
}

Contents load(std::istream& in, uint64_t file_size, const std::string& name) {
  auto bad = [&](const std::string& why) { return Error(name + " is not a valid safetensors file: " + why); };
  if (file_size < 8) throw bad("shorter than its 8-byte header length");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
  if (header_len > file_size - 8)
    throw bad("header length " + std::to_string(header_len) + " runs past the end");
  std::string header(static_cast<size_t>(header_len), '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  json h;
  try {
    h = json::parse(header);
  } catch (const std::exception& e) {
    throw bad(std::string("header is not JSON (") + e.what() + ")");
  }
  if (!h.is_object()) throw bad("header is not a JSON object");
  const uint64_t data_start = 8 + header_len, data_len = file_size - data_start;

  Contents out;
  for (auto& [key, entry] : h.items()) {
    if (key == "__metadata__") {
      if (!entry.is_object()) throw bad("__metadata__ is not an object");
      for (auto& [k, v] : entry.items()) {
        // The format says string to string; anything else is refused rather than re-serialised.
        if (!v.is_string()) throw bad("__metadata__ entry '" + k + "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    try {
      const std::string dt = entry.at("dtype").get<std::string>();
      DType dtype;
      if (dt == "F32")
        dtype = DType::F32;
      else if (dt == "F64")
        dtype = DType::F64;
      else
        throw bad("tensor '" + key + "' has dtype " + dt + " (only F32 and F64 are supported)");
      Shape shape;
      std::vector<uint64_t> offs;
      try {
        // negative dimensions pass here, to be refused below as an impossible shape
        shape = whole_numbers(entry.at("shape"), "shape", std::numeric_limits<int64_t>::min());
        for (int64_t o : whole_numbers(entry.at("data_offsets"), "data_offsets", 0))
          offs.push_back(static_cast<uint64_t>(o));
      } catch (const Error& e) {
        throw bad("tensor '" + key + "': " + e.what());
      }
      if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > data_len)
        throw bad("tensor '" + key + "' has data offsets outside the file");
      // The byte count the shape needs, computed without wrapping, before any allocation.
      uint64_t need = dtype_size(dtype);
      for (int64_t d : shape)
        if (d < 0 || __builtin_mul_overflow(need, static_cast<uint64_t>(d), &need))
          throw bad("tensor '" + key + "' has an impossible shape " + shape_str(shape));
      if (offs[1] - offs[0] != need)
        throw bad("tensor '" + key + "' of shape " + shape_str(shape) + " needs " + std::to_string(need) +
                  " bytes but has " + std::to_string(offs[1] - offs[0]));
      Tensor t = Tensor::empty(shape, dtype);
      in.seekg(static_cast<std::streamoff>(data_start + offs[0]));
      in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
      if (!in) throw bad("tensor '" + key + "' could not be read (truncated file?)");
      out.tensors.emplace(key, t);
    } catch (const json::exception& e) {
      throw bad("entry '" + key + "' is malformed (" + e.what() + ")");
    }
  }
  return out;
}

void save(const std::string& path, const std::map<std::string, Tensor>& tensors,
          const std::map<std::string, std::string>& metadata) {
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<Tensor> host;  // in key order, as laid out
  for (const auto& [key, t] : tensors) {
    Tensor c = t.detach().to(Device::CPU);
    h[key] = {{"dtype", c.dtype() == DType::F32 ? "F32" : "F64"},
              {"shape", c.shape()},
              {"data_offsets", {offset, offset + c.nbytes()}}};
    offset += c.nbytes();
    host.push_back(c);
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  const std::string tmp = path + ".tmp";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
    unsigned char len_bytes[8];
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(n >> (8 * i));
    bool ok = std::fwrite(len_bytes, 1, 8, f) == 8 &&
              std::fwrite(header.data(), 1, header.size(), f) == header.size();
    for (const Tensor& c : host) ok = ok && std::fwrite(c.raw(), 1, c.nbytes(), f) == c.nbytes();
    ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) {
      const std::string why = std::strerror(errno);
      std::remove(tmp.c_str());
      throw Error("writing '" + tmp + "' failed: " + why + " ('" + path + "' was left as it was)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
}

}  // namespace cg::safetensors
