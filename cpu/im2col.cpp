#include "cpu/im2col.h"

#include "cpu/scratch.h"

namespace cg::cpu {

// With AVX-512: the panel's columns are copied column-major, then transposed in 16 x 16 register
// blocks.
template <>
__attribute__((target("avx512f"))) void Im2colTB<float>::pack_transposed(int64_t k0, int64_t kc, int64_t j0,
                                                                         int64_t nc, int NR,
                                                                         float* dst) const {
  float* cols = scratch<float>(kTranspose, static_cast<size_t>(NR * kc));  // (NR, kc): column-major panel
  for (int64_t jp = 0; jp < nc; jp += NR) {
    const int64_t ncols = std::min<int64_t>(NR, nc - jp);
    for (int64_t j = 0; j < ncols; ++j) column(k0, kc, j0 + jp + j, cols + j * kc, 1);
    std::memset(cols + ncols * kc, 0, sizeof(float) * static_cast<size_t>((NR - ncols) * kc));
    float* panel = dst + (jp / NR) * kc * NR;
    int64_t kb = 0;
    for (; kb + 16 <= kc; kb += 16)
      for (int jb = 0; jb < NR; jb += 16) {
        __m512 v[16];
        for (int c = 0; c < 16; ++c) v[c] = _mm512_loadu_ps(cols + (jb + c) * kc + kb);
        transpose16(v);
        for (int i = 0; i < 16; ++i) _mm512_storeu_ps(panel + (kb + i) * NR + jb, v[i]);
      }
    for (; kb < kc; ++kb)
      for (int j = 0; j < NR; ++j) panel[kb * NR + j] = cols[j * kc + kb];
  }
}

}  // namespace cg::cpu
