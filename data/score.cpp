#include "data/score.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "data/dataset.h"
#include "data/image.h"

namespace cg::data {

namespace fs = std::filesystem;

namespace {

// The first run of digits in a file name; empty if there is none.
std::string number_key(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  const size_t b = name.find_first_of("0123456789");
  if (b == std::string::npos) return "";
  const size_t e = name.find_first_not_of("0123456789", b);
  std::string digits = name.substr(b, e == std::string::npos ? std::string::npos : e - b);
  const size_t nz = digits.find_first_not_of('0');  // "007" and "7" are the same tile
  return nz == std::string::npos ? "0" : digits.substr(nz);
}

std::map<std::string, std::string> by_number(const std::vector<std::string>& files, const std::string& what) {
  std::map<std::string, std::string> m;
  for (const std::string& f : files) {
    const std::string k = number_key(f);
    if (k.empty()) throw Error(what + " file '" + f + "' has no number in its name to pair it by");
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
    if (label.empty() ||
        (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0))
      out.push_back(f);
  }
  if (out.empty())
    throw Error("no " + what + " images" + (label.empty() ? std::string() : " ending in _" + label) + " in '" + dir +
                "'");
  return out;
}

}  // namespace

Score score_folders(const std::string& results_dir, const std::string& truth_dir,
                    const std::string& result_label, int threshold, const std::string& truth_label) {
  const auto res = by_number(labelled(results_dir, result_label, "result"), "result"),
             truth = by_number(labelled(truth_dir, truth_label, "ground-truth"), "ground-truth");
  Score s;
  double sq = 0;
  int64_t good = 0, pixels = 0;
  for (const auto& [key, rpath] : res) {
    const auto t = truth.find(key);
    if (t == truth.end())
      throw Error("result '" + rpath + "' has no ground truth numbered " + key + " in '" + truth_dir + "'");
    const Image a = read_image(rpath, 3), b = read_image(t->second, 3);
    if (a.width != b.width || a.height != b.height)
      throw Error("'" + rpath + "' is " + std::to_string(a.width) + "x" + std::to_string(a.height) +
                  " but '" + t->second + "' is " + std::to_string(b.width) + "x" + std::to_string(b.height));
    PairScore p{rpath, t->second};
    double psq = 0;
    int64_t pgood = 0;
    const int64_t n = static_cast<int64_t>(a.width) * a.height;
    for (int64_t i = 0; i < n; ++i) {
      int worst = 0;
      for (int c = 0; c < 3; ++c) {
        const int d = static_cast<int>(a.pixels[static_cast<size_t>(i * 3 + c)]) -
                      b.pixels[static_cast<size_t>(i * 3 + c)];
        psq += static_cast<double>(d) * d;
        worst = std::max(worst, std::abs(d));
      }
      pgood += worst <= threshold;
    }
    p.pixels = n;
    p.rmse = std::sqrt(psq / static_cast<double>(3 * n));
    p.accuracy = static_cast<double>(pgood) / static_cast<double>(n);
    sq += psq;
    good += pgood;
    pixels += n;
    s.pairs.push_back(p);
  }
  s.rmse = std::sqrt(sq / static_cast<double>(3 * pixels));
  s.accuracy = static_cast<double>(good) / static_cast<double>(pixels);
  return s;
}

void write_score_csv(const Score& s, const std::string& path) {
  std::ofstream f(path);
  f << "result,ground_truth,rmse,accuracy\n";
  for (const PairScore& p : s.pairs) {
    char row[64];
    std::snprintf(row, sizeof row, ",%.6f,%.6f\n", p.rmse, p.accuracy);
    f << p.result << "," << p.truth << row;
  }
  if (!f) throw Error("cannot write '" + path + "'");
}

}  // namespace cg::data
