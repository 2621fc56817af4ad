#include "tensor/random.h"

#include <cmath>
#include <numbers>
#include <sstream>

namespace cg {

uint64_t Generator::below(uint64_t n) {
  if (n == 0) throw Error("Generator::below: empty range");
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // reject the biased tail
  uint64_t r;
  do r = eng_();
  while (r >= limit);
  return r % n;
}

double Generator::normal() {
  // 1 - uniform() is in (0, 1], so log never sees 0.
  const double u1 = 1.0 - uniform(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::string Generator::state() const {
  std::ostringstream os;
  os << eng_;
  return os.str();
}

void Generator::set_state(const std::string& s) {
  std::istringstream is(s);
  std::mt19937_64 e;
  is >> e;
  if (is.fail())
    throw Error("Generator::set_state: malformed generator state (" + std::to_string(s.size()) +
                " characters)");
  eng_ = e;
}

Generator& default_generator(Device d) {
  static Generator cpu(0), cuda(1);
  return d == Device::CPU ? cpu : cuda;
}

void manual_seed(uint64_t seed) {
  default_generator(Device::CPU).seed(seed);
  default_generator(Device::CUDA).seed(seed + 1);
}

}  // namespace cg
