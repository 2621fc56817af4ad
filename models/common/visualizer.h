// The training web page: CHECKPOINTS/NAME/web/index.html, rebuilt every --display_freq iterations
// with a row of the model's current visuals (CycleGAN: real, fake, reconstructed, identity for
// both directions; pix2pix: real_A, fake_B, real_B) and the model's loss charts drawn as inline
// SVG from loss_log.csv, and with --val_freq a chart per validation score from val_log.csv. One
// self-contained page (the images sit beside it in web/images/), no
// server.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/common/model.h"

namespace cg::models {

class Visualizer {
 public:
  // Picks up the rows of an earlier run of this experiment from web/images, so a resumed run
  // keeps them. samples_per_epoch scales the curves' x axis.
  // `model` gives the page's title, the visuals' order and the loss charts.
  Visualizer(const Model& model, bool quiet, int64_t samples_per_epoch);
  // Shows the model's current visuals on the rebuilt page. `keep`: as a row of its history
  // (web/images/epochNNN_iterNNNNNNN_<label>.png; the official keeps one every --update_html_freq
  // iterations and the first of each epoch); otherwise as the latest update (current_<label>.png),
  // replaced by the next one. Nothing at all with --no_html.
  void display(const Model& model, int epoch, int64_t total_iters, bool keep);
  // Rebuilds the page once more (the curves up to the last logged iteration and validation).
  void finish();
  const std::string& page_path() const { return page_; }

 private:
  struct Row {
    int epoch;
    int64_t iters;
    std::vector<std::pair<std::string, std::string>> images;  // (label, file relative to web/)
  };
  void write_page() const;
  Options opt_;
  std::string model_name_;
  std::vector<std::string> visual_names_;
  std::vector<std::pair<std::string, std::vector<std::string>>> charts_;
  bool quiet_;
  int64_t samples_per_epoch_;
  std::string web_dir_, img_dir_, page_;
  std::vector<Row> rows_;
  std::optional<Row> current_;  // the latest update when it is not kept in the history
};

// An SVG line chart of the named columns of a loss_log.csv or val_log.csv (x: epoch + fraction of
// the epoch; the first two columns are epoch and iters), with a dot at every point when `dots`
// (a few validations). Empty when the file has no data rows yet.
std::string loss_chart_svg(const std::string& csv_path, const std::vector<std::string>& columns,
                           const std::string& title, int64_t samples_per_epoch, bool dots = false);

}  // namespace cg::models
