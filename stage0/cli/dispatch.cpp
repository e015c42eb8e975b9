// Top-level dispatch: global options, command lookup, help, and the mapping from errors to
// exit statuses. Errors are printed once, here.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "common/interrupt.hpp"
#include "stage0/cli/command.hpp"

namespace ferry::cli {

namespace {

constexpr std::string_view kFetchWords[] = {"image", "tls", "http", "pubkey", "ondisk"};
constexpr std::string_view kRunWords[] = {"capabilities", "paths", "seccomp"};

std::vector<std::string_view> words(std::string_view list) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    out.push_back(list.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

template <size_t N>
bool contains(const std::string_view (&set)[N], std::string_view w) {
  return std::find(std::begin(set), std::end(set), w) != std::end(set);
}

std::string validInsecureWords() {
  std::string out;
  for (auto w : kFetchWords) out += std::string(w) + ", ";
  out += "all-fetch, ";
  for (auto w : kRunWords) out += std::string(w) + ", ";
  return out + "all-run, all";
}

void checkInsecureOptions(std::string_view list) {
  for (auto w : words(list)) {
    if (!contains(kFetchWords, w) && !contains(kRunWords, w) && w != "all-fetch" &&
        w != "all-run" && w != "all") {
      throw UsageError("--insecure-options: unknown option " + quote(w) +
                       " (valid: " + validInsecureWords() + ")");
    }
  }
}

}  // namespace

bool insecure(const GlobalOptions& g, std::string_view option) {
  if (g.insecureOptions.empty()) return false;
  for (auto w : words(g.insecureOptions)) {
    if (w == option || w == "all" || (w == "all-fetch" && contains(kFetchWords, option)) ||
        (w == "all-run" && contains(kRunWords, option))) {
      return true;
    }
  }
  return false;
}

namespace {

// Only a path that is certainly absent (ENOENT, ENOTDIR) is "not there": one that cannot be
// looked at (EACCES) is there, and the command that opens it says why it cannot.
bool present(const std::filesystem::path& p) {
  std::error_code ec;
  bool exists = std::filesystem::exists(p, ec);
  if (!ec) return exists;
  return ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory;
}

}  // namespace

bool storeExists(const GlobalOptions& g) {
  return present(std::filesystem::path(g.dir) / "cas" / "index.db");
}

bool podsExist(const GlobalOptions& g) { return present(std::filesystem::path(g.dir) / "pods"); }

void throwNoSuch(const GlobalOptions& g, std::string_view what, std::string_view ref) {
  throw Error(Errc::kNotFound, "no " + std::string(what) + " " + quote(ref) + " (" + quote(g.dir) +
                                   " holds no " + (what == "pod" ? "pods" : "image store") + ")");
}

const config::Config& GlobalOptions::config() const {
  if (!config_) config_ = std::make_shared<const config::Config>(config::load(configDirs));
  return *config_;
}

void addGlobalOptions(OptionParser& parser, GlobalOptions& global) {
  parser.value("dir", "DIR",
               "ferry's data directory (default: paths.d's data, else /var/lib/ferry)",
               [&global](std::string_view v) {
                 if (v.empty()) throw UsageError("--dir: want a directory, not an empty string");
                 global.dir = std::string(v);
                 global.dirGiven = true;
               });
  auto configDir = [&parser](const char* name, const char* help, std::filesystem::path* out) {
    parser.value(name, "DIR", help, [out](std::string_view v) { *out = std::string(v); });
  };
  configDir("system-config", "the system configuration directory (default /usr/lib/ferry)",
            &global.configDirs.system);
  configDir("local-config", "the local configuration directory (default /etc/ferry)",
            &global.configDirs.local);
  configDir("user-config", "the user configuration directory (default ~/.config/ferry)",
            &global.configDirs.user);
  parser.onParsed([&global] {
    if (global.dirGiven) return;
    if (const auto& data = global.config().paths.data) global.dir = data->string();
  });
  parser.flag("debug", "print debugging information and whole error chains", &global.debug);
  parser.value("insecure-options", "LIST",
               "what to turn off: image tls http pubkey ondisk all-fetch, capabilities "
               "paths seccomp all-run, all",
               [&global](std::string_view v) {
                 checkInsecureOptions(v);
                 global.insecureOptions = std::string(v);
               });
  parser.value("format", "text|json", "output format", [&global](std::string_view v) {
    if (v != "text" && v != "json")
      throw UsageError("--format: want text or json, not " + quote(v));
    global.format = std::string(v);
  });
}

namespace {

void printOverview(std::ostream& os) {
  os << "ferry: a pod runtime for appc and OCI images\n\n"
        "Usage: ferry [global flags] COMMAND [flags] [args]\n\nCommands:\n";
  for (const auto& c : commands()) {
    std::string words;
    for (const auto& w : c.words) words += (words.empty() ? "" : " ") + w;
    os << "  " << words << std::string(words.size() < 18 ? 18 - words.size() : 1, ' ') << c.summary
       << "\n";
  }
  os << "  help              show this overview, or a command's help\n\n"
        "Global flags: --dir=DIR --debug --insecure-options=LIST --format=text|json --version\n"
        "  --system-config=DIR --local-config=DIR --user-config=DIR\n"
        "Run 'ferry COMMAND --help' for a command's flags.\n";
}

// Finds the command whose words are the longest prefix of args; returns words consumed.
const Command* findCommand(const std::vector<std::string>& args, size_t& used) {
  const Command* best = nullptr;
  used = 0;
  for (const auto& c : commands()) {
    if (c.words.size() > args.size() || c.words.size() <= used) continue;
    if (std::equal(c.words.begin(), c.words.end(), args.begin())) {
      best = &c;
      used = c.words.size();
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Context ctx{{}, std::cout, std::cerr};
  interrupt::removeTrackedOnSignals();  // an interrupted fetch or render removes its temps
  try {
    // Global flags before the command.
    OptionParser global("ferry [global flags] COMMAND", "");
    addGlobalOptions(global, ctx.global);
    bool version = false;
    global.flag("version", "print ferry's version (as 'ferry version')", &version);
    size_t i = 0;
    for (; i < args.size() && global.parseFlag(args, i); ++i) {
      if (global.helpRequested()) {
        printOverview(ctx.out);
        return kExitOk;
      }
    }
    std::vector<std::string> rest(args.begin() + static_cast<long>(i), args.end());
    if (version) {
      if (!rest.empty()) throw UsageError("--version takes no command (see 'ferry version')");
      printVersion(ctx);
      return kExitOk;
    }
    if (rest.empty()) {
      printOverview(ctx.err);
      return kExitUsage;
    }
    if (rest[0] == "help") {
      rest.erase(rest.begin());
      if (rest.empty()) {
        printOverview(ctx.out);
        return kExitOk;
      }
      rest.push_back("--help");
    }
    size_t used = 0;
    const Command* cmd = findCommand(rest, used);
    if (cmd == nullptr) {
      // A group's word alone ("ferry image"): its commands; with an unknown one, a usage error.
      std::string group;
      for (const auto& c : commands()) {
        if (c.words.size() < 2 || c.words[0] != rest[0]) continue;
        std::string words = c.words[0] + " " + c.words[1];
        group += "  " + words + std::string(words.size() < 18 ? 18 - words.size() : 1, ' ') +
                 c.summary + "\n";
      }
      if (!group.empty()) {
        std::string text = "Usage: ferry " + rest[0] + " COMMAND [flags] [args]\n\nCommands:\n" +
                           group + "\nRun 'ferry " + rest[0] + " COMMAND --help' for its flags.\n";
        if (rest.size() == 1 || rest[1] == "--help" || rest[1] == "-h") {
          ctx.out << text;
          return kExitOk;
        }
        throw UsageError("unknown command " + quote(rest[0] + " " + rest[1]) + "; see 'ferry " +
                         rest[0] + "'");
      }
      throw UsageError("unknown command " + quote(rest[0]) + "; see 'ferry help'");
    }
    return cmd->run(ctx,
                    std::vector<std::string>(rest.begin() + static_cast<long>(used), rest.end()));
  } catch (const UsageError& e) {
    ctx.err << "ferry: " << e.what() << "\n";
    return kExitUsage;
  } catch (const Error& e) {
    ctx.err << "ferry: " << describe(e, ctx.global.debug) << "\n";
    return e.code() == Errc::kUsage ? kExitUsage : kExitError;
  } catch (const std::exception& e) {
    ctx.err << "ferry: " << describe(e, ctx.global.debug) << "\n";
    return kExitError;
  }
}

}  // namespace ferry::cli
