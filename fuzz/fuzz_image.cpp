// libFuzzer harness: PNG and JPEG decoding (built twice, as fuzz_png and fuzz_jpeg, each started
// from its own seed corpus; the decoder tells the formats apart by content).
// Every input must either decode or throw cg::Error; a crash, a sanitizer report, a leak or a hang
// is a finding.
#include <cstdint>
#include <vector>

#include "data/image.h"

// A 2048x2048 limit instead of PIL's 179 M pixels: libFuzzer stops at 2 GB of memory, and the pixel
// limit's own behaviour is what tests/test_image.cpp pins.
constexpr int64_t kFuzzMaxPixels = int64_t{2048} * 2048;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  for (int channels : {3, 1}) {
    try {
      const cg::data::Image img = cg::data::decode_image(bytes, "fuzz input", channels, kFuzzMaxPixels);
      // what a decoded image promises its users
      if (img.channels != channels ||
          img.pixels.size() != static_cast<size_t>(img.width) * img.height * channels)
        __builtin_trap();
    } catch (const cg::Error&) {
    }
  }
  return 0;
}
