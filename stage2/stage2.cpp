#include "stage2/stage2.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/pty.hpp"
#include "formats/oci/runtime_spec.hpp"
#include "stage2/app_process.hpp"
#include "stage2/rootfs.hpp"

namespace ferry::stage2 {

namespace {

[[noreturn]] void usage(const std::string& message) { throw Error(Errc::kUsage, message); }

// Runs f; a failure gains the step's name unless its message already says "cannot …".
template <class F>
auto step(const std::string& what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (msg.rfind("cannot ", 0) == 0) throw;
    throw Error(Errc::kInvalid, "cannot " + what + ": " + msg);
  }
}

std::vector<std::string> eventArgv(const oci::RuntimeSpec& spec, const std::string& event,
                                   bool& present) {
  std::string key = std::string(kEventAnnotationPrefix) + event;
  auto it = spec.annotations.find(key);
  present = it != spec.annotations.end();
  if (!present) return {};
  std::string path = "annotations[\"" + key + "\"]";
  json::Json j = json::parse(it->second, path);
  const json::Json& arr = json::asArray(j, path);
  std::vector<std::string> argv;
  for (size_t i = 0; i < arr.size(); ++i)
    argv.push_back(json::asString(arr[i], json::index(path, i)));
  if (argv.empty()) json::fail(path, "the handler has no command");
  return argv;
}

}  // namespace

Options parseArgs(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--event" || a.rfind("--event=", 0) == 0) {
      std::string value;
      if (a == "--event") {
        if (i + 1 >= argc) usage("--event needs a value");
        value = argv[++i];
      } else {
        value = a.substr(8);
      }
      if (value != "pre-start" && value != "post-stop") {
        usage("--event must be pre-start or post-stop, not " + quote(value));
      }
      o.event = value;
    } else if (a == "--") {
      for (++i; i < argc; ++i) positional.emplace_back(argv[i]);
    } else if (a.size() > 1 && a[0] == '-') {
      usage("unknown option " + quote(a));
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 1) usage("expected one BUNDLE directory");
  o.bundle = positional[0];
  return o;
}

int run(const Options& options, std::string& app) {
  umask(0);  // device nodes and created mount points get exactly the modes asked for

  const std::filesystem::path configPath = options.bundle / "config.json";
  oci::RuntimeSpec spec = step("read " + quote(configPath.string()), [&] {
    return oci::RuntimeSpec::parse(readFile(configPath, 16 << 20), configPath.string());
  });
  if (auto it = spec.annotations.find(std::string(kAppNameAnnotation));
      it != spec.annotations.end() && !it->second.empty()) {
    app = it->second;
  }
  if (!spec.process) throw Error(Errc::kInvalid, "config.json has no process");
  if (!spec.root) throw Error(Errc::kInvalid, "config.json has no root");
  const oci::Process& process = *spec.process;

  std::vector<std::string> argv = process.args;
  if (options.event) {
    bool present = false;
    argv = step("read the " + *options.event + " handler",
                [&] { return eventArgv(spec, *options.event, present); });
    if (!present) return 0;  // no handler for this event: nothing to do
  }
  if (argv.empty()) throw Error(Errc::kInvalid, "process.args is empty");

  // Everything that can be checked is checked before the first change to the system.
  AppProcess appProcess(spec, options.bundle);
  if (options.listenFds > 0 && !options.event) {
    appProcess.passListenFds(options.listenFds, options.listenFdNames);
  }
  const std::vector<oci::LinuxDevice> noDevices;
  const std::vector<oci::LinuxDevice>& devices =
      spec.linuxConfig ? spec.linuxConfig->devices : noDevices;

  // The app's mount namespace and root.
  Rootfs rootfs(options.bundle, spec.root->path);
  rootfs.enter();
  for (const oci::Mount& m : spec.mounts) {
    rootfs.mount(m, devices, process.terminal.value_or(false));
  }
  rootfs.pivot();
  finishRootfs(spec);
  // process.terminal under a stage1 that hands stdin over as a console socket (ABI §5): the app
  // gets a pty of its own /dev/pts, the stage1 its master (never the caller's terminal).
  if (process.terminal.value_or(false) && !options.event) {
    step("give the app a terminal", [] { return pty::attachToConsoleSocket(); });
  }

  appProcess.exec(std::move(argv));
}

int runReporting(const Options& options) noexcept {
  std::string app = "?";
  try {
    app = options.bundle.filename().string();
    return run(options, app);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry-stage2: %s: %s\n", app.c_str(), describe(e, true).c_str());
  } catch (...) {
    std::fprintf(stderr, "ferry-stage2: %s: unknown failure\n", app.c_str());
  }
  return kOwnFailure;
}

}  // namespace ferry::stage2
