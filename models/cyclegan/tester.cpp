#include "models/cyclegan/tester.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "data/dataset.h"
#include "data/files.h"
#include "models/cyclegan/checkpoint.h"
#include "models/cyclegan/cli.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "models/cyclegan/networks.h"
#include "ops/ops.h"

namespace cg::cyclegan {

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
data::Image stretch(const data::Image& im, double aspect_ratio) {
  if (aspect_ratio > 1.0)
    return data::resize_bicubic(im, im.height, static_cast<int>(im.width * aspect_ratio));
  if (aspect_ratio < 1.0)
    return data::resize_bicubic(im, static_cast<int>(im.height / aspect_ratio), im.width);
  return im;
}

// Saves each visual as images/<stem>_<label>.png and adds the row to the page.
void save_images(ResultsPage& page, const std::string& image_dir, const std::string& source_path,
                 const std::vector<std::pair<std::string, Tensor>>& visuals, double aspect_ratio) {
  const std::string stem = fs::path(source_path).stem().string();
  std::vector<std::pair<std::string, std::string>> row;
  for (const auto& [label, t] : visuals) {
    const std::string file = stem + "_" + label + ".png";
    data::write_png(image_dir + "/" + file, stretch(data::from_tensor(t), aspect_ratio));
    row.emplace_back(label, file);
  }
  page.add(stem, row);
}

}  // namespace

std::string results_folder(const Options& opt) {
  std::string leaf = opt.phase + "_" + opt.epoch;
  if (opt.load_iter > 0) leaf += "_iter" + std::to_string(opt.load_iter);  // the official's web_dir
  return (fs::path(opt.results_dir) / opt.name / leaf).string();
}

std::string run_test(const Options& opt, bool quiet, std::vector<std::string>* failed) {
  validate_options(opt, false);
  const std::string folder = results_folder(opt), image_dir = folder + "/images";
  const std::string label = load_label(opt), dir = experiment_dir(opt);
  // One image that cannot be translated is reported with its name and skipped; the rest go on.
  std::vector<std::string> local_failed;
  std::vector<std::string>& fails = failed ? *failed : local_failed;
  auto skip = [&](const std::string& path, const std::exception& e) {
    std::fprintf(stderr, "error: cannot translate '%s': %s; skipped\n", path.c_str(), e.what());
    fails.push_back(path);
  };
  ResultsPage page(folder, "Experiment = " + opt.name + ", Phase = " + opt.phase + ", Epoch = " + opt.epoch,
                   opt.display_winsize);
  // As the official test.py: batch 1, images in order, no flips.
  data::Preprocess pre{opt.preprocess, opt.load_size, opt.crop_size, false, opt.input_nc, opt.max_pixels};
  data::validate(pre);
  auto progress = [&](int64_t i, const std::string& path) {
    if (!quiet && i % 5 == 0)
      std::printf("processing (%04lld)-th image... ['%s']\n", static_cast<long long>(i), path.c_str());
  };
  NoGradGuard no_grad;
  if (opt.model == "test") {
    Generator unused(opt.seed);
    auto G = define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, !opt.no_dropout,
                      opt.init_type, opt.init_gain, unused);
    const std::string file = committed_file(dir, label, net_file(opt, label, "G" + opt.model_suffix));
    if (!fs::exists(file)) {
      std::string hint;
      if (opt.model_suffix.empty() && fs::exists(net_file(opt, label, "G_A")))
        hint =
            "; this experiment has one generator per direction: add --model_suffix _A (A -> B) or _B (B -> "
            "A)";
      throw Error("checkpoint file '" + file + "' does not exist" + hint + " (checkpoints in " + dir + ": " +
                  available_checkpoints(dir) + ")");
    }
    load_network(*G, file);
    G->train(!opt.eval);  // as the official test.py: train mode unless --eval
    const Device dev = options_device(opt);
    G->to(dev);
    const Bf16Autocast amp(opt.amp);
    const auto paths = data::find_images(opt.dataroot, opt.max_dataset_size);
    fs::create_directories(image_dir);
    Generator gen(opt.seed);
    for (int64_t i = 0; i < static_cast<int64_t>(paths.size()) && i < opt.num_test; ++i) {
      const std::string& path = paths[static_cast<size_t>(i)];
      try {
        Tensor real = data::transform(data::read_image(path, opt.input_nc, opt.max_pixels), pre, gen, path);
        real = real.reshape({1, real.size(0), real.size(1), real.size(2)}).to(dev);
        const Tensor fake = (*G)(real);
        progress(i, path);
        save_images(page, image_dir, path, {{"real", real}, {"fake", fake}}, opt.aspect_ratio);
      } catch (const Error& e) {
        skip(path, e);
      }
    }
  } else {
    CycleGANModel model(opt, false);
    load_generators(model, label);
    model.netG_A->train(!opt.eval);
    model.netG_B->train(!opt.eval);
    data::UnalignedDataset::Options d;
    d.dataroot = opt.dataroot;
    d.phase = opt.phase;
    d.a_to_b = opt.direction == "AtoB";
    d.serial_batches = true;
    d.input_nc = opt.input_nc;
    d.output_nc = opt.output_nc;
    d.max_dataset_size = opt.max_dataset_size;
    d.preprocess = pre;
    const data::UnalignedDataset ds(d);
    data::Loader loader(ds, 1, false, std::max(1, opt.num_threads), opt.seed, opt.max_dataset_size);
    loader.start_epoch(1, 0);
    fs::create_directories(image_dir);
    data::Loader::Batch b;
    for (int64_t i = 0; i < opt.num_test && loader.next(b); ++i) {
      const std::string& path = opt.direction == "AtoB" ? b.A_paths[0] : b.B_paths[0];
      try {
        model.set_input(b.A, b.B);
        model.test();
        progress(i, path);
        save_images(page, image_dir, path, model.current_visuals(), opt.aspect_ratio);
      } catch (const Error& e) {
        skip(path + " / " + (opt.direction == "AtoB" ? b.B_paths[0] : b.A_paths[0]), e);
      }
    }
  }
  page.save();
  return folder;
}

}  // namespace cg::cyclegan
