// cyclegan_score: scores translated images against ground truth (e.g. maps testA -> testB).
// Paired by the number in the file names: per-pixel RMSE (0-255), pixel accuracy (largest channel
// difference <= 5), PSNR and SSIM (scikit-image's conventions), overall and per image. --fwd adds
// the Fréchet Wavelet Distance between the two folders as sets (no pairing; --unpaired for folders
// that do not pair). data/score.h and data/fwd.h say how each is defined.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>

#include "data/score.h"

namespace {
// "%.4f", or what a value that is not finite means here
std::string shown(double v, const char* not_finite) {
  if (!std::isfinite(v)) return not_finite;
  char s[32];
  std::snprintf(s, sizeof s, "%.4f", v);
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  std::string results, truth, csv, json;
  cg::data::ScoreOptions opt;
  bool unpaired = false;
  CLI::App app("Scores translated images against ground truth paired by the number in their file names.",
               "cyclegan_score");
  app.add_option("--results", results, "folder of translated images (e.g. results/NAME/test_latest/images)")
      ->required();
  app.add_option("--ground_truth", truth, "folder of the true images (e.g. DATAROOT/testB)")->required();
  app.add_option("--label", opt.result_label,
                 "score the results named <stem>_<label>.png ('' for every image)")
      ->capture_default_str();
  app.add_option("--truth_label", opt.truth_label,
                 "score against the ground-truth images named <stem>_<truth_label>.png (real_B: a pix2pix "
                 "results folder holds its own ground truth; '' for every image)")
      ->capture_default_str();
  app.add_option("--threshold", opt.threshold,
                 "a pixel counts as right when no channel differs by more (0-255)")
      ->capture_default_str()
      ->check(CLI::Range(0, 255));
  app.add_flag(
      "--fwd", opt.fwd,
      "also the Frechet Wavelet Distance between all results and all ground-truth images as two sets "
      "(Haar, level 4, pytorchfwd's definition; one image size in both folders, 2 or more images each)");
  app.add_flag(
      "--unpaired", unpaired,
      "the folders do not pair up by number (e.g. CycleGAN on unpaired data): FWD alone (implies --fwd)");
  app.add_option("--csv", csv, "also write per-image scores to this CSV file");
  app.add_option(
      "--json", json,
      "also write the overall scores as one JSON object to this file (keys pairs, rmse, accuracy, psnr, "
      "ssim, and fwd with --fwd; null where a score is not finite)");
  CLI11_PARSE(app, argc, argv);
  if (unpaired) {
    opt.paired = false;
    opt.fwd = true;
    if (!csv.empty()) {
      std::fprintf(stderr, "error: --csv holds per-pair scores, which --unpaired does not take\n");
      return 1;
    }
  }
  try {
    const cg::data::Score s = cg::data::score_folders(results, truth, opt);
    if (!csv.empty()) cg::data::write_score_csv(s, csv);
    if (!json.empty()) cg::data::write_score_json(s, json);
    if (opt.paired) {
      std::printf("pairs: %zu\nRMSE (0-255): %.4f\npixel accuracy (max channel difference <= %d): %.4f\n",
                  s.pairs.size(), s.rmse, opt.threshold, s.accuracy);
      std::printf("PSNR (dB, mean over pairs): %s\n", shown(s.psnr, "inf (some pair is identical)").c_str());
      std::printf("SSIM (mean over pairs): %s\n",
                  shown(s.ssim, "n/a (some image is under 11x11, SSIM's window)").c_str());
    }
    if (s.fwd)
      std::printf("FWD (Haar, level %d; %lld results, %lld ground-truth images): %.4f\n", opt.fwd_level,
                  static_cast<long long>(s.fwd_results), static_cast<long long>(s.fwd_truths), *s.fwd);
    if (!csv.empty()) std::printf("per-image scores: %s\n", csv.c_str());
    if (!json.empty()) std::printf("scores as JSON: %s\n", json.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
