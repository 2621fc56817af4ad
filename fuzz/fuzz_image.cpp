// libFuzzer harness: PNG, JPEG and TIFF decoding (built three times, as fuzz_png, fuzz_jpeg and
// fuzz_tiff, each started from its own seed corpus; the decoder tells the formats apart by
// content). Each input is decoded as RGB and as gray, with 16-bit samples cut to 8 bits and kept.
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
  for (int channels : {3, 1})
    for (cg::data::Depth depth : {cg::data::Depth::k8, cg::data::Depth::kFull}) {
      try {
        const cg::data::Image img =
            cg::data::decode_image(bytes, "fuzz input", channels, kFuzzMaxPixels, depth);
        // what a decoded image promises its users
        const size_t n = static_cast<size_t>(img.width) * img.height * channels;
        const bool wide = img.bits == 16;
        if (img.channels != channels || (img.bits != 8 && img.bits != 16) ||
            (wide && depth == cg::data::Depth::k8) || (wide ? img.pixels16.size() : img.pixels.size()) != n ||
            !(wide ? img.pixels.empty() : img.pixels16.empty()))
          __builtin_trap();
      } catch (const cg::Error&) {
      }
    }
  return 0;
}
