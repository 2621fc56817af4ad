// TIFF through libtiff (data/tiff.h). The file is read from memory through libtiff's client
// callbacks; errors are caught per file (libtiff 4.5's per-handle handlers), so that loader threads
// reading several files at once each get their own message.
#include "data/tiff.h"

#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace cg::data {

namespace {

Error bad_tiff(const std::string& name, const std::string& why) {
  return Error("cannot read image '" + name + "': " + why);
}

// ---- the file in memory, as libtiff's client callbacks see it ----

struct MemFile {
  const std::vector<uint8_t>* bytes;
  uint64_t pos = 0;
};

tmsize_t mem_read(thandle_t h, void* buf, tmsize_t n) {
  auto* f = static_cast<MemFile*>(h);
  const uint64_t size = f->bytes->size();
  if (n <= 0 || f->pos >= size) return 0;
  const uint64_t take = std::min<uint64_t>(static_cast<uint64_t>(n), size - f->pos);
  std::memcpy(buf, f->bytes->data() + f->pos, take);
  f->pos += take;
  return static_cast<tmsize_t>(take);
}

tmsize_t mem_write(thandle_t, void*, tmsize_t) { return 0; }  // read only

toff_t mem_seek(thandle_t h, toff_t off, int whence) {
  auto* f = static_cast<MemFile*>(h);
  uint64_t base = 0;
  if (whence == SEEK_CUR)
    base = f->pos;
  else if (whence == SEEK_END)
    base = f->bytes->size();
  else if (whence != SEEK_SET)
    return static_cast<toff_t>(-1);
  if (off > UINT64_MAX - base) return static_cast<toff_t>(-1);
  f->pos = base + off;  // past the end is allowed, as for a file; reads there return nothing
  return f->pos;
}

int mem_close(thandle_t) { return 0; }
toff_t mem_size(thandle_t h) { return static_cast<MemFile*>(h)->bytes->size(); }
int mem_map(thandle_t, void**, toff_t*) { return 0; }  // no mapping: every read goes through mem_read
void mem_unmap(thandle_t, void*, toff_t) {}

// The first error libtiff reports for this file.
struct Errors {
  char message[256] = "";
};

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* e = static_cast<Errors*>(user);
  if (e->message[0] == '\0') {
    char what[200];
    std::vsnprintf(what, sizeof what, fmt, ap);
    std::snprintf(e->message, sizeof e->message, "%s%s%s", module ? module : "", module ? ": " : "", what);
  }
  return 1;  // handled: libtiff's global handler (stderr) stays quiet
}

int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // ignored, as PIL does

struct Closer {
  void operator()(TIFF* t) const { TIFFClose(t); }
};

std::string photometric_name(uint16_t p) {
  switch (p) {
    case PHOTOMETRIC_PALETTE:
      return "palette (indexed colour)";
    case PHOTOMETRIC_SEPARATED:
      return "separated (CMYK)";
    case PHOTOMETRIC_YCBCR:
      return "YCbCr without JPEG compression";
    case PHOTOMETRIC_CIELAB:
    case PHOTOMETRIC_ICCLAB:
    case PHOTOMETRIC_ITULAB:
      return "CIE L*a*b*";
    case PHOTOMETRIC_MASK:
      return "transparency mask";
    default:
      return "photometric interpretation " + std::to_string(p);
  }
}

}  // namespace

bool is_tiff(const std::vector<uint8_t>& b) {
  if (b.size() < 4) return false;
  const bool ii = b[0] == 'I' && b[1] == 'I' && b[3] == 0 && (b[2] == 42 || b[2] == 43);
  const bool mm = b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43);
  return ii || mm;
}

Image decode_tiff(const std::vector<uint8_t>& bytes, const std::string& name, int64_t max_pixels,
                  bool keep16) {
  static std::once_flag quiet;  // messages without a file (libtiff's global handlers) go nowhere
  std::call_once(quiet, [] {
    TIFFSetErrorHandler(nullptr);
    TIFFSetWarningHandler(nullptr);
  });
  Errors err;
  MemFile file{&bytes};
  std::unique_ptr<TIFF, Closer> tif;
  {
    TIFFOpenOptions* o = TIFFOpenOptionsAlloc();
    if (!o) throw bad_tiff(name, "out of memory starting the TIFF decoder");
    TIFFOpenOptionsSetErrorHandlerExtR(o, on_error, &err);
    TIFFOpenOptionsSetWarningHandlerExtR(o, on_warning, nullptr);
    // no single allocation of libtiff's (a strip's compressed bytes, a tag's array) beyond what the
    // largest allowed image could need, so a forged header cannot ask for gigabytes
    TIFFOpenOptionsSetMaxSingleMemAlloc(
        o, static_cast<tmsize_t>(std::clamp<int64_t>(max_pixels, int64_t{1} << 20, int64_t{1} << 29) * 8));
    tif.reset(TIFFClientOpenExt(name.c_str(), "rm", &file, mem_read, mem_write, mem_seek, mem_close, mem_size,
                                mem_map, mem_unmap, o));
    TIFFOpenOptionsFree(o);
  }
  auto libtiff_says = [&] { return err.message[0] ? std::string(" (") + err.message + ")" : std::string(); };
  if (!tif) throw bad_tiff(name, "corrupt or truncated TIFF" + libtiff_says());
  TIFF* t = tif.get();
  uint32_t width = 0, height = 0;
  uint16_t spp = 1, bps = 1, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG, photometric = 0,
           compression = COMPRESSION_NONE;
  if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &width) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &height))
    throw bad_tiff(name, "the TIFF has no image size" + libtiff_says());
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &compression);
  if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photometric))
    throw bad_tiff(name,
                   "the TIFF does not say how its samples are colours (no PhotometricInterpretation tag)");
  if (width == 0 || height == 0) throw bad_tiff(name, "the image has no pixels");
  if (uint64_t{width} * height > static_cast<uint64_t>(max_pixels))
    throw bad_tiff(name, "its header claims " + std::to_string(width) + "x" + std::to_string(height) + " = " +
                             std::to_string(uint64_t{width} * height) + " pixels, more than the limit of " +
                             std::to_string(max_pixels) + " (--max_pixels; PIL refuses such images too)");
  // ---- what this reader takes ----
  const std::string unsupported = "this TIFF reader does not take ";
  if (format == SAMPLEFORMAT_IEEEFP)
    throw bad_tiff(name, unsupported + std::to_string(bps) +
                             "-bit floating-point samples (it takes unsigned 8- and 16-bit integers)");
  if (format == SAMPLEFORMAT_INT)
    throw bad_tiff(name, unsupported + "signed integer samples (it takes unsigned 8- and 16-bit integers)");
  if (format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_VOID)
    throw bad_tiff(name, unsupported + "sample format " + std::to_string(format));
  if (bps != 8 && bps != 16)
    throw bad_tiff(name, unsupported + std::to_string(bps) + "-bit samples (it takes 8 and 16 bits)");
  if (!TIFFIsCODECConfigured(compression)) {
    const TIFFCodec* c = TIFFFindCODEC(compression);
    throw bad_tiff(name, "its compression (" + (c ? std::string(c->name) + ", " : std::string()) + "number " +
                             std::to_string(compression) + ") is not available in this build of libtiff");
  }
  int channels = 0;
  if (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE) {
    channels = 1;
  } else if (photometric == PHOTOMETRIC_RGB) {
    channels = 3;
  } else if (photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG && bps == 8) {
    TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);  // libjpeg converts to RGB
    channels = 3;
  } else {
    throw bad_tiff(name, unsupported + photometric_name(photometric) + " images");
  }
  if (spp < channels)
    throw bad_tiff(name, "its " + std::to_string(spp) + " sample(s) per pixel are too few for " +
                             (channels == 1 ? "gray" : "RGB"));
  if (planar != PLANARCONFIG_CONTIG && planar != PLANARCONFIG_SEPARATE)
    throw bad_tiff(name, unsupported + "planar configuration " + std::to_string(planar));
  const bool separate = planar == PLANARCONFIG_SEPARATE && spp > 1;
  const bool wide = bps == 16, keep = wide && keep16;
  const uint32_t max_value = wide ? 65535 : 255;

  Image img = keep ? Image::make16(static_cast<int>(width), static_cast<int>(height), channels)
                   : Image(static_cast<int>(width), static_cast<int>(height), channels,
                           std::vector<uint8_t>(uint64_t{width} * height * channels));
  // One decoded block (a strip or a tile) covering rows [y0, y0 + rows) and columns [x0, x0 + cols)
  // of the image, `stride` pixels per row in the block, `per_pixel` samples per pixel (spp, or 1 in
  // a separate plane) starting with sample `first`: its samples that the image keeps go in.
  auto place = [&](const uint8_t* block, uint32_t y0, uint32_t rows, uint32_t x0, uint32_t cols,
                   uint32_t stride, int per_pixel, int first) {
    for (uint32_t r = 0; r < rows; ++r)
      for (uint32_t c = 0; c < cols; ++c)
        for (int s = 0; s < per_pixel && first + s < channels; ++s) {
          const size_t k = (static_cast<size_t>(r) * stride + c) * per_pixel + s;
          uint32_t v = 0;
          if (wide) {
            uint16_t w16;
            std::memcpy(&w16, block + 2 * k, 2);  // libtiff hands samples over in native order
            v = w16;
          } else {
            v = block[k];
          }
          if (photometric == PHOTOMETRIC_MINISWHITE) v = max_value - v;
          const size_t at = (static_cast<size_t>(y0 + r) * width + x0 + c) * channels + first + s;
          if (keep)
            img.pixels16[at] = static_cast<uint16_t>(v);
          else
            img.pixels[at] = static_cast<uint8_t>(wide ? v >> 8 : v);  // high byte, as PNG's strip_16
        }
  };
  const int planes = separate ? std::min<int>(spp, channels) : 1;
  const int per_pixel = separate ? 1 : spp;
  const uint64_t sample_bytes = bps / 8;
  std::vector<uint8_t> buf;
  if (TIFFIsTiled(t)) {
    uint32_t tw = 0, th = 0;
    if (!TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(t, TIFFTAG_TILELENGTH, &th) || tw == 0 ||
        th == 0)
      throw bad_tiff(name, "the TIFF is tiled but does not give its tile size" + libtiff_says());
    const uint64_t tile_bytes = uint64_t{tw} * th * per_pixel * sample_bytes;
    if (static_cast<uint64_t>(TIFFTileSize64(t)) != tile_bytes || tile_bytes > (uint64_t{1} << 31))
      throw bad_tiff(name, "its " + std::to_string(tw) + "x" + std::to_string(th) +
                               " tiles do not have the size their samples need" + libtiff_says());
    buf.resize(tile_bytes);
    for (int p = 0; p < planes; ++p)
      for (uint32_t y = 0; y < height; y += th)
        for (uint32_t x = 0; x < width; x += tw) {
          const uint32_t tile = TIFFComputeTile(t, x, y, 0, static_cast<uint16_t>(p));
          if (TIFFReadEncodedTile(t, tile, buf.data(), static_cast<tmsize_t>(tile_bytes)) !=
              static_cast<tmsize_t>(tile_bytes))
            throw bad_tiff(name,
                           "tile " + std::to_string(tile) + " is corrupt or truncated" + libtiff_says());
          place(buf.data(), y, std::min(th, height - y), x, std::min(tw, width - x), tw, per_pixel, p);
        }
  } else {
    uint32_t rps = height;
    TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > height) rps = height;
    const uint32_t per_plane = (height + rps - 1) / rps;
    if (TIFFNumberOfStrips(t) < static_cast<uint32_t>(planes) * per_plane)
      throw bad_tiff(name, "the TIFF has " + std::to_string(TIFFNumberOfStrips(t)) +
                               " strips, fewer than its " + std::to_string(height) + " rows need");
    const uint64_t row_bytes = uint64_t{width} * per_pixel * sample_bytes;
    if (static_cast<uint64_t>(TIFFScanlineSize64(t)) != row_bytes)
      throw bad_tiff(name, "its rows do not have the size their samples need" + libtiff_says());
    buf.resize(row_bytes * rps);
    for (int p = 0; p < planes; ++p)
      for (uint32_t k = 0; k < per_plane; ++k) {
        const uint32_t y = k * rps, rows = std::min(rps, height - y);
        const tmsize_t want = static_cast<tmsize_t>(row_bytes * rows);
        if (TIFFReadEncodedStrip(t, static_cast<uint32_t>(p) * per_plane + k, buf.data(), want) != want)
          throw bad_tiff(name, "strip " + std::to_string(p * per_plane + k) + " is corrupt or truncated" +
                                   libtiff_says());
        place(buf.data(), y, rows, 0, width, width, per_pixel, p);
      }
  }
  return img;
}

}  // namespace cg::data
