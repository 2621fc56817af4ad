// Paired data for pix2pix from two folders (the official datasets/combine_A_and_B.py): each image
// of folder A beside its partner from folder B, written as one AB image (A left, B right) that the
// aligned dataset splits again. Partners are found by file name (the official default), by the
// official --use_AB rule (0001_A.jpg <-> 0001_B.jpg, written as 0001), or by the number in the
// name (12_A.jpg <-> photo12.png).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cg::data {

struct CombineOptions {
  std::string fold_A, fold_B, fold_AB;
  int64_t num_imgs = 1000000;  // at most this many per split, in sorted order
  bool use_AB = false;         // names with _A. pair with _B.; the AB image drops the _A
  bool by_number = false;      // pair by the first number in the file name
};

struct CombineResult {
  struct Split {
    std::string name;           // "" when fold_A has no subfolders (it is the split itself)
    int64_t written = 0;        // AB images written
    std::vector<std::string> unpaired;  // A files without a partner in B
  };
  std::vector<Split> splits;
  std::vector<std::string> errors;  // one line per pair that could not be written (it names both files)
};

// As the official: when fold_A holds subfolders (train, val, test), each is a split with its
// partner folder fold_B/<split> and output fold_AB/<split>; otherwise fold_A and fold_B are one
// split written into fold_AB. A and B are read as RGB, must have the same size, and are written as
// PNG (lossless: the official re-encodes in the input's format), <A's name stem>.png. Throws
// cg::Error for a missing folder or a split with no images; per-pair failures go to `errors`.
CombineResult combine_A_and_B(const CombineOptions& opt);

}  // namespace cg::data
