// ferry-stage2 [--event pre-start|post-stop] BUNDLE — see stage2/stage2.hpp. The standalone
// form of stage2: the pod init runs the same stage2::runReporting in a forked child instead.
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "common/error.hpp"
#include "common/sealed_exec.hpp"
#include "stage2/stage2.hpp"

int main(int argc, char** argv) {
  ferry::stage2::Options options;
  try {
    // Until the app's execve: not dumpable (the pod's processes cannot open /proc/<pid>/{exe,
    // fd,root,mem} of this root process without CAP_SYS_PTRACE), and running from a read-only
    // mount or a sealed memfd, never from a file the pod could reopen for writing
    // (common/sealed_exec.hpp). The ns stage1 binds this binary read-only: no copy there.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
      ferry::throwErrno("make the process non-dumpable");
    ferry::reexecSealed("ferry-stage2", argv, environ);
    options = ferry::stage2::parseArgs(argc, argv);
    // Set by a pod init that execs this binary (fly's): it runs it with no other environment.
    if (const char* n = std::getenv("LISTEN_FDS"); n != nullptr && !options.event) {
      options.listenFds = static_cast<unsigned>(std::clamp(std::atoi(n), 0, 1024));
      if (const char* names = std::getenv("LISTEN_FDNAMES")) options.listenFdNames = names;
    }
  } catch (const ferry::Error& e) {
    if (e.code() == ferry::Errc::kUsage) {
      std::fprintf(stderr,
                   "ferry-stage2: %s\nusage: ferry-stage2 [--event pre-start|post-stop] "
                   "BUNDLE\n",
                   e.what());
      return 2;
    }
    std::fprintf(stderr, "ferry-stage2: ?: %s\n", ferry::describe(e, true).c_str());
    return ferry::stage2::kOwnFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry-stage2: ?: %s\n", ferry::describe(e, true).c_str());
    return ferry::stage2::kOwnFailure;
  }
  return ferry::stage2::runReporting(options);
}
