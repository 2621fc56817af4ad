// Paired scoring of translated images against ground truth, as papers on aerial photo -> map
// translation report it: per-pixel RMSE on the 0-255 scale and pixel accuracy, the share of pixels
// whose largest channel difference is at most a threshold (5).
#pragma once

#include <string>
#include <vector>

namespace cg::data {

struct PairScore {
  std::string result, truth;
  double rmse = 0;      // sqrt(mean over pixels and channels of squared differences)
  double accuracy = 0;  // share of pixels with max channel |difference| <= threshold
  int64_t pixels = 0;
};

struct Score {
  std::vector<PairScore> pairs;
  double rmse = 0;      // over every pixel of every pair together
  double accuracy = 0;  // likewise
};

// Pairs the files by the first run of digits in their names ("12_A_fake_B.png" <-> "12_B.jpg").
// `result_label`, when set, keeps only results whose stem ends with "_<label>" (e.g. fake_B);
// `truth_label` likewise for the ground truth (real_B: a pix2pix results folder holds its own
// ground truth). Both images are compared as RGB. Throws naming the files when a result has no
// partner, two files share a number, or the sizes differ.
Score score_folders(const std::string& results_dir, const std::string& truth_dir,
                    const std::string& result_label, int threshold = 5, const std::string& truth_label = "");

// Writes "result,ground_truth,rmse,accuracy" rows.
void write_score_csv(const Score& s, const std::string& path);

}  // namespace cg::data
