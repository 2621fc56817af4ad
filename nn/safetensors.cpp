#include "nn/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
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
// The dtypes we read: bytes per element, and the tensor dtype they are widened to.
struct FileDType {
  size_t bytes;
  DType to;
};
const std::map<std::string, FileDType>& file_dtypes() {
  static const std::map<std::string, FileDType> m = {{"F32", {4, DType::F32}}, {"F64", {8, DType::F64}},
                                                     {"F16", {2, DType::F32}}, {"BF16", {2, DType::F32}},
                                                     {"I64", {8, DType::F64}}, {"I32", {4, DType::F64}}};
  return m;
}

// IEEE half precision to single, exactly (subnormals, infinities and NaN included).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // infinity or NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // normal: rebias 15 -> 127
  } else if (man == 0) {
    bits = sign;  // +-0
  } else {        // subnormal: man * 2^-24, normalised for float32
    int e = -1;
    uint32_t m = man;
    do {
      ++e;
      m <<= 1;
    } while ((m & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((m & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Widens `n` elements of file dtype `dt` at `src` into `dst` (float for F16/BF16, double for the
// integers); `what` names the tensor in errors.
void widen(const std::string& dt, const unsigned char* src, size_t n, void* dst, const std::string& what) {
  if (dt == "F16" || dt == "BF16") {
    float* out = static_cast<float*>(dst);
    for (size_t i = 0; i < n; ++i) {
      const uint16_t v = static_cast<uint16_t>(src[2 * i] | src[2 * i + 1] << 8);
      if (dt == "F16") {
        out[i] = half_to_float(v);
      } else {
        const uint32_t bits = static_cast<uint32_t>(v) << 16;  // bfloat16 is float32's top half
        std::memcpy(&out[i], &bits, 4);
      }
    }
    return;
  }
  double* out = static_cast<double*>(dst);
  constexpr int64_t kExact = int64_t{1} << 53;  // every integer up to here is a float64
  for (size_t i = 0; i < n; ++i) {
    int64_t v;
    if (dt == "I32") {
      int32_t w;
      std::memcpy(&w, src + 4 * i, 4);
      v = w;
    } else {
      std::memcpy(&v, src + 8 * i, 8);
      if (v > kExact || v < -kExact)
        throw Error(what + " holds " + std::to_string(v) +
                    ", beyond 2^53, which a float64 cannot hold exactly");
    }
    out[i] = static_cast<double>(v);
  }
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

  // First every entry is checked (dtype, shape, offsets), then that their byte ranges tile the
  // data, and only then is anything allocated or read.
  struct Entry {
    std::string key, dt;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
  };
  Contents out;
  std::vector<Entry> entries;
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
      const auto known = file_dtypes().find(dt);
      if (known == file_dtypes().end())
        throw bad("tensor '" + key + "' has dtype " + dt + " (supported: F32, F64, F16, BF16, I64, I32)");
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
      uint64_t need = known->second.bytes;
      for (int64_t d : shape)
        if (d < 0 || __builtin_mul_overflow(need, static_cast<uint64_t>(d), &need))
          throw bad("tensor '" + key + "' has an impossible shape " + shape_str(shape));
      if (offs[1] - offs[0] != need)
        throw bad("tensor '" + key + "' of shape " + shape_str(shape) + " needs " + std::to_string(need) +
                  " bytes but has " + std::to_string(offs[1] - offs[0]));
      entries.push_back({key, dt, known->second.to, shape, offs[0], offs[1]});
    } catch (const json::exception& e) {
      throw bad("entry '" + key + "' is malformed (" + e.what() + ")");
    }
  }
  // The format's rule: the ranges, sorted, cover the data from its first byte to its last, each
  // starting where the one before ends (no overlap, no hole: two tensors never share bytes, and
  // no bytes hide between them).
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  for (const Entry& e : entries) {
    if (e.begin != covered)
      throw bad("the tensors' data ranges do not tile the data: tensor '" + e.key + "' starts at byte " +
                std::to_string(e.begin) + " where " +
                (e.begin < covered
                     ? "the tensors before it end at byte " + std::to_string(covered) + " (an overlap)"
                     : "the tensors before it end at byte " + std::to_string(covered) + " (a hole)"));
    covered = e.end;
  }
  if (covered != data_len)
    throw bad("the tensors' data ranges do not tile the data: they end at byte " + std::to_string(covered) +
              " of " + std::to_string(data_len) + " bytes of data");
  for (const Entry& e : entries) {
    const uint64_t need = e.end - e.begin;
    Tensor t = Tensor::empty(e.shape, e.dtype);
    in.seekg(static_cast<std::streamoff>(data_start + e.begin));
    if (e.dt == "F32" || e.dt == "F64") {  // stored as held: read in place
      in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(need));
      if (!in) throw bad("tensor '" + e.key + "' could not be read (truncated file?)");
    } else {
      std::vector<unsigned char> raw(static_cast<size_t>(need));
      in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(need));
      if (!in) throw bad("tensor '" + e.key + "' could not be read (truncated file?)");
      try {
        widen(e.dt, raw.data(), static_cast<size_t>(t.numel()), t.raw(), "tensor '" + e.key + "'");
      } catch (const Error& err) {
        throw bad(err.what());
      }
    }
    out.tensors.emplace(e.key, t);
    out.dtypes.emplace(e.key, e.dt);
  }
  return out;
}

std::string serialize(const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata,
                      const std::set<std::string>& int64_keys, const std::string& name) {
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<std::string> host;  // each tensor's bytes, in key order, as laid out
  for (const std::string& k : int64_keys)
    if (!tensors.count(k)) throw Error("cannot write " + name + ": no tensor '" + k + "' to store as I64");
  for (const auto& [key, t] : tensors) {
    const Tensor c = t.detach().to(Device::CPU);
    std::string bytes;
    const char* dt = c.dtype() == DType::F32 ? "F32" : "F64";
    if (int64_keys.count(key)) {
      dt = "I64";
      for (double v : c.to_vector<double>()) {
        // whole numbers in int64's range (2^63 itself is a double but not an int64)
        if (!(v == std::floor(v) && v >= -0x1p63 && v < 0x1p63))
          throw Error("cannot write " + name + ": '" + key + "' holds " + std::to_string(v) +
                      ", not a whole number, so it cannot be stored as I64");
        const int64_t i = static_cast<int64_t>(v);
        bytes.append(reinterpret_cast<const char*>(&i), 8);
      }
    } else {
      bytes.assign(static_cast<const char*>(c.raw()), c.nbytes());
    }
    h[key] = {{"dtype", dt}, {"shape", c.shape()}, {"data_offsets", {offset, offset + bytes.size()}}};
    offset += bytes.size();
    host.push_back(std::move(bytes));
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
  out.reserve(8 + header.size() + offset);
  out += header;
  for (const std::string& b : host) out += b;
  return out;
}

Contents load_bytes(const std::string& bytes, const std::string& name) {
  std::istringstream in(bytes);
  return load(in, bytes.size(), name);
}

void save(const std::string& path, const std::map<std::string, Tensor>& tensors,
          const std::map<std::string, std::string>& metadata, const std::set<std::string>& int64_keys) {
  const std::string bytes = serialize(tensors, metadata, int64_keys, "'" + path + "'");
  const std::string tmp = path + ".tmp";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
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
