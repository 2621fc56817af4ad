#include "models/common/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <variant>
#include <vector>

#include "backend/comm.h"
#include "models/common/flags.h"
#include "models/common/model_spec.h"

namespace cg::models {

namespace {

// Every option as (name, Python-style value), the way the official prints vars(opt), sorted.
std::vector<std::pair<std::string, std::string>> values(const Options& o, bool is_train) {
  std::vector<std::pair<std::string, std::string>> v = {{"isTrain", is_train ? "True" : "False"}};
  for (const Flag* f : program_flags(program_of(o, is_train), o.model)) {
    std::string text = value_text(o, *f);
    if (std::string(f->name) == "dataroot" && text.empty()) text = "None";
    v.emplace_back(f->name, text);
  }
  std::sort(v.begin(), v.end());
  return v;
}

// Reads a Count's text: its word, or a whole number >= 0.
bool parse_count(const std::string& text, const char* word, int64_t& out) {
  if (text == word) {
    out = std::numeric_limits<int64_t>::max();
    return true;
  }
  try {
    size_t used = 0;
    out = std::stoll(text, &used);
    return used == text.size() && out >= 0;
  } catch (const std::exception&) {
    return false;
  }
}

// A whole number written in decimal (argparse's int(): "010" is ten, "0x10" is refused), that fits T.
template <class T>
bool parse_whole(const std::string& text, T& out) {
  size_t i = text.size() > 1 && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (i == text.size() || text.find_first_not_of("0123456789", i) != std::string::npos) return false;
  if constexpr (std::is_unsigned_v<T>) {
    if (text[0] == '-') return false;  // no wrap to 2^64 - 1
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str() + i, nullptr, 10);
    if (errno == ERANGE || v > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(v);
  } else {
    errno = 0;
    const long long v = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == ERANGE || v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
      return false;
    out = static_cast<T>(v);
  }
  return true;
}

// A number as Python's float() reads one ("1e-4", "nan", "inf"); the checks say where NaN is wrong.
bool parse_real(const std::string& text, double& out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && !(errno == ERANGE && std::isinf(out));
}

// Reads every value given to a numeric flag (not only the last, which alone sets it: argparse
// refuses `--batch_size abc --batch_size 2`, and so do we) into `slot`; the last wins. An error
// names the flag and the value.
template <class T>
std::string read_values(const std::string& flag, const std::vector<std::string>& given, T& slot) {
  for (const std::string& text : given) {
    T v{};
    bool ok;
    if constexpr (std::is_same_v<T, double>)
      ok = parse_real(text, v);
    else
      ok = parse_whole(text, v);
    if (!ok)
      return flag + ": '" + text + "' is not " +
             (std::is_same_v<T, double> ? std::string("a number")
              : std::is_unsigned_v<T>   ? "a whole number >= 0"
                                        : "a whole number") +
             (std::is_same_v<T, double> ? ""
                                        : " (up to " + std::to_string(std::numeric_limits<T>::max()) + ")");
    slot = v;
  }
  return "";
}

// The official util.str2bool: a flag given alone is true; otherwise its word, in any case.
std::optional<bool> str2bool(std::string v) {
  if (v.empty()) return true;
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "yes" || v == "true" || v == "t" || v == "y" || v == "1") return true;
  if (v == "no" || v == "false" || v == "f" || v == "n" || v == "0") return false;
  return std::nullopt;
}

// "{netG}_size{load_size}" with every {option} replaced by its listed value.
std::string fill_suffix(const Options& o, bool is_train) {
  const auto vals = values(o, is_train);
  std::string out;
  for (size_t i = 0; i < o.suffix.size(); ++i) {
    if (o.suffix[i] != '{') {
      out += o.suffix[i];
      continue;
    }
    const size_t close = o.suffix.find('}', i);
    if (close == std::string::npos) throw Error("--suffix '" + o.suffix + "': a '{' without its '}'");
    const std::string key = o.suffix.substr(i + 1, close - i - 1);
    const auto it = std::find_if(vals.begin(), vals.end(), [&](const auto& kv) { return kv.first == key; });
    if (it == vals.end()) throw Error("--suffix '" + o.suffix + "': no option named '" + key + "'");
    out += it->second;
    i = close;
  }
  return out;
}

// The last value the command line gives `flag` (--flag V or --flag=V), if any.
std::optional<std::string> given_value(int argc, char** argv, const std::string& flag) {
  std::optional<std::string> value;
  const std::string dashed = "--" + flag;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == dashed && i + 1 < argc)
      value = argv[++i];
    else if (a.rfind(dashed + "=", 0) == 0)
      value = a.substr(dashed.size() + 1);
  }
  return value;
}

// The help of the rows whose text depends on the models: --model and --dataroot.
std::string help_text(const Flag& f, const Program& program) {
  if (*f.help) return f.help;
  const bool model_row = std::string(f.name) == "model";
  std::string out;
  for (const std::string& m : model_names(program)) {
    const ModelSpec& s = model_spec(m);
    if (model_row) {
      const std::string& what = program.is_train ? s.train_summary : s.test_summary;
      out += (out.empty() ? "" : " | ") + m + (what.empty() ? "" : " (" + what + ")");
    } else if (!s.dataroot_help.empty()) {
      out += (out.empty() ? "folder of the images: " : ", ") + s.dataroot_help;
    }
  }
  if (model_row) out += "; each sets its own defaults";
  return out.empty() ? "folder of the images" : out;
}

std::string program_about(const Program& program) {
  if (!program.about.empty()) return program.about;
  std::string out = program.is_train ? "Trains a model (--model): " : "Translates images (--model): ";
  std::string list;
  for (const std::string& m : model_names(program)) {
    const ModelSpec& s = model_spec(m);
    const std::string& what = program.is_train ? s.train_summary : s.test_summary;
    list += (list.empty() ? "" : "; ") + s.title + (what.empty() ? "" : " (" + what + ")");
  }
  return out + list + ".";
}

}  // namespace

Parsed parse_args(int argc, char** argv, const Program& program) {
  const bool is_train = program.is_train;
  const std::string model = !program.model.empty()
                                ? program.model
                                : given_value(argc, argv, "model").value_or(default_model(program));
  // a model with programs of its own is not trained or tested by the harness's
  if (const ModelSpec* spec = find_model(model);
      spec && program.model.empty() && !spec->own_programs.empty()) {
    std::string names;
    for (const Program* p : spec->own_programs) names += (names.empty() ? "" : " and ") + p->name;
    std::fprintf(stderr, "--model %s: %s has programs of its own, %s\n", model.c_str(), spec->title.c_str(),
                 names.c_str());
    return Parsed{default_options(default_model(program), is_train), 2};
  }
  Options o = default_options(model, is_train,
                              [&](const std::string& flag) { return given_value(argc, argv, flag); });
  CLI::App app(program_about(program), program.name);
  app.get_formatter()->column_width(34);
  const std::vector<const Flag*> flags = program_flags(program, model);
  std::map<std::string, std::string> counts;  // Count flags are read as text first
  std::map<std::string, std::string> bools;   // and str2bool flags (Own::optional_value)
  std::map<const Flag*, CLI::Option*> bound;
  for (const Flag* f : flags) {
    const std::string name = std::string("--") + f->name, help = help_text(*f, program);
    CLI::Option* opt = std::visit(
        [&](auto&& p) -> CLI::Option* {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, Count>) {
            counts[f->name] = value_text(o, f->member);
            return app.add_option(name, counts[f->name], help)->capture_default_str();
          } else if constexpr (std::is_same_v<P, Own>) {
            if (p.optional_value) {  // --flag alone, or with a word: its text is read after parsing
              // (no default_str: CLI11 would take it as the value of a flag given alone)
              bools[f->name] = "";
              return app.add_option(name, bools[f->name], help + " [" + value_text(o, *f) + "]")
                  ->expected(0, 1);
            }
            // bound to the value in Options::own (a map node: its address is stable)
            return std::visit(
                [&](auto& slot) -> CLI::Option* {
                  using S = std::decay_t<decltype(slot)>;
                  if constexpr (std::is_same_v<S, bool>)
                    return app.add_flag(name, slot, help);
                  else
                    return app.add_option(name, slot, help)->capture_default_str();
                },
                o.own.at(f->name));
          } else if constexpr (std::is_same_v<P, bool Options::*>) {
            return app.add_flag(name, o.*p, help);
          } else {
            return app.add_option(name, o.*p, help)->capture_default_str();
          }
        },
        f->member);
    // argparse's rule, which scripts that append an override rely on: the last one wins
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    bound[f] = opt;
  }
  Parsed p;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    p.exit_code = app.exit(e);
    // a flag of another model: say whose it is
    for (int i = 1; i < argc && program.model.empty(); ++i) {
      const std::string a = argv[i];
      if (a.rfind("--", 0) != 0 || takes_flag(program, model, a.substr(2))) continue;
      std::string owners;
      for (const std::string& m : model_names(program))
        if (m != model && takes_flag(program, m, a.substr(2))) owners += (owners.empty() ? "" : " ") + m;
      if (!owners.empty()) {
        std::fprintf(stderr, "%s is an option of --model %s, not of --model %s\n", a.c_str(), owners.c_str(),
                     model.c_str());
        break;
      }
    }
    if (*p.exit_code != 0) p.exit_code = 2;  // a usage error, as argparse's exit status
    p.opt = o;
    return p;
  }
  auto usage_error = [&](const std::string& msg) {
    std::fprintf(stderr, "%s\n", msg.c_str());
    p.exit_code = 2;
    p.opt = o;
    return p;
  };
  for (const Flag* f : flags) {
    const std::string flag = std::string("--") + f->name;
    const std::vector<std::string> given = bound.at(f)->results();  // every value given, in order
    const std::string bad = std::visit(
        [&](auto&& m) -> std::string {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, int Options::*> || std::is_same_v<M, double Options::*> ||
                        std::is_same_v<M, uint64_t Options::*>) {
            return read_values(flag, given, o.*m);
          } else if constexpr (std::is_same_v<M, Own>) {
            return std::visit(
                [&](auto& slot) -> std::string {
                  using S = std::decay_t<decltype(slot)>;
                  if constexpr (std::is_same_v<S, int> || std::is_same_v<S, double>)
                    return read_values(flag, given, slot);
                  else
                    return "";
                },
                o.own.at(f->name));
          } else if constexpr (std::is_same_v<M, Count>) {
            int64_t v = 0;
            for (const std::string& text : given)
              if (!parse_count(text, m.word, v))
                return flag + ": expected '" + m.word + "' or a whole number >= 0, got '" + text + "'";
            if (!given.empty()) o.*m.m = v;  // the last wins
            return "";
          } else {
            return "";
          }
        },
        f->member);
    if (!bad.empty()) return usage_error(bad);
    if (const Own* own = std::get_if<Own>(&f->member); own && own->optional_value) {
      if (app.count(std::string("--") + f->name) == 0) continue;
      const std::optional<bool> b = str2bool(bools[f->name]);
      if (!b)
        return usage_error(std::string("--") + f->name +
                           ": a Boolean value is expected (yes, true, t, y, 1 " +
                           "or no, false, f, n, 0), got '" + bools[f->name] + "'");
      o.set(f->name, *b);
    }
    if (f->ignored && app.count(std::string("--") + f->name))
      std::printf("--%s: accepted and ignored (%s)\n", f->name, f->ignored);
  }
  // --gpu_ids is the official spelling of --device; both given must agree.
  if (app.count("--gpu_ids")) {
    std::vector<int> ids;
    std::stringstream in(o.gpu_ids);
    for (std::string item; std::getline(in, item, ',');) {
      try {
        size_t used = 0;
        const int id = std::stoi(item, &used);
        if (used != item.size()) throw std::invalid_argument("");
        if (id >= 0) ids.push_back(id);
      } catch (const std::exception&) {
        return usage_error("--gpu_ids: expected -1 or GPU numbers such as 0, got '" + o.gpu_ids + "'");
      }
    }
    if (ids.size() > 1 && !is_train)
      return usage_error("--gpu_ids " + o.gpu_ids + ": testing and sampling run on one GPU; give one id");
    if (ids.size() > 1 && std::set<int>(ids.begin(), ids.end()).size() != ids.size() &&
        comm::launched_size() == 1)
      return usage_error("--gpu_ids " + o.gpu_ids +
                         ": a GPU named twice (ranks that share a GPU: start them "
                         "with mpirun and --dist_backend host)");
    const std::string dev = ids.empty() ? "cpu" : "cuda";
    if (app.count("--device") && o.device != dev)
      return usage_error("--gpu_ids " + o.gpu_ids + " means --device " + dev + ", but --device " + o.device +
                         " was given too");
    o.device = dev;
  }
  if (o.device == "cpu")
    o.gpu_ids = "-1";
  else if (!app.count("--gpu_ids"))
    o.gpu_ids = "0";
  else {  // normalised: "0,1" for " 0, 1"
    std::string list;
    for (int id : gpu_id_list(o)) list += (list.empty() ? "" : ",") + std::to_string(id);
    o.gpu_ids = list;
  }
  if (const ModelSpec* spec = find_model(model); spec && spec->after_parse) spec->after_parse(o, is_train);
  if (!o.suffix.empty()) {
    try {
      o.name += "_" + fill_suffix(o, is_train);
    } catch (const Error& e) {
      return usage_error(e.what());
    }
  }
  p.opt = o;
  return p;
}

Parsed parse_train_args(int argc, char** argv) { return parse_args(argc, argv, train_program()); }

Parsed parse_test_args(int argc, char** argv) { return parse_args(argc, argv, test_program()); }

std::vector<int> gpu_id_list(const Options& opt) {
  std::vector<int> ids;
  std::stringstream in(opt.gpu_ids);
  for (std::string item; std::getline(in, item, ',');) {
    const int id = std::atoi(item.c_str());
    if (id >= 0) ids.push_back(id);
  }
  return ids;
}

std::string load_label(const Options& opt) {
  return opt.load_iter > 0 ? "iter_" + std::to_string(opt.load_iter) : opt.epoch;
}

std::string options_text(const Options& opt, bool is_train) {
  // The defaults as the official parser holds them after the model's set_defaults, which may
  // depend on values given (CUT's on --CUT_mode): a model's defaults see this run's values.
  const auto now = values(opt, is_train);
  const Options defaults =
      default_options(opt.model, is_train, [&](const std::string& flag) -> std::optional<std::string> {
        for (const auto& [k, v] : now)
          if (k == flag) return v;
        return std::nullopt;
      });
  const auto def = values(defaults, is_train);
  std::string msg = "----------------- Options ---------------\n";
  for (size_t i = 0; i < now.size(); ++i) {
    char line[512];
    std::snprintf(line, sizeof line, "%25s: %-30s", now[i].first.c_str(), now[i].second.c_str());
    msg += line;
    if (i < def.size() && now[i].second != def[i].second) msg += "\t[default: " + def[i].second + "]";
    msg += "\n";
  }
  msg += "----------------- End -------------------";
  return msg;
}

std::string option_lines(const Options& opt, bool is_train) {
  std::string out;
  for (const auto& [name, value] : values(opt, is_train)) out += "--" + name + " " + value + "\n";
  return out;
}

void write_options_file(const Options& opt, bool is_train, const std::string& folder) {
  std::filesystem::create_directories(folder);
  const std::string path = folder + "/" + opt.phase + "_opt.txt";
  std::ofstream f(path);
  f << options_text(opt, is_train) << "\n";
  if (!f) throw Error("cannot write '" + path + "'");
}

}  // namespace cg::models
