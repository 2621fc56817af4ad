// Seeded random numbers. One generator per device (both run on the host: CUDA tensors are filled
// from numbers drawn here and copied over, so a seed gives the same numbers on either device).
// The state is a string so checkpoints can store it and a resumed run draws the same numbers.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "backend/types.h"

namespace cg {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : eng_(seed) {}
  void seed(uint64_t s) { eng_.seed(s); }
  uint64_t next_u64() { return eng_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(eng_() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), without modulo bias.
  uint64_t below(uint64_t n);
  // Standard normal by Box-Muller. No value is cached between calls, so the engine is the state.
  double normal();
  std::string state() const;
  void set_state(const std::string& s);  // throws cg::Error on a malformed state

 private:
  std::mt19937_64 eng_;
};

Generator& default_generator(Device d = Device::CPU);
// Seeds every device's default generator (CPU with seed, CUDA with seed + 1).
void manual_seed(uint64_t seed);

}  // namespace cg
