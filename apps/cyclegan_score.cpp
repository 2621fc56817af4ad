// cyclegan_score: scores translated images against paired ground truth (e.g. maps testA -> testB):
// per-pixel RMSE (0-255) and pixel accuracy (largest channel difference <= 5), overall and per image.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "data/score.h"

int main(int argc, char** argv) {
  std::string results, truth, label = "fake_B", truth_label, csv;
  int threshold = 5;
  CLI::App app("Scores translated images against ground truth paired by the number in their file names.",
               "cyclegan_score");
  app.add_option("--results", results, "folder of translated images (e.g. results/NAME/test_latest/images)")
      ->required();
  app.add_option("--ground_truth", truth, "folder of the true images (e.g. DATAROOT/testB)")->required();
  app.add_option("--label", label, "score the results named <stem>_<label>.png ('' for every image)")
      ->capture_default_str();
  app.add_option("--truth_label", truth_label,
                 "score against the ground-truth images named <stem>_<truth_label>.png (real_B: a pix2pix "
                 "results folder holds its own ground truth; '' for every image)")
      ->capture_default_str();
  app.add_option("--threshold", threshold, "a pixel counts as right when no channel differs by more (0-255)")
      ->capture_default_str()
      ->check(CLI::Range(0, 255));
  app.add_option("--csv", csv, "also write per-image scores to this CSV file");
  CLI11_PARSE(app, argc, argv);
  try {
    const cg::data::Score s = cg::data::score_folders(results, truth, label, threshold, truth_label);
    if (!csv.empty()) cg::data::write_score_csv(s, csv);
    std::printf("pairs: %zu\nRMSE (0-255): %.4f\npixel accuracy (max channel difference <= %d): %.4f\n",
                s.pairs.size(), s.rmse, threshold, s.accuracy);
    if (!csv.empty()) std::printf("per-image scores: %s\n", csv.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
