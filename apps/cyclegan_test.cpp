// cyclegan_test: translates images with trained generators (--model cycle_gan, pix2pix or test),
// with the official test.py's options.
// See `cyclegan_test --help` and README.md.
#include <cstdio>

#include "models/common/cli.h"
#include "models/common/tester.h"

int main(int argc, char** argv) {
  const cg::models::Parsed p = cg::models::parse_test_args(argc, argv);
  if (p.exit_code) return *p.exit_code;
  try {
    std::vector<std::string> failed;
    const std::string folder = cg::models::run_test(p.opt, false, &failed);
    std::printf("results: %s/index.html\n", folder.c_str());
    if (!failed.empty()) {
      std::fprintf(stderr, "error: %zu image(s) could not be translated (named above); the others were\n",
                   failed.size());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
