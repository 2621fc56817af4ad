#include "data/fashion_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace cg::data {

// An IDX file (gzip-compressed): big-endian magic, dims, then the bytes.
std::vector<uint8_t> read_idx(const std::string& path, std::vector<int>& dims) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open '" + path + "' (install Debian's dataset-fashion-mnist)");
  auto read = [&](void* p, unsigned n) {
    if (gzread(f, p, n) != static_cast<int>(n)) {
      gzclose(f);
      throw Error("'" + path + "' is truncated or not an IDX file");
    }
  };
  unsigned char magic[4];
  read(magic, 4);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08) {
    gzclose(f);
    throw Error("'" + path + "' is not an unsigned-byte IDX file");
  }
  // The sizes come from the file: checked before anything is allocated, and the data is read in
  // chunks, so a header that lies costs no more memory than the file really holds.
  constexpr uint64_t kMaxBytes = uint64_t{1} << 31;  // Fashion-MNIST's largest file holds 47 MB
  dims.clear();
  uint64_t total = 1;
  std::string shape;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    read(b, 4);
    const uint64_t n = uint64_t{b[0]} << 24 | uint64_t{b[1]} << 16 | uint64_t{b[2]} << 8 | b[3];
    if (d) shape += "x";  // (one append at a time: GCC 12 warns falsely on "x" + to_string at -O3)
    shape += std::to_string(n);
    if (n > INT32_MAX || __builtin_mul_overflow(total, n, &total) || total > kMaxBytes) {
      gzclose(f);
      throw Error("'" + path + "' claims dimensions " + shape +
                      "..., more values than an IDX file of images can hold (2^31)");
    }
    dims.push_back(static_cast<int>(n));
  }
  std::vector<uint8_t> data;
  while (data.size() < total) {
    const size_t at = data.size(), n = std::min<size_t>(total - at, size_t{1} << 20);
    data.resize(at + n);
    read(data.data() + at, static_cast<unsigned>(n));
  }
  gzclose(f);
  return data;
}


FashionMnist read_fashion_mnist(const std::string& source, const std::string& split) {
  std::vector<int> idims, ldims;
  FashionMnist fm;
  fm.pixels = read_idx(source + "/" + split + "-images-idx3-ubyte.gz", idims);
  fm.labels = read_idx(source + "/" + split + "-labels-idx1-ubyte.gz", ldims);
  if (idims.size() != 3 || ldims.size() != 1 || idims[0] != ldims[0])
    throw Error("'" + source + "' images and labels of '" + split + "' do not match");
  fm.count = idims[0];
  fm.height = idims[1];
  fm.width = idims[2];
  return fm;
}

Image FashionMnist::image(int i) const {
  Image img{width, height, 1, {}};
  const size_t n = static_cast<size_t>(width) * height;
  img.pixels.assign(pixels.begin() + static_cast<long>(i * n), pixels.begin() + static_cast<long>((i + 1) * n));
  return img;
}

}  // namespace cg::data
