// The command lines of cyclegan_train and cyclegan_test: the official option names and defaults
// (CLI11), and the official options listing written to CHECKPOINTS/NAME/<phase>_opt.txt.
#pragma once

#include <optional>
#include <string>

#include "models/cyclegan/options.h"

namespace cg::cyclegan {

struct Parsed {
  Options opt;
  std::optional<int> exit_code;  // set when the program should exit now (after --help, or on a usage error)
};

// The test program's defaults: the official test options (model test, phase test, load_size 256).
Options test_defaults();

// Prints --help or usage errors itself.
Parsed parse_train_args(int argc, char** argv);
Parsed parse_test_args(int argc, char** argv);

// The checkpoint label to load: iter_<load_iter> when --load_iter > 0, else --epoch (the official rule).
std::string load_label(const Options& opt);

// The official print_options block: every option sorted by name, "{:>25}: {:<30}" with
// "\t[default: X]" where the value differs from the default.
std::string options_text(const Options& opt, bool is_train);
// Writes options_text to CHECKPOINTS/NAME/<phase>_opt.txt (or RESULTS for test), creating folders.
void write_options_file(const Options& opt, bool is_train, const std::string& folder);

// Checks what can be checked before any work starts (values in range, known names), throwing
// cg::Error with the flag's name.
void validate_options(const Options& opt, bool is_train);

}  // namespace cg::cyclegan
