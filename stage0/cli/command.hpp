// The ferry command table.
//
// A command is a function from parsed global options and its own arguments to an exit status.
// Commands are registered in one explicit list (commands.cpp); each lives in its own file,
// parses its flags into a struct and calls a library function — no logic here.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "stage0/cli/options.hpp"
#include "stage0/config/config.hpp"

namespace ferry::fetch {
struct FetchOptions;
}

namespace ferry::cli {

// Exit statuses shared by every command (DESIGN §3).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitError = 254;

struct GlobalOptions {
  // --dir, else paths.d's "data" (set once the command's flags are parsed), else the default.
  std::string dir = "/var/lib/ferry";
  bool dirGiven = false;
  bool debug = false;
  std::string insecureOptions;
  std::string format = "text";  // text | json
  bool json() const { return format == "json"; }
  // --system-config, --local-config, --user-config.
  config::Dirs configDirs = config::defaultDirs();
  // The merged configuration, read on first use.
  const config::Config& config() const;

 private:
  mutable std::shared_ptr<const config::Config> config_;
};

// Adds --dir --debug --insecure-options --format and the configuration directories' flags to a
// command's parser; once it parsed, the data directory comes from the configuration unless
// --dir was given.
void addGlobalOptions(OptionParser& parser, GlobalOptions& global);

// rkt's --insecure-options words. Fetch side: image (no signature check), tls (no certificate
// check), http (plain http), pubkey (keys over plain http or without certificate checks),
// ondisk (accepted as rkt does: ferry does not re-verify rendered trees at run; `ferry image
// verify` does on demand). Run side: capabilities (every capability of the host's bounding
// set), paths (no masked or read-only paths), seccomp (no seccomp filter). all-fetch, all-run
// and all name a side or both.
// Whether the list (validated by addGlobalOptions) turns `option` off.
bool insecure(const GlobalOptions& g, std::string_view option);

// The fetch options the global flags imply (--insecure-options, --dir), with a pull policy
// (never | new | update). Defined in fetch.cpp; trust uses it for keys over HTTP.
fetch::FetchOptions fetchOptions(const GlobalOptions& g, std::string_view pullPolicy);

// Read-only commands (list, status, image list, cat-manifest, …) create nothing: without a
// store or pod state under --dir they see an empty one (existing: whether --dir has it).
bool storeExists(const GlobalOptions& g);
bool podsExist(const GlobalOptions& g);
// The error of a read-only command naming a pod or image that a missing store cannot have.
[[noreturn]] void throwNoSuch(const GlobalOptions& g, std::string_view what, std::string_view ref);

struct Context {
  GlobalOptions global;
  std::ostream& out;
  std::ostream& err;
};

struct Command {
  std::vector<std::string> words;  // e.g. {"image", "convert"}
  std::string summary;
  std::function<int(Context&, const std::vector<std::string>&)> run;
};

const std::vector<Command>& commands();

// Entry point of the ferry binary.
int main(int argc, char** argv);

// The commands (one file each).
int versionCommand(Context& ctx, const std::vector<std::string>& args);
// What `ferry version` and `ferry --version` print (ctx.global.format decides the form).
void printVersion(Context& ctx);
int imageConvertCommand(Context& ctx, const std::vector<std::string>& args);
int trustCommand(Context& ctx, const std::vector<std::string>& args);
int fetchCommand(Context& ctx, const std::vector<std::string>& args);
int imageListCommand(Context& ctx, const std::vector<std::string>& args);
int imageCatManifestCommand(Context& ctx, const std::vector<std::string>& args);
int imageRmCommand(Context& ctx, const std::vector<std::string>& args);
int imageGcCommand(Context& ctx, const std::vector<std::string>& args);
int imageVerifyCommand(Context& ctx, const std::vector<std::string>& args);
int imageExportCommand(Context& ctx, const std::vector<std::string>& args);
int imageExtractCommand(Context& ctx, const std::vector<std::string>& args);
int imageRenderCommand(Context& ctx, const std::vector<std::string>& args);
int exportCommand(Context& ctx, const std::vector<std::string>& args);
int imageInspectCommand(Context& ctx, const std::vector<std::string>& args);
int startCommand(Context& ctx, const std::vector<std::string>& args);
int metadataServiceCommand(Context& ctx, const std::vector<std::string>& args);
int runCommand(Context& ctx, const std::vector<std::string>& args);
int prepareCommand(Context& ctx, const std::vector<std::string>& args);
int runPreparedCommand(Context& ctx, const std::vector<std::string>& args);
int listCommand(Context& ctx, const std::vector<std::string>& args);
int statusCommand(Context& ctx, const std::vector<std::string>& args);
int stopCommand(Context& ctx, const std::vector<std::string>& args);
int rmCommand(Context& ctx, const std::vector<std::string>& args);
int gcCommand(Context& ctx, const std::vector<std::string>& args);
int enterCommand(Context& ctx, const std::vector<std::string>& args);
int catManifestCommand(Context& ctx, const std::vector<std::string>& args);
int logsCommand(Context& ctx, const std::vector<std::string>& args);
int benchCommand(Context& ctx, const std::vector<std::string>& args);
int configCommand(Context& ctx, const std::vector<std::string>& args);
int completionCommand(Context& ctx, const std::vector<std::string>& args);
int manPagesCommand(Context& ctx, const std::vector<std::string>& args);

}  // namespace ferry::cli
