// A small long-option parser for ferry's commands.
//
// Each command declares its flags on an OptionParser — one table per command, each entry saying
// whether the flag takes a value (value), may take one (optionalValue) or takes none (flag) —
// and gets back the positional arguments. Accepted forms: `--name=value`, `--name value` (value
// flags only), `--flag`, `--flag=true|false`, `--opt` and `--opt=value`; `--` ends options.
// Commands that interleave flags with words of their own (run's images, enter's command, the
// global flags before a command) step through arguments with parseFlag, so every command knows
// from the same table which words are flag values. Values and positional arguments must be
// UTF-8. Anything malformed throws UsageError naming the flag, which the CLI turns into exit
// status 2.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace ferry::cli {

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(Errc::kUsage, message) {}
};

class OptionParser {
 public:
  // usage: e.g. "ferry image convert [flags] SRC DEST"; summary: one line; details: free text.
  OptionParser(std::string usage, std::string summary, std::string details = {});

  void flag(std::string name, std::string help, bool* out);
  void flag(std::string name, std::string help, std::function<void(bool)> set);
  void value(std::string name, std::string valueName, std::string help, std::string* out);
  void value(std::string name, std::string valueName, std::string help,
             std::function<void(std::string_view)> set);
  // A flag whose value is optional: `--name` calls set(""), `--name=value` set("value"); the
  // next argument is never taken as its value.
  void optionalValue(std::string name, std::string valueName, std::string help,
                     std::function<void(std::string_view)> set);
  // Starts a group of flags in the help text under this title ("App flags"); the flags
  // declared before the first heading are listed under "Flags".
  void heading(std::string title) { options_.push_back({"", "", std::move(title), nullptr}); }
  // Positional arguments must number between min and max (max < 0: unbounded).
  void positionals(int min, int max) {
    minPositionals_ = min;
    maxPositionals_ = max;
  }

  // Runs after every flag was applied: by parse() (unless --help), and by commands that step
  // through their arguments with parseFlag, through finish() (e.g. the data directory from the
  // configuration, which any flag may change).
  void onParsed(std::function<void()> f) { onParsed_.push_back(std::move(f)); }
  void finish() const {
    for (const auto& f : onParsed_) f();
  }

  // If args[i] is a flag ("--name…", "-h"), applies it — taking args[i+1] too when the flag
  // needs a value given as a separate word — leaves i at its last word and returns true.
  // Returns false for anything else: a positional word, "-", "--" or "---". Unknown flags
  // throw UsageError; --help/-h sets helpRequested().
  bool parseFlag(const std::vector<std::string>& args, size_t& i);
  // Whether `name` (without "--") is a known flag and needs a value.
  bool takesValue(std::string_view name) const;
  // Checks that a positional argument is UTF-8 (JSON records hold every argument).
  static void checkPositional(std::string_view word);

  // Parses args (without the command words). Returns the positional arguments.
  // Sets helpRequested() instead of throwing when --help/-h is seen.
  std::vector<std::string> parse(const std::vector<std::string>& args);
  bool helpRequested() const { return help_; }
  // parse() into `positionals` (when given); false when --help/-h was seen, after writing
  // helpText() to `out`: the command then returns success without doing anything.
  bool parseOrHelp(const std::vector<std::string>& args, std::ostream& out,
                   std::vector<std::string>* positionals = nullptr);
  std::string helpText() const;

  // The parser's declarations, for the generated completion scripts and man pages
  // (stage0/cli/docs.cpp): a command run with --help while captured points at one records its
  // parser's definition in helpText(), so the flags each command declares are the one source.
  struct Flag {
    std::string name;       // without "--"
    std::string valueName;  // empty: a boolean flag
    std::string help;
    bool optionalValue = false;
    std::string heading;  // the group it is listed under ("" : "Flags")
  };
  struct Definition {
    std::string usage, summary, details;
    std::vector<Flag> flags;
  };
  Definition definition() const;
  static inline Definition* captured = nullptr;

 private:
  struct Option {
    std::string name;       // empty: a heading (its title in `help`)
    std::string valueName;  // empty: a flag
    std::string help;
    std::function<void(std::string_view)> set;
    bool optionalValue = false;
  };
  const Option* lookup(std::string_view name) const;
  void add(Option o);  // throws std::logic_error for a name declared before

  std::string usage_, summary_, details_;
  std::vector<Option> options_;
  std::vector<std::function<void()>> onParsed_;
  int minPositionals_ = 0;
  int maxPositionals_ = -1;
  bool help_ = false;
};

}  // namespace ferry::cli
