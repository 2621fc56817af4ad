// TIFF decoding through libtiff, for data/codecs.cpp's decode_image (which tells formats apart by
// content and converts channels afterwards).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace cg::data {

// Whether the bytes start as a TIFF or BigTIFF file does (II*\0, MM\0*, II+\0, MM\0+).
bool is_tiff(const std::vector<uint8_t>& bytes);

// Decodes a TIFF's first image as gray (min-is-black or min-is-white, 1 channel) or RGB (3; and
// YCbCr compressed as JPEG, which libtiff turns to RGB), unsigned 8- or 16-bit samples, extra
// samples (alpha) dropped, in strips or tiles, samples interleaved or in separate planes, with any
// compression this libtiff was built with. 16-bit samples stay 16-bit when `keep16`, else become
// their high byte. Anything else (floating-point or signed samples, other bit depths, palettes,
// CMYK, a missing codec) is a cg::Error naming the file and what it has, as is a corrupt or
// truncated file, or one with more than `max_pixels`.
Image decode_tiff(const std::vector<uint8_t>& bytes, const std::string& name, int64_t max_pixels,
                  bool keep16);

}  // namespace cg::data
