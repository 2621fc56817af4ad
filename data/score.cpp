#include "data/score.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/files.h"
#include "data/fwd.h"

namespace cg::data {

namespace fs = std::filesystem;

namespace {

std::string size_str(const Image& im) { return std::to_string(im.width) + "x" + std::to_string(im.height); }

void check_same_size(const Image& a, const Image& b, const std::string& an, const std::string& bn) {
  if (a.width != b.width || a.height != b.height || a.channels != b.channels)
    throw Error("'" + an + "' is " + size_str(a) +
                (a.channels != b.channels ? " with " + std::to_string(a.channels) + " channels" : "") +
                " but '" + bn + "' is " + size_str(b) +
                (a.channels != b.channels ? " with " + std::to_string(b.channels) + " channels" : ""));
}

// scipy.ndimage's Gaussian kernel (_gaussian_kernel1d) as skimage's SSIM uses it: exp(-x^2 / (2
// sigma^2)) for x = -5..5 (radius int(3.5 * 1.5 + 0.5)), divided by their sum.
std::array<double, 2 * kSsimRadius + 1> ssim_window() {
  std::array<double, 2 * kSsimRadius + 1> g{};
  double sum = 0;
  for (int x = -kSsimRadius; x <= kSsimRadius; ++x)
    sum += g[x + kSsimRadius] = std::exp(-0.5 / (1.5 * 1.5) * x * x);
  for (double& v : g) v /= sum;
  return g;
}

// The sum over the cropped SSIM map of one channel. skimage filters the whole image (mode
// 'reflect') and then drops `pad` = radius pixels at each border before the mean; every value it
// keeps sees only pixels inside the image, so the boundary mode never matters and we filter only
// there: rows and columns [5, side - 5).
double ssim_channel_sum(const Image& a, const Image& b, int c) {
  static const std::array<double, 2 * kSsimRadius + 1> g = ssim_window();
  constexpr int K = 2 * kSsimRadius + 1;
  const int W = a.width, H = a.height, ch = a.channels, oh = H - 2 * kSsimRadius, ow = W - 2 * kSsimRadius;
  const size_t plane = static_cast<size_t>(W) * H;
  std::vector<double> x(plane), y(plane);  // (H, W) of the channel, 0-255
  for (size_t i = 0; i < plane; ++i) {
    x[i] = a.pixels[i * ch + c];
    y[i] = b.pixels[i * ch + c];
  }
  // the vertical pass of the five fields (x, y, xx, yy, xy) on the kept rows, all columns
  std::vector<double> v(static_cast<size_t>(5) * oh * W, 0.0);  // (5, oh, W)
  const size_t vf = static_cast<size_t>(oh) * W;
  for (int r = 0; r < oh; ++r) {
    double *v0 = &v[r * static_cast<size_t>(W)], *v1 = v0 + vf, *v2 = v1 + vf, *v3 = v2 + vf, *v4 = v3 + vf;
    for (int i = 0; i < K; ++i) {
      const double gi = g[i], *xr = &x[(r + i) * static_cast<size_t>(W)],
                   *yr = &y[(r + i) * static_cast<size_t>(W)];
#pragma omp simd
      for (int col = 0; col < W; ++col) {
        v0[col] += gi * xr[col];
        v1[col] += gi * yr[col];
        v2[col] += gi * xr[col] * xr[col];
        v3[col] += gi * yr[col] * yr[col];
        v4[col] += gi * xr[col] * yr[col];
      }
    }
  }
  constexpr double C1 = (0.01 * 255) * (0.01 * 255), C2 = (0.03 * 255) * (0.03 * 255);  // K1, K2 = 0.01, 0.03
  double sum = 0;
  for (int r = 0; r < oh; ++r) {
    const double* row[5];
    for (int f = 0; f < 5; ++f) row[f] = &v[f * vf + r * static_cast<size_t>(W)];
    for (int col = 0; col < ow; ++col) {
      double u[5] = {0, 0, 0, 0, 0};  // the horizontal pass: local means of x, y, xx, yy, xy
      for (int j = 0; j < K; ++j)
        for (int f = 0; f < 5; ++f) u[f] += g[j] * row[f][col + j];
      // population (co)variances (use_sample_covariance=False: Wang et al.'s)
      const double vx = u[2] - u[0] * u[0], vy = u[3] - u[1] * u[1], vxy = u[4] - u[0] * u[1];
      sum += ((2 * u[0] * u[1] + C1) * (2 * vxy + C2)) / ((u[0] * u[0] + u[1] * u[1] + C1) * (vx + vy + C2));
    }
  }
  return sum;
}

}  // namespace

std::string pair_key(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  const size_t b = name.find_first_of("0123456789");
  if (b == std::string::npos) return "";
  const size_t e = name.find_first_not_of("0123456789", b);
  std::string digits = name.substr(b, e == std::string::npos ? std::string::npos : e - b);
  const size_t nz = digits.find_first_not_of('0');  // "007" and "7" are the same tile
  return nz == std::string::npos ? "0" : digits.substr(nz);
}

namespace {

std::map<std::string, std::string> by_number(const std::vector<std::string>& files, const std::string& what) {
  std::map<std::string, std::string> m;
  for (const std::string& f : files) {
    const std::string k = pair_key(f);
    if (k.empty())
      throw Error(what + " file '" + f +
                  "' has no number in its name to pair it by (folders that do not pair: FWD alone, "
                  "cyclegan_score --unpaired)");
    const auto [it, fresh] = m.emplace(k, f);
    if (!fresh) throw Error(what + " files '" + it->second + "' and '" + f + "' have the same number " + k);
  }
  return m;
}

// The images of `dir` whose stem ends with "_<label>" (all of them for an empty label).
std::vector<std::string> labelled(const std::string& dir, const std::string& label, const std::string& what) {
  std::vector<std::string> out;
  for (const std::string& f : find_images(dir, INT64_MAX)) {
    const std::string stem = fs::path(f).stem().string(), suffix = "_" + label;
    if (label.empty() || (stem.size() > suffix.size() &&
                          stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0))
      out.push_back(f);
  }
  if (out.empty())
    throw Error("no " + what + " images" + (label.empty() ? std::string() : " ending in _" + label) +
                " in '" + dir + "'");
  return out;
}

std::string fixed6(double v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.6f", v);
  return s;
}

}  // namespace

double psnr(const Image& result, const Image& truth) {
  check_same_size(result, truth, "result", "truth");
  double sq = 0;
  for (size_t i = 0; i < result.pixels.size(); ++i) {
    const double d = static_cast<double>(result.pixels[i]) - truth.pixels[i];
    sq += d * d;
  }
  if (sq == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(255.0 * 255.0 / (sq / static_cast<double>(result.pixels.size())));
}

double ssim(const Image& result, const Image& truth) {
  check_same_size(result, truth, "result", "truth");
  if (result.width < 2 * kSsimRadius + 1 || result.height < 2 * kSsimRadius + 1)
    return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (int c = 0; c < result.channels; ++c) sum += ssim_channel_sum(truth, result, c);
  const double kept = static_cast<double>(result.width - 2 * kSsimRadius) * (result.height - 2 * kSsimRadius);
  return sum / (kept * result.channels);  // every channel's mean has the same count: their mean
}

PairScore score_pair(const Image& result, const Image& truth, int threshold, const std::string& result_name,
                     const std::string& truth_name) {
  check_same_size(result, truth, result_name, truth_name);
  PairScore p{result_name, truth_name};
  const int ch = result.channels;
  const int64_t n = static_cast<int64_t>(result.width) * result.height;
  for (int64_t i = 0; i < n; ++i) {
    int worst = 0;
    for (int c = 0; c < ch; ++c) {
      const int d = static_cast<int>(result.pixels[static_cast<size_t>(i * ch + c)]) -
                    truth.pixels[static_cast<size_t>(i * ch + c)];
      p.squared_error += static_cast<double>(d) * d;
      worst = std::max(worst, std::abs(d));
    }
    p.good_pixels += worst <= threshold;
  }
  p.pixels = n;
  p.channels = ch;
  p.rmse = std::sqrt(p.squared_error / static_cast<double>(ch * n));
  p.accuracy = static_cast<double>(p.good_pixels) / static_cast<double>(n);
  p.psnr = psnr(result, truth);
  p.ssim = ssim(result, truth);
  return p;
}

Score summarize(std::vector<PairScore> pairs) {
  if (pairs.empty()) throw Error("no pairs to score");
  Score s;
  double sq = 0;
  int64_t good = 0, pixels = 0, values = 0;
  for (const PairScore& p : pairs) {
    sq += p.squared_error;
    good += p.good_pixels;
    pixels += p.pixels;
    values += p.pixels * p.channels;
    s.psnr += p.psnr;
    s.ssim += p.ssim;
  }
  s.pairs = std::move(pairs);
  const double n = static_cast<double>(s.pairs.size());
  s.psnr /= n;
  s.ssim /= n;
  s.rmse = std::sqrt(sq / static_cast<double>(values));
  s.accuracy = static_cast<double>(good) / static_cast<double>(pixels);
  return s;
}

Score score_folders(const std::string& results_dir, const std::string& truth_dir, const ScoreOptions& opt) {
  if (!opt.paired && !opt.fwd) throw Error("score_folders: nothing to score (neither paired scores nor FWD)");
  const std::vector<std::string> res_files = labelled(results_dir, opt.result_label, "result"),
                                 truth_files = labelled(truth_dir, opt.truth_label, "ground-truth");
  Score s;
  if (opt.paired) {
    const auto res = by_number(res_files, "result"), truth = by_number(truth_files, "ground-truth");
    std::vector<std::pair<std::string, std::string>> pairs;  // (result, truth) in the results' number order
    std::string unpaired;
    for (const auto& [key, rpath] : res) {
      const auto t = truth.find(key);
      if (t == truth.end()) {
        if (unpaired.empty())
          unpaired = "result '" + rpath + "' has no ground truth numbered " + key + " in '" + truth_dir + "'";
        continue;
      }
      pairs.emplace_back(rpath, t->second);
    }
    if (pairs.empty())
      throw Error("no pairs: none of the " + std::to_string(res.size()) + " results in '" + results_dir +
                  "' has a ground truth with its number in '" + truth_dir +
                  "' (folders that do not pair: FWD alone, cyclegan_score --unpaired)");
    if (!unpaired.empty()) throw Error(unpaired);
    std::vector<PairScore> scored(pairs.size());
    std::vector<std::string> errors(pairs.size());
#pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < pairs.size(); ++i) {
      try {
        const auto& [rpath, tpath] = pairs[i];
        scored[i] = score_pair(read_image(rpath, 3), read_image(tpath, 3), opt.threshold, rpath, tpath);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
    for (const std::string& e : errors)
      if (!e.empty()) throw Error(e);
    s = summarize(std::move(scored));
  }
  if (opt.fwd) {
    WaveletPackets a(opt.fwd_level, "the results in '" + results_dir + "'"),
        b(opt.fwd_level, "the ground truth in '" + truth_dir + "'");
    a.add_files(res_files);
    b.add_files(truth_files);
    s.fwd = fwd(a, b);
    s.fwd_results = a.images();
    s.fwd_truths = b.images();
  }
  return s;
}

Score score_folders(const std::string& results_dir, const std::string& truth_dir,
                    const std::string& result_label, int threshold, const std::string& truth_label) {
  ScoreOptions opt;
  opt.result_label = result_label;
  opt.truth_label = truth_label;
  opt.threshold = threshold;
  return score_folders(results_dir, truth_dir, opt);
}

void write_score_csv(const Score& s, const std::string& path) {
  std::string out = "result,ground_truth,rmse,accuracy,psnr,ssim\n";
  for (const PairScore& p : s.pairs)
    out += p.result + "," + p.truth + "," + fixed6(p.rmse) + "," + fixed6(p.accuracy) + "," + fixed6(p.psnr) +
           "," + fixed6(p.ssim) + "\n";
  write_file_atomically(path, out);
}

std::string score_json(const Score& s) {
  nlohmann::json j;
  j["pairs"] = s.pairs.size();
  if (!s.pairs.empty()) {
    j["rmse"] = s.rmse;
    j["accuracy"] = s.accuracy;
    j["psnr"] = s.psnr;  // nlohmann writes a value that is not finite as null
    j["ssim"] = s.ssim;
  }
  if (s.fwd) {
    j["fwd"] = *s.fwd;
    j["fwd_results"] = s.fwd_results;
    j["fwd_ground_truth"] = s.fwd_truths;
  }
  return j.dump() + "\n";
}

void write_score_json(const Score& s, const std::string& path) { write_file_atomically(path, score_json(s)); }

}  // namespace cg::data
