// ferry-init [--pod-dir DIR]: the pod's PID 1 (see pod_init.hpp). Without --pod-dir the pod
// directory is the working directory, which is how the ns stage1 starts it: the command line
// that `ps` shows in the pod is then "ferry-init", naming no host path.
#include <sys/prctl.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "stage2/init/log_stream.hpp"
#include "stage2/init/pod_init.hpp"

int main(int argc, char** argv) {
  // Not dumpable: a pod process cannot open /proc/1/{exe,fd,root,mem,environ} of its root-owned
  // PID 1 without CAP_SYS_PTRACE (execve made it dumpable again; each child keeps this until
  // ferry-stage2 execs the app).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::string podDir;
  bool bad = false;
  for (int i = 1; i < argc && !bad; ++i) {
    if (std::strcmp(argv[i], "--pod-dir") == 0 && i + 1 < argc) {
      podDir = argv[++i];
    } else if (std::strncmp(argv[i], "--pod-dir=", 10) == 0) {
      podDir = argv[i] + 10;
    } else {
      bad = true;
    }
  }
  if (!bad && argc == 1) {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) != nullptr) podDir = cwd;
  }
  if (bad || podDir.empty() || podDir[0] != '/') {
    static const char kUsage[] =
        "usage: ferry-init [--pod-dir ABSOLUTE-DIR] (default: the working "
        "directory)\n";
    ferry::init::writeFully(2, kUsage, sizeof kUsage - 1);
    return 2;
  }
  return ferry::init::runPod(podDir);
}
