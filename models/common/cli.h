// The command lines of cyclegan_train, cyclegan_test and the models' own programs: the official
// option names and defaults (CLI11, from the flag rows of models/common/flags.h), with the defaults
// of the model --model names (default_options), the official options listing written to
// CHECKPOINTS/NAME/<phase>_opt.txt, and the one check of every option.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/common/flags.h"
#include "models/common/options.h"

namespace cg::models {

struct Parsed {
  Options opt;
  std::optional<int> exit_code;  // set when the program should exit now (after --help, or on a usage error)
};

// Prints --help or usage errors itself. The defaults are those of the model --model names (its
// last occurrence; a model's own program serves its one model), and only that model's own flags
// are accepted (--lambda_L1 with pix2pix, ...), as with the official parser.
Parsed parse_args(int argc, char** argv, const Program& program);
Parsed parse_train_args(int argc, char** argv);  // cyclegan_train
Parsed parse_test_args(int argc, char** argv);   // cyclegan_test

// The GPUs --gpu_ids names, in order (empty for the CPU).
std::vector<int> gpu_id_list(const Options& opt);

// The checkpoint label to load: iter_<load_iter> when --load_iter > 0, else --epoch (the official rule).
std::string load_label(const Options& opt);

// The official print_options block: every option sorted by name, "{:>25}: {:<30}" with
// "\t[default: X]" where the value differs from the default.
std::string options_text(const Options& opt, bool is_train);
// Every option as "--name value", a line each, sorted by name (what the ranks of a data-parallel
// run compare: they must train one run).
std::string option_lines(const Options& opt, bool is_train);
// Writes options_text to CHECKPOINTS/NAME/<phase>_opt.txt (or RESULTS for test), creating folders.
void write_options_file(const Options& opt, bool is_train, const std::string& folder);

// Throws cg::Error naming `flag` unless `value` is one folder name (not empty, '.' or '..', no '/'):
// a name that cannot lead outside the folder it is made in. `what` says what it names.
void check_folder_name(const std::string& flag, const std::string& value, const std::string& what);

// Checks what can be checked before any work starts (values in range, known names, what the model
// needs), throwing cg::Error whose message names the flag.
void validate_options(const Options& opt, bool is_train);

}  // namespace cg::models
