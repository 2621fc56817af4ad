#include "models/common/visualizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "data/files.h"
#include "data/image.h"
#include "models/common/checkpoint.h"
#include "models/common/validation.h"
#include "ops/batch.h"

namespace cg::models {

namespace fs = std::filesystem;

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A "nice" step for about `n` ticks over `range`: 1, 2 or 5 times a power of ten.
double nice_step(double range, int n) {
  const double raw = range / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A visual's place in the model's official order (unknown labels last).
long visual_rank(const std::vector<std::string>& order, const std::string& label) {
  return std::find(order.begin(), order.end(), label) - order.begin();
}

// The page's title: the model's paper name.
std::string model_title(const std::string& name) {
  const ModelSpec* spec = find_model(name);
  return spec && !spec->title.empty() ? spec->title : name;
}

// The columns among `wanted` of a CSV file that hold a finite number in some row.
std::vector<std::string> scored_columns(const std::string& csv_path, const std::vector<std::string>& wanted) {
  std::ifstream in(csv_path);
  std::string header;
  if (!in || !std::getline(in, header)) return {};
  std::vector<std::string> names;
  std::stringstream hs(header);
  for (std::string f; std::getline(hs, f, ',');) names.push_back(f);
  std::vector<bool> seen(names.size(), false);
  for (std::string line; std::getline(in, line);) {
    std::stringstream ls(line);
    size_t k = 0;
    for (std::string v; std::getline(ls, v, ',') && k < names.size(); ++k)
      seen[k] = seen[k] || std::isfinite(std::strtod(v.c_str(), nullptr));
  }
  std::vector<std::string> out;
  for (const std::string& w : wanted) {
    const auto it = std::find(names.begin(), names.end(), w);
    if (it != names.end() && seen[static_cast<size_t>(it - names.begin())]) out.push_back(w);
  }
  return out;
}

}  // namespace

std::string loss_chart_svg(const std::string& csv_path, const std::vector<std::string>& columns,
                           const std::string& title, int64_t samples_per_epoch, bool dots) {
  std::ifstream in(csv_path);
  std::string header;
  if (!in || !std::getline(in, header)) return "";
  std::vector<std::string> names;
  {
    std::stringstream hs(header);
    for (std::string f; std::getline(hs, f, ',');) names.push_back(f);
  }
  std::vector<int> cols;
  for (const std::string& c : columns) {
    const auto it = std::find(names.begin(), names.end(), c);
    cols.push_back(it == names.end() ? -1 : static_cast<int>(it - names.begin()));
  }
  std::vector<double> xs;
  std::vector<std::vector<double>> ys(columns.size());
  for (std::string line; std::getline(in, line);) {
    std::vector<double> f;
    std::stringstream ls(line);
    for (std::string v; std::getline(ls, v, ',');) f.push_back(std::strtod(v.c_str(), nullptr));
    if (f.size() < names.size()) continue;
    xs.push_back(f[0] - 1 + (samples_per_epoch > 0 ? f[1] / static_cast<double>(samples_per_epoch) : 0));
    for (size_t k = 0; k < cols.size(); ++k)
      ys[k].push_back(cols[k] >= 0 ? f[static_cast<size_t>(cols[k])] : NAN);
  }
  if (xs.empty()) return "";
  double x0 = xs.front(), x1 = xs.back(), y0 = 0, y1 = 0;
  for (const auto& y : ys)
    for (double v : y)
      if (std::isfinite(v)) y1 = std::max(y1, v), y0 = std::min(y0, v);
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const double W = 720, H = 300, L = 56, R = 150, T = 30, B = 40;  // canvas and margins
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                 "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' viewBox='0 0 " << W
    << " " << H << "' font-family='sans-serif' font-size='11'>\n";
  s << "<rect width='100%' height='100%' fill='white'/>\n";
  s << "<text x='" << L << "' y='18' font-size='13' font-weight='bold'>" << html_escape(title) << "</text>\n";
  const double ys_step = nice_step(y1 - y0, 5), xs_step = nice_step(x1 - x0, 8);
  for (double v = std::ceil(y0 / ys_step) * ys_step; v <= y1 + 1e-12; v += ys_step)
    s << "<line x1='" << L << "' x2='" << W - R << "' y1='" << py(v) << "' y2='" << py(v)
      << "' stroke='#ddd'/><text x='" << L - 6 << "' y='" << py(v) + 4 << "' text-anchor='end'>" << num(v)
      << "</text>\n";
  for (double v = std::ceil(x0 / xs_step) * xs_step; v <= x1 + 1e-12; v += xs_step)
    s << "<line x1='" << px(v) << "' x2='" << px(v) << "' y1='" << T << "' y2='" << H - B
      << "' stroke='#eee'/><text x='" << px(v) << "' y='" << H - B + 15 << "' text-anchor='middle'>" << num(v)
      << "</text>\n";
  s << "<text x='" << (L + W - R) / 2 << "' y='" << H - 6 << "' text-anchor='middle'>epoch</text>\n";
  s << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
    << "' fill='none' stroke='#888'/>\n";
  // At most ~1500 points per line: enough for the eye, small enough for the page.
  const size_t stride = std::max<size_t>(1, xs.size() / 1500);
  for (size_t k = 0; k < columns.size(); ++k) {
    s << "<polyline fill='none' stroke-width='1.5' stroke='" << colors[k % 8] << "' points='";
    for (size_t i = 0; i < xs.size(); i += stride)
      if (std::isfinite(ys[k][i])) s << px(xs[i]) << "," << py(ys[k][i]) << " ";
    s << "'/>\n";
    if (dots)
      for (size_t i = 0; i < xs.size(); ++i)
        if (std::isfinite(ys[k][i]))
          s << "<circle cx='" << px(xs[i]) << "' cy='" << py(ys[k][i]) << "' r='3' fill='" << colors[k % 8]
            << "'/>\n";
    s << "<line x1='" << W - R + 12 << "' x2='" << W - R + 32 << "' y1='" << T + 14 + 18 * k << "' y2='"
      << T + 14 + 18 * k << "' stroke-width='3' stroke='" << colors[k % 8] << "'/><text x='" << W - R + 38
      << "' y='" << T + 18 + 18 * k << "'>" << html_escape(columns[k]) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

Visualizer::Visualizer(const Model& model, bool quiet, int64_t samples_per_epoch)
    : opt_(model.opt),
      model_name_(model.name()),
      visual_names_(model.visual_names()),
      charts_(model.loss_charts()),
      quiet_(quiet),
      samples_per_epoch_(samples_per_epoch) {
  const Options& opt = opt_;
  web_dir_ = (fs::path(experiment_dir(opt)) / "web").string();
  img_dir_ = (fs::path(web_dir_) / "images").string();
  page_ = (fs::path(web_dir_) / "index.html").string();
  if (opt.no_html) return;
  fs::create_directories(img_dir_);
  // Rows of an earlier run of this experiment (a resumed run keeps its history).
  const std::regex name_re(R"(epoch(\d+)_iter(\d+)_(.+)\.png)");
  std::map<std::pair<int, int64_t>, std::vector<std::pair<std::string, std::string>>> found;
  for (const auto& e : fs::directory_iterator(img_dir_)) {
    std::smatch m;
    const std::string f = e.path().filename().string();
    if (std::regex_match(f, m, name_re))
      found[{std::stoi(m[1]), std::stoll(m[2])}].emplace_back(m[3], "images/" + f);
  }
  for (auto& [key, imgs] : found) {
    std::sort(imgs.begin(), imgs.end(), [&](const auto& a, const auto& b) {
      return visual_rank(visual_names_, a.first) < visual_rank(visual_names_, b.first);
    });
    rows_.push_back({key.first, key.second, imgs});
  }
}

void Visualizer::display(const Model& model, int epoch, int64_t total_iters, bool keep) {
  if (opt_.no_html) return;
  Row row{epoch, total_iters, {}};
  char prefix[64];
  if (keep)
    std::snprintf(prefix, sizeof prefix, "epoch%03d_iter%07lld_", epoch, static_cast<long long>(total_iters));
  else
    std::snprintf(prefix, sizeof prefix, "current_");
  for (const auto& [label, t] : model.current_visuals()) {
    if (!t.defined()) continue;
    const std::string file = prefix + label + ".png";
    // the first image of the batch, as the official display
    const Tensor first = t.ndim() == 4 && t.size(0) > 1 ? slice0(t.detach(), 0, 1) : t.detach();
    data::write_png((fs::path(img_dir_) / file).string(), data::from_tensor(first));
    row.images.emplace_back(label, "images/" + file);
  }
  if (keep) {
    rows_.push_back(std::move(row));
    current_.reset();
  } else {
    current_ = std::move(row);
  }
  write_page();
}

void Visualizer::finish() {
  if (!opt_.no_html) write_page();
}

void Visualizer::write_page() const {
  const std::string csv = (fs::path(experiment_dir(opt_)) / "loss_log.csv").string();
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><meta http-equiv='refresh' content='60'>\n"
    << "<title>" << html_escape(opt_.name) << " - " << html_escape(model_title(model_name_))
    << " training</title>\n"
    << "<style>body{font-family:sans-serif;margin:20px;color:#222} h1{font-size:20px} "
       "h2{font-size:16px;margin-top:28px}"
    << " .row{display:flex;flex-wrap:wrap;gap:6px} .cell{text-align:center;font-size:12px}"
    << " img{width:" << opt_.display_winsize
    << "px;height:auto;image-rendering:pixelated;border:1px solid #ccc;display:block}"
    << " .meta{color:#666;font-size:13px}"
    << "</style></head><body>\n";
  h << "<h1>Experiment: " << html_escape(opt_.name) << "</h1>\n";
  h << "<p class='meta'>" << html_escape(model_title(model_name_)) << " &middot; dataroot "
    << html_escape(opt_.dataroot) << " &middot; " << html_escape(opt_.netG) << ", ngf " << opt_.ngf << ", "
    << html_escape(opt_.netD) << ", ndf " << opt_.ndf << ", " << html_escape(opt_.gan_mode)
    << " &middot; preprocess " << html_escape(opt_.preprocess)
    << (opt_.preprocess == "none"
            ? std::string()
            : " (load " + std::to_string(opt_.load_size) + ", crop " + std::to_string(opt_.crop_size) + ")")
    << " &middot; device " << html_escape(opt_.device)
    << " &middot; the page refreshes itself every minute</p>\n";
  h << "<h2>Losses</h2>\n";
  std::vector<std::string> charts;
  for (const auto& [title, columns] : charts_) {
    std::string svg = loss_chart_svg(csv, columns, title, samples_per_epoch_);
    if (!svg.empty()) charts.push_back(std::move(svg));
  }
  if (charts.empty())
    h << "<p class='meta'>No losses logged yet (every --print_freq " << opt_.print_freq
      << " iterations).</p>\n";
  for (const std::string& svg : charts) h << "<div>" << svg << "</div>\n";
  const std::string val_csv = (fs::path(experiment_dir(opt_)) / "val_log.csv").string();
  if (fs::exists(val_csv)) {  // --val_freq: a chart per score taken
    h << "<h2>Validation</h2>\n<p class='meta'>the validation images translated in eval mode every "
         "--val_freq epochs (val_log.csv); the best by --val_metric is checkpoint 'best'</p>\n";
    for (const std::string& m : scored_columns(val_csv, validation_metrics())) {
      const std::string title = m + (higher_is_better(m) ? " (higher is better)" : " (lower is better)");
      const std::string svg = loss_chart_svg(val_csv, {m}, title, samples_per_epoch_, true);
      if (!svg.empty()) h << "<div>" << svg << "</div>\n";
    }
  }
  h << "<h2>Images (newest first)</h2>\n";
  if (rows_.empty() && !current_)
    h << "<p class='meta'>No images yet (every --display_freq " << opt_.display_freq << " iterations).</p>\n";
  std::vector<const Row*> shown;
  if (current_) shown.push_back(&*current_);
  for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) shown.push_back(&*it);
  for (const Row* it : shown) {
    h << "<h3 class='meta'>epoch " << it->epoch << ", iteration " << it->iters
      << (current_ && it == &*current_ ? " (latest update; kept every --update_html_freq iterations)" : "")
      << "</h3>\n<div class='row'>";
    for (const auto& [label, file] : it->images)
      h << "<div class='cell'><a href='" << html_escape(file) << "'><img src='" << html_escape(file)
        << "' alt='" << html_escape(label) << "'></a>" << html_escape(label) << "</div>";
    h << "</div>\n";
  }
  h << "</body></html>\n";
  data::write_file_atomically(page_, h.str());  // a browser refreshing it never sees half a page
}

}  // namespace cg::models
