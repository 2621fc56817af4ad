// Reading and writing image files: PNG through libpng and JPEG through libjpeg-turbo, converted the
// way PIL converts them (TIFF: data/tiff.cpp); the pixel operations are data/image.cpp's.
#include "data/image.h"
#include "data/tiff.h"

#include <jpeglib.h>
// after jpeglib.h: the message codes
#include <jerror.h>
#include <png.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace cg::data {

namespace {

Error bad_image(const std::string& name, const std::string& why) {
  return Error("cannot read image '" + name + "': " + why);
}

// Empty when width x height is within the limit, else the reason to refuse the image.
std::string too_many_pixels(uint64_t width, uint64_t height, int64_t max_pixels) {
  if (width * height <= static_cast<uint64_t>(max_pixels)) return "";  // both < 2^32: no overflow
  return "its header claims " + std::to_string(width) + "x" + std::to_string(height) + " = " +
         std::to_string(width * height) + " pixels, more than the limit of " + std::to_string(max_pixels) +
         " (--max_pixels; PIL refuses such images too)";
}

// ---- PNG (classic libpng API, so that every conversion is the one PIL makes) ----

struct PngSource {
  const std::vector<uint8_t>* bytes;
  size_t pos = 0;
};

struct PngErrorState {
  std::jmp_buf jmp;
  char message[256] = "";
};

void png_read_from_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (src->pos + n > src->bytes->size()) png_error(png, "file is truncated");
  std::memcpy(out, src->bytes->data() + src->pos, n);
  src->pos += n;
}

void png_on_error(png_structp png, png_const_charp msg) {
  auto* st = static_cast<PngErrorState*>(png_get_error_ptr(png));
  std::snprintf(st->message, sizeof st->message, "%s", msg);
  std::longjmp(st->jmp, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// Empty when the file can hold the image its header claims, else why not; read from the chunks
// alone, before the decoder allocates anything the size of the claim. A file that ends inside a
// chunk or before IEND is truncated (libpng would find that only after allocating every row), and
// the IDAT chunks must be able to inflate to the claimed pixels: deflate expands a byte to at most
// 1032 (a 258-byte match costs at least 2 bits), so a 70-byte file claiming 20000x8900 RGBA is
// refused here rather than after taking 700 MB. `bytes` starts with the PNG signature.
std::string png_cannot_hold(const std::vector<uint8_t>& bytes) {
  uint64_t width = 0, height = 0, bits_per_pixel = 0, idat = 0;
  bool ended = false;
  size_t at = 8;
  while (!ended) {
    if (bytes.size() - at < 12)
      return "the file is truncated: it ends at byte " + std::to_string(bytes.size()) +
             (at == 8 ? std::string(", before the header chunk")
                      : " without the IEND chunk that closes a PNG");
    const uint64_t len = be32(&bytes[at]);
    const std::string type(reinterpret_cast<const char*>(&bytes[at + 4]), 4);
    if (len > bytes.size() - at - 12)
      return "the file is truncated: its " + type + " chunk at byte " + std::to_string(at) + " claims " +
             std::to_string(len) + " bytes, but the file ends at byte " + std::to_string(bytes.size());
    const uint8_t* data = &bytes[at + 8];
    if (type == "IHDR" && len >= 13) {
      width = be32(data);
      height = be32(data + 4);
      const int depth = data[8], color = data[9];
      const int samples = color == 2 ? 3 : color == 4 ? 2 : color == 6 ? 4 : 1;  // RGB, LA, RGBA; else 1
      bits_per_pixel = static_cast<uint64_t>(depth) * samples;
    } else if (type == "IDAT") {
      idat += len;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + static_cast<size_t>(len);
  }
  // the pixels alone (each row also has a filter byte); libpng has checked width, height < 2^31
  const uint64_t row = (width * bits_per_pixel + 7) / 8;
  const uint64_t raw = height && row > UINT64_MAX / height ? UINT64_MAX : row * height;
  constexpr uint64_t kMaxInflate = 1032;
  if (raw / kMaxInflate > idat + 64)  // +64: zlib's header, checksum and block headers
    return "its header claims " + std::to_string(width) + "x" + std::to_string(height) + " pixels (" +
           std::to_string(raw) + " bytes), but its " + std::to_string(idat) +
           " bytes of image data can inflate to at most " + std::to_string((idat + 64) * kMaxInflate) +
           " (the file is truncated or forged)";
  return "";
}

// Decodes to RGB (or L when the file is gray and `want_gray`), 8-bit, or 16-bit when the file has
// 16-bit samples and `keep16`.
Image decode_png(const std::vector<uint8_t>& bytes, const std::string& name, bool want_gray,
                 int64_t max_pixels, bool keep16) {
  PngErrorState err;
  PngSource src{&bytes};
  Image img;
  std::vector<png_bytep> rows;
  std::string refuse;  // like every object with a destructor here: declared before setjmp
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw bad_image(name, "out of memory starting the PNG decoder");
  }
  if (setjmp(err.jmp)) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw bad_image(name, std::string("corrupt or truncated PNG (") + err.message + ")");
  }
  png_set_read_fn(png, &src, png_read_from_memory);
  png_read_info(png, info);
  refuse = too_many_pixels(png_get_image_width(png, info), png_get_image_height(png, info), max_pixels);
  if (refuse.empty()) refuse = png_cannot_hold(bytes);
  if (!refuse.empty()) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw bad_image(name, refuse);
  }
  const int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  const bool wide = keep16 && depth == 16;
  if (wide) {
    if constexpr (std::endian::native == std::endian::little) png_set_swap(png);  // PNG's are big-endian
  } else {
    png_set_strip_16(png);  // 16-bit samples -> their high byte
  }
  png_set_strip_alpha(png);  // PIL's convert('RGB') drops alpha without compositing
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if ((color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  const bool gray = color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA;
  if (gray && !want_gray) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  img.width = static_cast<int>(png_get_image_width(png, info));
  img.height = static_cast<int>(png_get_image_height(png, info));
  img.channels = png_get_channels(png, info);
  img.bits = wide ? 16 : 8;
  if (png_get_rowbytes(png, info) != static_cast<size_t>(img.width) * img.channels * (wide ? 2 : 1))
    png_error(png, "unexpected row layout after conversion");
  if (wide)
    img.pixels16.resize(img.samples());
  else
    img.pixels.resize(img.samples());
  rows.resize(static_cast<size_t>(img.height));
  for (int y = 0; y < img.height; ++y)
    rows[static_cast<size_t>(y)] = wide ? reinterpret_cast<png_bytep>(img.row16(y)) : img.row(y);
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return img;
}

// ---- JPEG ----

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jmp;
  bool truncated = false;
};

void jpeg_on_error(j_common_ptr cinfo) { std::longjmp(reinterpret_cast<JpegError*>(cinfo->err)->jmp, 1); }

void jpeg_on_message(j_common_ptr cinfo, int level) {
  // libjpeg only warns about a file that ends early and fills the rest with gray; PIL refuses such
  // files ("image file is truncated"), and so do we. Other warnings are ignored, as PIL does.
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    reinterpret_cast<JpegError*>(cinfo->err)->truncated = true;
}

// Pillow's rounded a * b / 255 for 8-bit a, b (its MULDIV255 macro, libImaging/ImagingUtils.h):
// t = a * b + 128, then (t + (t >> 8)) >> 8.
unsigned muldiv255(unsigned a, unsigned b) {
  const unsigned t = a * b + 128;
  return (t + (t >> 8)) >> 8;
}

// One row of libjpeg's CMYK samples -> RGB as PIL's Image.open(f).convert('RGB') gives it. PIL reads a
// 4-component JPEG with rawmode "CMYK;I" (JpegImagePlugin.py: "assume adobe conventions"), i.e. it
// stores 255 - x for each sample x libjpeg gives; its CMYK -> RGB (libImaging/Convert.c, cmyk2rgb) is
// then, per channel X of C, M, Y: nk = 255 - K, out = clip(nk - muldiv255(X, nk)). The clip never
// acts (muldiv255(X, nk) <= nk for X <= 255), so there is none here. Checked against Pillow 9.4
// for all (X, K) pairs.
void pil_cmyk_row_to_rgb(const uint8_t* cmyk, uint8_t* rgb, int width) {
  for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    const unsigned k = 255u - cmyk[3], nk = 255u - k;
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>(nk - muldiv255(255u - cmyk[c], nk));
  }
}

// Empty when the file holds the end-of-image marker (FF D9) after its first scan's header, else why
// not: a truncated JPEG is known before its pixel rows are allocated (libjpeg would decode it to
// the end, filling the missing part with gray, and warn only then). The marker segments before the
// scan are walked by their lengths (a thumbnail in APP1 holds markers of its own); inside scans,
// FF D9 cannot occur but as the end (an FF in the data is followed by 00 or a restart marker).
std::string jpeg_truncated(const std::vector<uint8_t>& bytes) {
  size_t at = 2;  // after SOI
  for (;;) {
    while (at < bytes.size() && bytes[at] == 0xFF) ++at;  // a marker, with any fill bytes before it
    if (at >= bytes.size()) return "the file is truncated (it ends before its image data)";
    const uint8_t marker = bytes[at++];
    if (marker == 0xDA) break;                                           // the first start of scan
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (bytes.size() - at < 2) return "the file is truncated (it ends inside a marker segment)";
    at += static_cast<size_t>(bytes[at]) << 8 | bytes[at + 1];
  }
  for (size_t i = at; i + 1 < bytes.size(); ++i)
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xD9) return "";
  return "the JPEG data is truncated (no end-of-image marker after its image data)";
}

Image decode_jpeg(const std::vector<uint8_t>& bytes, const std::string& name, int64_t max_pixels) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  Image img;
  std::vector<uint8_t> cmyk_row;  // declared before setjmp: libjpeg's longjmp must not skip its destructor
  std::string refuse;             // the same
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_on_error;
  err.mgr.emit_message = jpeg_on_message;
  if (setjmp(err.jmp)) {
    char msg[JMSG_LENGTH_MAX];
    (*cinfo.err->format_message)(reinterpret_cast<j_common_ptr>(&cinfo), msg);
    jpeg_destroy_decompress(&cinfo);
    throw bad_image(name, std::string("corrupt JPEG (") + msg + ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  refuse = too_many_pixels(cinfo.image_width, cinfo.image_height, max_pixels);
  if (refuse.empty()) refuse = jpeg_truncated(bytes);
  if (!refuse.empty()) {
    jpeg_destroy_decompress(&cinfo);
    throw bad_image(name, refuse);
  }
  // libjpeg calls every 4-component JPEG CMYK or YCCK (by its Adobe marker); PIL asks libjpeg for
  // CMYK in both cases (libjpeg converts YCCK itself) and converts that to RGB, and so do we.
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  // Gray JPEGs stay gray (L -> RGB -> L is the identity, so this equals PIL's path for gray output).
  if (cmyk)
    cinfo.out_color_space = JCS_CMYK;
  else if (cinfo.jpeg_color_space != JCS_GRAYSCALE)
    cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  img.width = static_cast<int>(cinfo.output_width);
  img.height = static_cast<int>(cinfo.output_height);
  img.channels = cmyk ? 3 : cinfo.output_components;
  img.pixels.resize(static_cast<size_t>(img.width) * img.height * img.channels);
  if (cmyk) cmyk_row.resize(static_cast<size_t>(img.width) * 4);
  while (cinfo.output_scanline < cinfo.output_height) {
    const int y = static_cast<int>(cinfo.output_scanline);
    JSAMPROW row = cmyk ? cmyk_row.data() : img.row(y);
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (cmyk) pil_cmyk_row_to_rgb(cmyk_row.data(), img.row(y), img.width);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.truncated) throw bad_image(name, "the JPEG data is truncated");
  return img;
}

Image gray_to_rgb(const Image& g) {
  Image out(g.width, g.height, 3);
  out.bits = g.bits;
  auto spread = [](const auto& from, auto& to) {
    to.resize(from.size() * 3);
    for (size_t i = 0; i < from.size(); ++i) to[3 * i] = to[3 * i + 1] = to[3 * i + 2] = from[i];
  };
  if (g.bits == 16)
    spread(g.pixels16, out.pixels16);
  else
    spread(g.pixels, out.pixels);
  return out;
}

}  // namespace

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name, int channels,
                   int64_t max_pixels, Depth depth) {
  if (channels != 1 && channels != 3)
    throw Error("images can be read with 1 or 3 channels, not " + std::to_string(channels) + " ('" + name +
                "')");
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Image img;
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0)
    img = decode_png(bytes, name, channels == 1, max_pixels, depth == Depth::kFull);
  else if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
    img = decode_jpeg(bytes, name, max_pixels);
  else if (is_tiff(bytes))
    img = decode_tiff(bytes, name, max_pixels, depth == Depth::kFull);
  else
    throw bad_image(name, bytes.empty() ? "the file is empty" : "not a PNG, JPEG or TIFF file");
  if (img.width <= 0 || img.height <= 0) throw bad_image(name, "the image has no pixels");
  if (channels == 1 && img.channels == 3) return to_gray(img);
  if (channels == 3 && img.channels == 1) return gray_to_rgb(img);
  return img;
}

Image read_image(const std::string& path, int channels, int64_t max_pixels, Depth depth) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad_image(path, std::strerror(errno));
  // Before reading it whole: a file that is not an image (a sparse 100 GB file named x.png) or is
  // far larger than any image within max_pixels could be is refused from its size and first bytes.
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0);
  if (size < 0) throw bad_image(path, "not a regular file");
  uint8_t head[8] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const bool png = in.gcount() == 8 && std::memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0;
  const bool jpeg = in.gcount() >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
  const bool tiff = in.gcount() >= 4 && is_tiff(std::vector<uint8_t>(head, head + 4));
  if (!png && !jpeg && !tiff)
    throw bad_image(path, size == 0 ? "the file is empty" : "not a PNG, JPEG or TIFF file");
  // 16 bytes a pixel (32-bit float RGBA TIFF, stored uncompressed) and 256 MiB of other data at most
  const double most = 16.0 * static_cast<double>(max_pixels) + double(256 << 20);
  if (static_cast<double>(size) > most)
    throw bad_image(path, "the file has " + std::to_string(size) +
                              " bytes, more than an image of --max_pixels " + std::to_string(max_pixels) +
                              " pixels can take");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (in.bad() || in.gcount() != size) throw bad_image(path, "read error");
  return decode_image(bytes, path, channels, max_pixels, depth);
}

void write_png(const std::string& path, const Image& img) {
  if (img.channels != 1 && img.channels != 3)
    throw Error("write_png: 1 or 3 channels, got " + std::to_string(img.channels));
  const std::string tmp = path + ".tmp";
  // a stale temporary file goes first, and the new one is made afresh ("x": O_EXCL, which also
  // refuses to follow a link left under that name into some other file)
  std::remove(tmp.c_str());
  std::FILE* f = std::fopen(tmp.c_str(), "wbx");
  if (!f) throw Error("cannot write image '" + tmp + "': " + std::strerror(errno));
  PngErrorState err;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(err.jmp)) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    std::remove(tmp.c_str());
    throw Error("writing PNG '" + path + "' failed: " + err.message);
  }
  png_init_io(png, f);
  const bool wide = img.bits == 16;
  png_set_IHDR(png, info, static_cast<png_uint_32>(img.width), static_cast<png_uint_32>(img.height),
               wide ? 16 : 8, img.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  if constexpr (std::endian::native == std::endian::little)
    if (wide) png_set_swap(png);  // our native samples -> PNG's big-endian
  for (int y = 0; y < img.height; ++y)
    png_write_row(png, wide ? reinterpret_cast<png_bytep>(const_cast<uint16_t*>(img.row16(y)))
                            : const_cast<png_bytep>(img.row(y)));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  const bool ok = std::fflush(f) == 0;
  if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("writing PNG '" + path + "' failed: " + why);
  }
}

}  // namespace cg::data
