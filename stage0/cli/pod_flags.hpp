// The flags of `ferry run` and `ferry prepare` (rkt's): per pod, and per app after each image.
//
//   ferry run [pod flags] IMAGE [app flags] [-- ARG…] [--- IMAGE [app flags] [-- ARG…]]…
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "stage0/cli/command.hpp"
#include "stage0/pod/prepare.hpp"
#include "stage0/systemd/pod_unit.hpp"

namespace ferry::cli {

// How a pod meets systemd (run, run-prepared, start): --unit[=NAME], --slice, --user,
// --cgroup-driver.
struct SystemdFlags {
  std::optional<std::string> unit;  // "" for the default name
  std::string slice = "machine.slice";
  bool user = false;
  std::optional<systemd::CgroupDriver> cgroupDriver;

  systemd::CgroupDriver driver() const {
    return cgroupDriver.value_or(systemd::defaultCgroupDriver());
  }
};

// Declares SystemdFlags' options on a parser; `withUnit`: --unit and the user-bus flag too,
// named userFlag (run and prepare: --user-bus, since their --user is the app's user as in rkt).
void addSystemdFlags(OptionParser& p, SystemdFlags& f, bool withUnit,
                     const char* userFlag = "user");

struct RunFlags {
  pod::PodRequest request;
  std::optional<std::string> uuidFileSave;
  SystemdFlags systemd;
};

// Returns false when --help was printed.
bool parseRunFlags(Context& ctx, const std::vector<std::string>& args, const std::string& usage,
                   const std::string& summary, RunFlags& out);

// "90s", "5m", "1h", "500ms", "2h30m" or a number of seconds. Throws UsageError naming flag.
std::chrono::milliseconds parseDuration(std::string_view text, std::string_view flag);

// Writes a translation report as warnings ("ferry: warning: <field>: <detail>").
void printWarnings(Context& ctx, const translate::Report& report);

fetch::FetchOptions fetchOptions(const GlobalOptions& g, std::string_view pullPolicy);

// rkt's --uuid-file=FILE (the file run/prepare --uuid-file-save wrote): the pod to act on
// instead of UUID arguments. Declares the flag on p; podRefs then returns the file's UUID or the
// positional arguments (exactly one of the two, else a usage error naming the flag).
struct UuidFile {
  std::optional<std::string> path;
  void declare(OptionParser& p);
  std::vector<std::string> podRefs(const std::vector<std::string>& positionals,
                                   const std::string& usage) const;
};

}  // namespace ferry::cli
