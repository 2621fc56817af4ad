#include "models/common/tester.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include "data/dataset.h"
#include "data/files.h"
#include "data/loader.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/datasets.h"
#include "models/common/model.h"
#include "ops/ops.h"

namespace cg::models {

namespace fs = std::filesystem;

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s)
    out += c == '&'    ? "&amp;"
           : c == '<'  ? "&lt;"
           : c == '>'  ? "&gt;"
           : c == '\'' ? "&#39;"
                       : std::string(1, c);
  return out;
}

// The results page: one header and one row of labelled images per input image, as the official.
class ResultsPage {
 public:
  ResultsPage(std::string folder, std::string title, int width)
      : folder_(std::move(folder)), title_(std::move(title)), width_(width) {}
  void add(const std::string& name, const std::vector<std::pair<std::string, std::string>>& images) {
    rows_.push_back({name, images});
  }
  void save() const {
    std::ostringstream h;
    h << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>" << html_escape(title_) << "</title>\n"
      << "<style>body{font-family:sans-serif;margin:20px} h3{font-size:14px;margin:18px 0 4px}"
      << " .row{display:flex;flex-wrap:wrap;gap:6px} .cell{text-align:center;font-size:12px}"
      << " img{width:" << width_ << "px;height:auto;display:block}</style></head><body>\n"
      << "<h1 style='font-size:18px'>" << html_escape(title_) << "</h1>\n";
    for (const auto& [name, images] : rows_) {
      h << "<h3>" << html_escape(name) << "</h3>\n<div class='row'>";
      for (const auto& [label, file] : images)
        h << "<div class='cell'><a href='images/" << html_escape(file) << "'><img src='images/"
          << html_escape(file) << "'></a>" << html_escape(label) << "</div>";
      h << "</div>\n";
    }
    h << "</body></html>\n";
    data::write_file_atomically(folder_ + "/index.html", h.str());
  }

 private:
  std::string folder_, title_;
  int width_;
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> rows_;
};

// The official save_image's stretch, with its PIL argument order kept: size (h, w * ratio) as
// (width, height) above 1, (h / ratio, w) below.
data::Image stretch(const data::Image& im, double aspect_ratio, int64_t max_pixels) {
  if (aspect_ratio == 1.0) return im;
  const double w = aspect_ratio > 1.0 ? im.height : im.height / aspect_ratio;
  const double h = aspect_ratio > 1.0 ? im.width * aspect_ratio : im.width;
  if (w * h > static_cast<double>(max_pixels))
    throw Error("--aspect_ratio " + py_float(aspect_ratio) + " would save it as " +
                std::to_string(int64_t(w)) + "x" + std::to_string(int64_t(h)) +
                " pixels, more than --max_pixels " + std::to_string(max_pixels));
  return data::resize_bicubic(im, static_cast<int>(w), static_cast<int>(h));
}

// Saves each visual as images/<stem>_<label>.png (8 or 16 bits) and adds the row to the page.
void save_images(ResultsPage& page, const std::string& image_dir, const std::string& source_path,
                 const std::vector<std::pair<std::string, Tensor>>& visuals, double aspect_ratio,
                 int64_t max_pixels, int bits) {
  const std::string stem = fs::path(source_path).stem().string();
  std::vector<std::pair<std::string, std::string>> row;
  for (const auto& [label, t] : visuals) {
    const std::string file = stem + "_" + label + ".png";
    data::write_png(image_dir + "/" + file, stretch(data::from_tensor(t, bits), aspect_ratio, max_pixels));
    row.emplace_back(label, file);
  }
  page.add(stem, row);
}

std::string duration_text(double s) {
  char buf[32];
  const long t = std::lround(s);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

// --tile_size: the generators translate tile by tile, their temporary files under $TMPDIR or the
// results folder; a progress line every 10 seconds once a translation has run for 5.
nn::TiledOptions tiling(const Options& opt, const std::string& folder, bool quiet) {
  nn::TiledOptions t;
  t.tile_size = opt.tile_size;
  const char* tmp = std::getenv("TMPDIR");
  t.temp_dir = tmp && *tmp ? tmp : folder;
  if (quiet) return t;
  auto last = std::make_shared<double>(0.0);
  t.progress = [last](const nn::TiledProgress& p) {
    if (p.stage == 1 && p.tile == 0) *last = 0;  // a new translation
    if (p.elapsed_s < 5 || p.elapsed_s - *last < 10) return;
    *last = p.elapsed_s;
    std::string temp;
    if (p.temp_file_bytes > 0) {
      char gib[32];
      std::snprintf(gib, sizeof gib, "%.2f", static_cast<double>(p.temp_file_bytes) / (1 << 30));
      temp = ", temporary files up to " + std::string(gib) + " GiB in " + p.temp_dir;
    }
    std::printf("  tiled: stage %d/%d, tile %lld/%lld (%s), %.0f%% done, %s elapsed, ETA %s%s\n", p.stage,
                p.stages, static_cast<long long>(p.tile), static_cast<long long>(p.tiles), p.what.c_str(),
                100 * p.fraction, duration_text(p.elapsed_s).c_str(),
                p.eta_s < 0 ? "?" : duration_text(p.eta_s).c_str(), temp.c_str());
    std::fflush(stdout);
  };
  return t;
}

}  // namespace

std::string results_folder(const Options& opt) {
  // validate_options refuses these first; this keeps the folder inside --results_dir
  check_folder_name("--name", opt.name, "the experiment's folder in --results_dir");
  std::string leaf = opt.phase + "_" + opt.epoch;
  check_folder_name("--phase and --epoch", leaf, "the results' folder (<phase>_<epoch>)");
  if (opt.load_iter > 0) leaf += "_iter" + std::to_string(opt.load_iter);  // the official's web_dir
  return (fs::path(opt.results_dir) / opt.name / leaf).string();
}

void translate_images(Model& model, const data::Dataset& ds, const Options& opt, int64_t limit,
                      const std::function<void(const Translation&)>& each,
                      const std::function<void(const std::string& files, const std::exception&)>& skip) {
  data::Loader loader(ds, 1, false, std::max(1, opt.num_threads), opt.seed, opt.max_dataset_size);
  loader.start_epoch(1, 0);
  data::Batch b;
  for (int64_t i = 0; i < limit; ++i) {
    try {
      if (!loader.next(b)) break;
    } catch (const data::LoadError& e) {
      skip(e.file, e);
      continue;
    }
    const std::string& path = opt.direction == "AtoB" || !b.B.defined() ? b.A_paths[0] : b.B_paths[0];
    try {
      model.set_input(b);
      model.test();
      if (opt.tile_size > 0 && model.tiled_translations() == 0)
        throw Error("--tile_size: --model " + opt.model +
                    " translated without Model::generate, so nothing was tiled (its forward() must call it)");
      each(Translation{i, b, path, model.current_visuals()});
    } catch (const Error& e) {
      // an unpaired test names both of its files
      const std::string other = opt.direction == "AtoB" ? b.B_paths[0] : b.A_paths[0];
      skip(b.B.defined() && other != path ? path + " / " + other : path, e);
    }
  }
}

std::string run_test(const Options& opt, bool quiet, std::vector<std::string>* failed) {
  validate_options(opt, false);
  select_gpu(opt);
  const std::string folder = results_folder(opt), image_dir = folder + "/images";
  const std::string label = load_label(opt), dir = experiment_dir(opt);
  // Never among the inputs: a result <stem>_<label>.png could replace an input of that name, and
  // would be read as an input by the next test.
  const std::string root = opt.dataroot.empty() ? "." : opt.dataroot;
  const std::vector<std::string> inputs =
      opt.dataset_mode == "unaligned"
          ? std::vector<std::string>{root + "/" + opt.phase + "A", root + "/" + opt.phase + "B"}
      : opt.dataset_mode == "aligned" ? std::vector<std::string>{root + "/" + opt.phase}
      : opt.dataset_mode == "single"  ? std::vector<std::string>{root}
                                      : std::vector<std::string>{};
  for (const std::string& in : inputs)
    if (data::within_folder(image_dir, in))
      throw Error("--results_dir: the results would be written to '" + image_dir +
                  "', inside the input folder '" + in +
                  "' (--dataroot); give a --results_dir outside the data");
  // One image that cannot be translated is reported with its name and skipped; the rest go on.
  std::vector<std::string> local_failed;
  std::vector<std::string>& fails = failed ? *failed : local_failed;
  auto skip = [&](const std::string& path, const std::exception& e) {
    std::fprintf(stderr, "error: cannot translate '%s': %s; skipped\n", path.c_str(), e.what());
    fails.push_back(path);
  };
  ResultsPage page(folder, "Experiment = " + opt.name + ", Phase = " + opt.phase + ", Epoch = " + opt.epoch,
                   opt.display_winsize);
  NoGradGuard no_grad;
  manual_seed(opt.seed);  // dropout in train mode draws from it: a test with one --seed repeats exactly
  const std::unique_ptr<Model> model = create_model(opt, false);
  load_networks(*model, label);
  if (opt.tile_size > 0) {
    fs::create_directories(folder);
    model->set_tiling(tiling(opt, folder, quiet));
  }
  for (const auto& [name, net] : model->networks())
    net->train(!opt.eval);  // as test.py: train mode unless --eval
  // As the official test.py: batch 1, images in order, no flips (create_dataset's test settings).
  const std::unique_ptr<data::Dataset> ds = create_dataset(opt, false);
  fs::create_directories(image_dir);
  translate_images(
      *model, *ds, opt, opt.num_test,
      [&](const Translation& t) {
        if (!quiet && t.index % 5 == 0)
          std::printf("processing (%04lld)-th image... ['%s']\n", static_cast<long long>(t.index),
                      t.path.c_str());
        save_images(page, image_dir, t.path, t.visuals, opt.aspect_ratio, opt.max_pixels, opt.save_bits);
      },
      skip);
  page.save();
  return folder;
}

}  // namespace cg::models
