// Whole numbers read from the JSON of files (safetensors headers, training states) without
// nlohmann's get<> conversions: those static_cast a float, which is undefined behaviour when out of
// range (a fuzzer found "data_offsets": [3e80, ...]), and wrap a negative number into an unsigned type.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "backend/types.h"  // Error

namespace cg {

// True when v is a whole number in [lo, hi] (hi >= 0); then v.get<int64_t>() is exact.
inline bool whole_in_range(const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned())  // JSON's non-negative integers are unsigned here
    return v.get<uint64_t>() <= static_cast<uint64_t>(hi) && v.get<int64_t>() >= lo;
  return v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
}

}  // namespace cg

namespace cg {

// j[key] as a whole number in [lo, hi], or a finite real; anything else (a fraction, a string, out
// of range, missing) throws naming the key, rather than being converted.
inline int64_t json_whole(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_integer()) throw Error(std::string("'") + key + "' is not a whole number");
  if (!whole_in_range(v, lo, hi))
    throw Error(std::string("'") + key + "' is " + v.dump() + ", outside [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  return v.get<int64_t>();
}

inline double json_real(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    throw Error(std::string("'") + key + "' is not a finite number");
  return v.get<double>();
}

}  // namespace cg
