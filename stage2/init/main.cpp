// ferry-init [--pod-dir DIR]: the pod's PID 1 (see pod_init.hpp). Without --pod-dir the pod
// directory is the working directory, which is how the ns stage1 starts it: the command line
// that `ps` shows in the pod is then "ferry-init", naming no host path.
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "stage2/init/log_stream.hpp"
#include "stage2/init/pod_init.hpp"

int main(int argc, char** argv) {
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
