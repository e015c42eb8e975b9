// ferry-init --pod-dir DIR: the pod's PID 1 (see pod_init.hpp).
#include <cstring>
#include <string>

#include "stage2/init/log_stream.hpp"
#include "stage2/init/pod_init.hpp"

int main(int argc, char** argv) {
  std::string podDir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--pod-dir") == 0 && i + 1 < argc) {
      podDir = argv[++i];
    } else if (std::strncmp(argv[i], "--pod-dir=", 10) == 0) {
      podDir = argv[i] + 10;
    } else {
      podDir.clear();
      break;
    }
  }
  if (podDir.empty() || podDir[0] != '/') {
    static const char kUsage[] = "usage: ferry-init --pod-dir ABSOLUTE-DIR\n";
    ferry::init::writeFully(2, kUsage, sizeof kUsage - 1);
    return 2;
  }
  return ferry::init::runPod(podDir);
}
