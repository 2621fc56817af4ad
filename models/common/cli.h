// The command lines of cyclegan_train and cyclegan_test: the official option names and defaults
// (CLI11), with the defaults of the model --model names (default_options), the official options
// listing written to CHECKPOINTS/NAME/<phase>_opt.txt, and the one check of every option.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/common/options.h"

namespace cg::models {

struct Parsed {
  Options opt;
  std::optional<int> exit_code;  // set when the program should exit now (after --help, or on a usage error)
};

// Prints --help or usage errors itself. The defaults are those of the model --model names (its
// last occurrence), and only that model's own flags are accepted (--lambda_L1 with pix2pix, ...),
// as with the official parser.
Parsed parse_train_args(int argc, char** argv);
Parsed parse_test_args(int argc, char** argv);
// cgan_train and cgan_sample: the conditional GAN's few flags (Keras's defaults), from the same table.
Parsed parse_cgan_train_args(int argc, char** argv);
Parsed parse_cgan_sample_args(int argc, char** argv);

// The GPUs --gpu_ids names, in order (empty for the CPU).
std::vector<int> gpu_id_list(const Options& opt);
// For the programs that run on one GPU (the tester, the CGAN sampler): with --device cuda, makes
// --gpu_ids' GPU this process's (GPU 0 when none is named). Throws naming a GPU that is not there.
void select_gpu(const Options& opt);

// The checkpoint label to load: iter_<load_iter> when --load_iter > 0, else --epoch (the official rule).
std::string load_label(const Options& opt);

// The official print_options block: every option sorted by name, "{:>25}: {:<30}" with
// "\t[default: X]" where the value differs from the default.
std::string options_text(const Options& opt, bool is_train);
// Writes options_text to CHECKPOINTS/NAME/<phase>_opt.txt (or RESULTS for test), creating folders.
void write_options_file(const Options& opt, bool is_train, const std::string& folder);

// Checks what can be checked before any work starts (values in range, known names, what the model
// needs), throwing cg::Error whose message names the flag.
void validate_options(const Options& opt, bool is_train);

}  // namespace cg::models
