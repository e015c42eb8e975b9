// The steps the run entrypoints of the flavors whose pod init is ferry's own share (ns, fly,
// nspawn): the --debug clock, the directory of the entrypoint's own binaries, the handshake
// with the pod's first process (a control pipe it reads 'g' from, a report pipe it writes 'M'
// or "E<reason>" to and closes on exec or on entering the init's loop), the guard that undoes a
// start, the wait that forwards signals to the pod init, and the end of a pod.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/cgroup.hpp"
#include "common/fs.hpp"
#include "stage1/common/pod_cgroups.hpp"

namespace ferry::stage1 {

// With --debug, one line on stderr carrying the milliseconds since the first call (a run
// entrypoint calls it first thing, with debug false: where a pod's start and end spend their
// time).
void debugLine(bool debug, const std::string& line);

// The directory of this executable (where a stage1 finds ferry-init and ferry-stage2).
std::filesystem::path selfDir();

// This process's environment replaced by `env` ("NAME=value" each): the pod init's, in the
// child that runs the init without an exec (ABI §5). Throws on failure.
void replaceEnvironment(const std::vector<std::string>& env);

// In the pod's first process: one byte from the parent; false unless it is the go ('g'), as when
// the parent is gone.
bool awaitGo(int fd);

// Everything the pod's first process wrote on the report pipe, until it closed it.
std::string readReport(int fd);

// Waits for the pod init (a child of this process), forwarding what a user, stage0 or the
// terminal sends this process (the signals in the signalfd's set but SIGCHLD): the pod is a
// session of its own, the terminal's signals reach it only this way. The init's exit status,
// 128 + its signal when killed.
int waitForInit(pid_t pid, int sigFd, bool debug);

// Until released, kills and reaps the pod's first process (once set) and removes the pod cgroup
// with whatever of it exists: a start that fails leaves nothing behind.
class PodGuard {
 public:
  explicit PodGuard(const cgroup::Group& pod) : pod_(pod) {}
  ~PodGuard();
  PodGuard(const PodGuard&) = delete;
  PodGuard& operator=(const PodGuard&) = delete;
  void setPid(pid_t pid) { pid_ = pid; }
  void release() { released_ = true; }

 private:
  const cgroup::Group& pod_;
  pid_t pid_ = 0;
  bool released_ = false;
};

// Once the pod init is gone: the metadata service registration dropped (closing the connection
// drops it too, so a failure is only said), status/ fixed up for an init that could not finish
// its bookkeeping (finalizeStatus: how many apps it changed).
size_t closePod(const std::filesystem::path& podDir, const cgroup::Group& pod,
                UniqueFd mdsConnection);

// Then: the pod's cgroups removed (a failure is said; gc removes what is left) and `exit`
// written with code, which it returns.
int endPod(const std::filesystem::path& podDir, const PodCgroups& cgroups, int code, bool debug);

}  // namespace ferry::stage1
