#include "data/combine.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "backend/types.h"
#include "data/dataset.h"
#include "data/files.h"
#include "data/image.h"

namespace cg::data {

namespace fs = std::filesystem;

namespace {

// The image files directly in `dir`, by name, sorted.
std::vector<std::string> image_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && has_image_extension(e.path().filename().string()))
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The first run of digits in a file name's stem, without leading zeros ("0012_A.jpg" -> "12"), or "".
std::string number_in(const std::string& name) {
  const std::string stem = fs::path(name).stem().string();
  const auto first = std::find_if(stem.begin(), stem.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (first == stem.end()) return "";
  const auto last = std::find_if(first, stem.end(), [](char c) { return !std::isdigit(static_cast<unsigned char>(c)); });
  std::string n(first, last);
  n.erase(0, std::min(n.find_first_not_of('0'), n.size() - 1));
  return n;
}

void combine_split(const CombineOptions& opt, const std::string& dir_A, const std::string& dir_B,
                   const std::string& dir_AB, CombineResult::Split& split, std::vector<std::string>& errors) {
  if (!fs::is_directory(dir_B)) throw Error("folder B '" + dir_B + "' (the partner of '" + dir_A + "') does not exist");
  std::vector<std::string> names = image_names(dir_A);
  if (opt.use_AB)
    names.erase(std::remove_if(names.begin(), names.end(),
                               [](const std::string& n) { return n.find("_A.") == std::string::npos; }),
                names.end());
  if (names.empty()) throw Error("folder A '" + dir_A + "' holds no images" + (opt.use_AB ? " named *_A.*" : ""));
  if (static_cast<int64_t>(names.size()) > opt.num_imgs) names.resize(static_cast<size_t>(opt.num_imgs));
  std::map<std::string, std::string> b_by_number;  // for --by_number: the first B file of each number
  if (opt.by_number)
    for (const std::string& n : image_names(dir_B)) {
      const std::string k = number_in(n);
      if (!k.empty()) b_by_number.emplace(k, n);
    }
  struct Pair {
    std::string a, b, ab;
  };
  std::vector<Pair> pairs;
  for (const std::string& name_A : names) {
    std::string name_B = name_A, name_AB = name_A;
    if (opt.use_AB) {
      const size_t at = name_A.rfind("_A.");
      name_B = name_A.substr(0, at) + "_B." + name_A.substr(at + 3);
      name_AB = name_A.substr(0, at) + name_A.substr(at + 2);  // drops the _A
    } else if (opt.by_number) {
      const auto it = b_by_number.find(number_in(name_A));
      name_B = it == b_by_number.end() ? "" : it->second;
    }
    const fs::path path_B = fs::path(dir_B) / name_B;
    if (name_B.empty() || !fs::is_regular_file(path_B)) {
      split.unpaired.push_back((fs::path(dir_A) / name_A).string());
      continue;
    }
    pairs.push_back({(fs::path(dir_A) / name_A).string(), path_B.string(),
                     (fs::path(dir_AB) / (fs::path(name_AB).stem().string() + ".png")).string()});
  }
  fs::create_directories(dir_AB);
  std::vector<std::string> failed(pairs.size());
#pragma omp parallel for schedule(dynamic)
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Pair& p = pairs[i];
    try {
      const Image a = read_image(p.a, 3), b = read_image(p.b, 3);
      if (a.width != b.width || a.height != b.height)
        throw Error("'" + p.a + "' is " + std::to_string(a.width) + "x" + std::to_string(a.height) + " but '" + p.b +
                    "' is " + std::to_string(b.width) + "x" + std::to_string(b.height) +
                    ": the halves of an AB image must have one size");
      Image ab{2 * a.width, a.height, 3, std::vector<uint8_t>(static_cast<size_t>(2 * a.width) * a.height * 3)};
      const size_t row = static_cast<size_t>(a.width) * 3;
      for (int y = 0; y < a.height; ++y) {
        std::copy(a.row(y), a.row(y) + row, ab.row(y));
        std::copy(b.row(y), b.row(y) + row, ab.row(y) + row);
      }
      write_png(p.ab, ab);
    } catch (const std::exception& e) {
      failed[i] = e.what();
    }
  }
  for (const std::string& f : failed)
    if (f.empty())
      ++split.written;
    else
      errors.push_back(f);
}

}  // namespace

CombineResult combine_A_and_B(const CombineOptions& opt) {
  if (opt.use_AB && opt.by_number) throw Error("--use_AB and --by_number are two ways of pairing: give one");
  if (opt.num_imgs < 1) throw Error("--num_imgs must be >= 1");
  if (!fs::is_directory(opt.fold_A)) throw Error("folder A '" + opt.fold_A + "' does not exist or is not a folder");
  if (!fs::is_directory(opt.fold_B)) throw Error("folder B '" + opt.fold_B + "' does not exist or is not a folder");
  if (opt.fold_AB.empty()) throw Error("--fold_AB: no output folder given");
  // Never over the inputs: the AB images would replace A or B images of the same name (links
  // resolved, so a link to an input folder is that folder).
  for (const auto& [flag, input] : {std::pair<const char*, const std::string&>{"--fold_A", opt.fold_A},
                                    std::pair<const char*, const std::string&>{"--fold_B", opt.fold_B}})
    if (within_folder(opt.fold_AB, input))
      throw Error(
          "--fold_AB '" + opt.fold_AB + "' is " + flag + " '" + input +
          "' or a folder inside it: the AB images would be written among (and over) the input images; "
          "give an output folder outside the inputs");
  std::vector<std::string> splits;
  for (const auto& e : fs::directory_iterator(opt.fold_A))
    if (e.is_directory()) splits.push_back(e.path().filename().string());
  std::sort(splits.begin(), splits.end());
  if (splits.empty()) splits.push_back("");  // fold_A is itself the one split
  CombineResult r;
  for (const std::string& sp : splits) {
    // a split's output may still land in an input (--fold_AB above --fold_B, a split named as it)
    const std::string out = (fs::path(opt.fold_AB) / sp).string();
    for (const std::string& input : {opt.fold_A, opt.fold_B})
      if (within_folder(out, input))
        throw Error("split '" + sp + "' would be written to '" + out + "', inside the input folder '" +
                    input + "'; give an output folder outside the inputs");
  }
  for (const std::string& sp : splits) {
    CombineResult::Split s;
    s.name = sp;
    combine_split(opt, (fs::path(opt.fold_A) / sp).string(), (fs::path(opt.fold_B) / sp).string(),
                  (fs::path(opt.fold_AB) / sp).string(), s, r.errors);
    r.splits.push_back(std::move(s));
  }
  return r;
}

}  // namespace cg::data
