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

namespace ferry::cli {

struct RunFlags {
  pod::PodRequest request;
  std::optional<std::string> uuidFileSave;
};

// Returns false when --help was printed.
bool parseRunFlags(Context& ctx, const std::vector<std::string>& args, const std::string& usage,
                   const std::string& summary, RunFlags& out);

// "90s", "5m", "1h", "500ms", "2h30m" or a number of seconds. Throws UsageError naming flag.
std::chrono::milliseconds parseDuration(std::string_view text, std::string_view flag);

// Writes a translation report as warnings ("ferry: warning: <field>: <detail>").
void printWarnings(Context& ctx, const translate::Report& report);

fetch::FetchOptions fetchOptions(const GlobalOptions& g, std::string_view pullPolicy);

}  // namespace ferry::cli
