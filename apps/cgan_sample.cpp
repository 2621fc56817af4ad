// cgan_sample: writes --num images of class --label drawn from a conditional GAN that cgan_train
// trained. See `cgan_sample --help`.
#include <cstdio>

#include "models/cgan/sampler.h"
#include "models/cgan/spec.h"
#include "models/common/cli.h"

int main(int argc, char** argv) {
  const cg::models::Parsed p = cg::models::parse_args(argc, argv, cg::cgan::sample_program());
  if (p.exit_code) return *p.exit_code;
  try {
    const auto files = cg::cgan::run_sampling(p.opt);
    std::printf("wrote %zu images of class %d to %s\n", files.size(), p.opt.get<int>("label"),
                p.opt.results_dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
