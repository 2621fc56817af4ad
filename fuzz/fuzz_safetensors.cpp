// libFuzzer harness: safetensors parsing (the weights files cyclegan_test loads, often from others).
// Every input must either load or throw cg::Error naming it.
#include <cstdint>
#include <sstream>
#include <string>

#include "nn/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const cg::safetensors::Contents c = cg::safetensors::load(in, size, "fuzz input");
    for (const auto& [key, t] : c.tensors)  // every tensor's bytes came from inside the input
      if (t.nbytes() > size) __builtin_trap();
  } catch (const cg::Error&) {
  }
  return 0;
}
