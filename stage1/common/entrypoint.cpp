#include "stage1/common/entrypoint.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "common/error.hpp"
#include "common/sealed_exec.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

Invocation& recorded() {
  static Invocation i;
  return i;
}

}  // namespace

const Invocation& invocation() { return recorded(); }

fs::path selfPath() {
  struct stat self;
  if (::stat("/proc/self/exe", &self) != 0) throwErrno("stat /proc/self/exe");
  auto isSelf = [&](const fs::path& p) {
    struct stat st;
    return p.is_absolute() && ::stat(p.c_str(), &st) == 0 && st.st_dev == self.st_dev &&
           st.st_ino == self.st_ino;
  };
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && isSelf(exe)) return exe;
  const Invocation& inv = invocation();
  if (inv.argc > 0 && inv.argv != nullptr && inv.argv[0] != nullptr) {
    fs::path named = fs::weakly_canonical(fs::absolute(inv.argv[0], ec), ec);
    if (!ec && isSelf(named)) return named;
  }
  throw Error(Errc::kIo,
              "cannot tell where this entrypoint's executable is: /proc/self/exe names " +
                  quote(exe.string()) + ", and argv[0] is not that file");
}

Args parseArgs(int argc, char** argv, std::string_view entrypoint) {
  Args args;
  auto value = [&](int& i, std::string_view name) -> std::string {
    if (i + 1 >= argc) throw Error(Errc::kUsage, std::string(name) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) args.command.emplace_back(argv[i]);
      break;
    }
    // --name=value as well as --name value.
    std::string_view name = a.substr(0, a.find('='));
    bool inlineValue = name.size() != a.size();
    auto get = [&]() -> std::string {
      return inlineValue ? std::string(a.substr(name.size() + 1)) : value(i, name);
    };
    if (name == "--uuid") {
      args.uuid = get();
    } else if (name == "--lock-fd" && entrypoint == "run") {
      std::string v = get();
      char* end = nullptr;
      long fd = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || fd < 0 || fd > 1 << 20) {
        throw Error(Errc::kUsage, "--lock-fd: \"" + v + "\" is not a file descriptor number");
      }
      args.lockFd = static_cast<int>(fd);
    } else if (a == "--debug") {
      args.debug = true;
    } else if (a == "--force" && entrypoint == "stop") {
      args.force = true;
    } else if (name == "--app" && entrypoint == "enter") {
      args.app = get();
    } else {
      throw Error(Errc::kUsage, "unknown argument " + quote(a));
    }
  }
  if (args.uuid.empty()) throw Error(Errc::kUsage, "--uuid is required");
  if (entrypoint == "run" && args.lockFd < 0) throw Error(Errc::kUsage, "--lock-fd is required");
  if (entrypoint == "enter") {
    if (args.app.empty()) throw Error(Errc::kUsage, "--app is required");
    if (args.command.empty()) throw Error(Errc::kUsage, "a command is required after --");
  } else if (!args.command.empty()) {
    throw Error(Errc::kUsage, "unexpected arguments after --");
  }
  return args;
}

int entrypointMain(int argc, char** argv, std::string_view entrypoint, int (*fn)(const Args&)) {
  recorded() = Invocation{argc, argv, environ};
  bool debug = false;
  for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    if (std::strcmp(argv[i], "--debug") == 0) debug = true;
  }
  std::string prefix = "ferry-stage1 " + std::string(entrypoint) + ": ";
  try {
    Args args = parseArgs(argc, argv, entrypoint);
    if (entrypoint == "enter") {
      // enter's command process lives in the pod's PID namespace with this executable until its
      // exec (and runs it again after a `#!/proc/self/exe` script): the pod must find there a
      // sealed copy, never the stage1's file (common/sealed_exec.hpp). Not dumpable either: the
      // pod's processes cannot open /proc/<pid>/{exe,fd,root} of it without CAP_SYS_PTRACE.
      if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throwErrno("make the process non-dumpable");
      reexecSealed("ferry-enter", argv, environ);
    }
    return fn(args);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), describe(e, debug).c_str());
    return e.code() == Errc::kUsage ? kUsageFailure : kOwnFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), describe(e, debug).c_str());
    return kOwnFailure;
  }
}

void keepLockFd(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) throw Error(Errc::kUsage, "--lock-fd " + std::to_string(fd) + ": not open");
  ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}

}  // namespace ferry::stage1
