// The command-line flags as rows of data: a row names an option (a member of Options, or a model's
// own option by name), the programs that take it, its help text, and why it is ignored where an
// official flag has no meaning here. The harness's rows (models/common/flag_table.cpp) are the
// official base, train and test options; a model's own rows sit in its folder (its ModelSpec), as
// the official models' modify_commandline_options. CLI11's options, the `*_opt.txt` listing, the
// defaults and --suffix all read the rows, so a flag is declared once.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "models/common/options.h"

namespace cg::models {

// The harness's two programs: cyclegan_train (kTrain) and cyclegan_test (kTest). A model's own
// programs (its ModelSpec's) are of one of these two kinds.
enum Scope : unsigned { kTrain = 1, kTest = 2, kBoth = 3 };

// A count that may be unlimited: INT64_MAX, written and read as `word` ("inf", "all", "none").
struct Count {
  int64_t Options::*m;
  const char* word;
};
// A model's own option, kept in Options::own under the flag's name, with its default.
// `optional_value`: a bool flag that also takes a value, as the official's util.str2bool flags
// (nargs='?', const=True): --flag, --flag True, --flag no, --flag=0; so one whose default is on
// (CUT's --nce_idt) can be turned off.
struct Own {
  OptionValue def;
  bool optional_value = false;
};
using Member = std::variant<int Options::*, double Options::*, bool Options::*, std::string Options::*,
                            uint64_t Options::*, Count, Own>;

struct Flag {
  const char* name;  // without the dashes, as the official listing prints it
  Member member;
  unsigned scope;  // kTrain, kTest or both: the kinds of program that take it
  const char* help;
  const char* ignored = nullptr;  // for official flags with no meaning here: why (printed when given)
};

// A program that reads a command line: the harness's cyclegan_train and cyclegan_test, where
// --model chooses the model, or a program of a model's own (cgan_train, cgan_sample), which serves
// that model alone and takes only the harness flags it lists.
struct Program {
  std::string name;   // "cyclegan_train"
  bool is_train;      // a training program (run by training_main) or not
  std::string about;  // --help's first line ("" for the harness's: made from the models' summaries)
  std::string model;  // "" : --model chooses; else the one model this program serves
  std::vector<std::string> base_flags;  // a model's own program: the harness flags it takes
  unsigned kind() const { return is_train ? kTrain : kTest; }
};
const Program& train_program();  // cyclegan_train
const Program& test_program();   // cyclegan_test

// The rows of the harness (the official base, train and test options), in listing order.
const std::vector<Flag>& base_flags();
// Every row `program` takes with --model `model` (the harness's, then the model's own), in
// listing order.
std::vector<const Flag*> program_flags(const Program& program, const std::string& model);
// The program that fills `opt` in: the model's own (training or not) when it has programs of its
// own, else cyclegan_train / cyclegan_test.
const Program& program_of(const Options& opt, bool is_train);
// Whether `program` with opt.model takes flag `name`.
bool takes_flag(const Program& program, const std::string& model, const std::string& name);

// A row's value in `o`, written as the official listing writes Python values ("0.0002", "True").
std::string value_text(const Options& o, const Flag& f);
std::string value_text(const Options& o, const Member& m);  // of a member of Options (not an Own)
// Python's str() of a float.
std::string py_float(double v);

}  // namespace cg::models
