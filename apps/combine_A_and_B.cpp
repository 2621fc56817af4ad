// combine_A_and_B: makes the paired (aligned) dataset pix2pix trains on from two folders, as the
// official datasets/combine_A_and_B.py, with its flags. For example the shared maps tiles, whose
// trainA/N_A.jpg and trainB/N_B.jpg are the two halves of one tile:
//   combine_A_and_B --fold_A maps/trainA --fold_B maps/trainB --fold_AB maps_AB/train --use_AB
#include <CLI/CLI.hpp>
#include <cstdio>

#include "data/combine.h"

int main(int argc, char** argv) {
  cg::data::CombineOptions o;
  bool no_multiprocessing = false;
  CLI::App app(
      "Writes AB images (A left, B right) from two folders of partner images, for --dataset_mode aligned. When "
      "--fold_A holds subfolders (train, test, ...), each is done with its namesake in --fold_B and "
      "--fold_AB.",
      "combine_A_and_B");
  app.add_option("--fold_A", o.fold_A, "input folder of the A images")->required();
  app.add_option("--fold_B", o.fold_B, "input folder of the B images")->required();
  app.add_option("--fold_AB", o.fold_AB, "output folder of the AB images (PNG)")->required();
  app.add_option("--num_imgs", o.num_imgs, "at most this many images per split")->capture_default_str();
  app.add_flag("--use_AB", o.use_AB, "pair 0001_A.* with 0001_B.* and write 0001.png");
  app.add_flag("--by_number", o.by_number, "pair by the first number in the file names (12_A.jpg with map12.png)");
  app.add_flag("--no_multiprocessing", no_multiprocessing,
               "accepted for the official's sake (threads: OMP_NUM_THREADS)");
  CLI11_PARSE(app, argc, argv);
  try {
    const cg::data::CombineResult r = cg::data::combine_A_and_B(o);
    for (const auto& s : r.splits) {
      std::printf("split = %s, wrote %lld AB images to %s\n", s.name.empty() ? "(one)" : s.name.c_str(),
                  static_cast<long long>(s.written), (o.fold_AB + (s.name.empty() ? "" : "/" + s.name)).c_str());
      if (!s.unpaired.empty()) {
        std::printf("  %zu image(s) of A have no partner in B and were left out, e.g. '%s'\n", s.unpaired.size(),
                    s.unpaired[0].c_str());
      }
    }
    for (const std::string& e : r.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
    return r.errors.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
