// Whole numbers read from the JSON of files (safetensors headers, training states) without
// nlohmann's get<> conversions: those static_cast a float, which is undefined behaviour when out of
// range (a fuzzer found "data_offsets": [3e80, ...]), and wrap a negative number into an unsigned type.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace cg {

// True when v is a whole number in [lo, hi] (hi >= 0); then v.get<int64_t>() is exact.
inline bool whole_in_range(const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned())  // JSON's non-negative integers are unsigned here
    return v.get<uint64_t>() <= static_cast<uint64_t>(hi) && v.get<int64_t>() >= lo;
  return v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
}

}  // namespace cg
