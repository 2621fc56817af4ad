// Scores of translated images against ground truth.
//
// Paired (a result and its true image): per-pixel RMSE on the 0-255 scale and pixel accuracy (the
// share of pixels whose largest channel difference is at most a threshold, 5), as papers on aerial
// photo -> map translation report them; PSNR and SSIM with scikit-image's conventions
// (skimage.metrics.peak_signal_noise_ratio with data_range 255; structural_similarity with
// gaussian_weights=True, sigma 1.5, use_sample_covariance=False, data_range 255, averaged over the
// channels: Wang et al. 2004).
// Unpaired (two sets as distributions): the Fréchet Wavelet Distance, data/fwd.h.
//
// The functions on images serve a training loop (validation scores in memory: from_tensor gives
// the images the tester would save); score_folders serves cyclegan_score.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/image.h"

namespace cg::data {

struct PairScore {
  std::string result, truth;
  double rmse = 0;      // sqrt(mean over pixels and channels of squared differences)
  double accuracy = 0;  // share of pixels with max channel |difference| <= threshold
  double psnr = 0;      // 10 log10(255^2 / MSE) in dB; infinite for identical images
  double ssim = 0;      // NaN when a side is under 11 pixels (SSIM's window)
  int64_t pixels = 0;
  int channels = 0;
  double squared_error = 0;  // the sums that pool pairs: of squared differences,
  int64_t good_pixels = 0;   // and of pixels within the threshold
};

// SSIM's Gaussian window: sigma 1.5 truncated at 3.5 sigma (skimage's truncate), radius 5.
constexpr int kSsimRadius = 5;

// PSNR (dB, peak 255) and SSIM of two 8-bit images of one size and channel count (any: a pair of
// RGB images is scored per channel and averaged). Throws naming the sizes when they differ.
double psnr(const Image& result, const Image& truth);
double ssim(const Image& result, const Image& truth);

// All paired scores of one pair; `result` and `truth` name them in the score and in errors.
PairScore score_pair(const Image& result, const Image& truth, int threshold = 5,
                     const std::string& result_name = "", const std::string& truth_name = "");

struct Score {
  std::vector<PairScore> pairs;
  double rmse = 0;            // over every pixel of every pair together
  double accuracy = 0;        // likewise
  double psnr = 0;            // the mean of the pairs' PSNR (infinite when some pair is identical)
  double ssim = 0;            // the mean of the pairs' SSIM (NaN when some image is under 11x11)
  std::optional<double> fwd;  // when asked for
  int64_t fwd_results = 0, fwd_truths = 0;  // the images FWD compared
};

// The pooled RMSE and accuracy and the mean PSNR and SSIM of scored pairs (none: throws).
Score summarize(std::vector<PairScore> pairs);

struct ScoreOptions {
  std::string result_label = "fake_B";  // score results whose stem ends with _<label> ('' for all)
  std::string truth_label;              // likewise for the ground truth
  int threshold = 5;
  bool paired = true;  // pair the files by number and take the paired scores
  bool fwd = false;    // FWD between the two folders' images (labels apply; no pairing)
  int fwd_level = 4;
};

// The key a file pairs by: the first run of digits in its name, leading zeros dropped ("12_A.jpg"
// and "012_B.png": "12"); empty when the name has no digits.
std::string pair_key(const std::string& path);

// Pairs the files by the first run of digits in their names ("12_A_fake_B.png" <-> "12_B.jpg").
// Both images are compared as RGB. Throws naming the files when a result has no partner, none
// does, two files share a number, or the sizes differ; for FWD when the images are not all of one
// size or a folder has fewer than 2.
Score score_folders(const std::string& results_dir, const std::string& truth_dir, const ScoreOptions& opt);
// The paired scores alone.
Score score_folders(const std::string& results_dir, const std::string& truth_dir,
                    const std::string& result_label, int threshold = 5, const std::string& truth_label = "");

// Writes "result,ground_truth,rmse,accuracy,psnr,ssim" rows (atomically).
void write_score_csv(const Score& s, const std::string& path);
// One JSON object: pairs and rmse, accuracy, psnr, ssim when paired, fwd when asked; a value that
// is not finite (PSNR of identical pairs, SSIM of tiny images) is null.
std::string score_json(const Score& s);
void write_score_json(const Score& s, const std::string& path);  // atomically

}  // namespace cg::data
