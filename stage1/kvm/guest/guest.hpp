// The guest /init's parts (init.cpp has the boot sequence they serve), by concern:
//   init.cpp       main: the kernel command line, the boot steps in order, power off, bareRun;
//   boot.cpp       the steps' mounts, modules, channel port, pod directory, own binaries, cgroups;
//   start_init.cpp the pod init started in its namespaces and cgroup (startPodInit);
//   console.cpp    --interactive: the pod's input, its terminal's master and console socket;
//   relay.cpp      the loop between the channel and the pod until the pod init ended;
//   sessions.cpp   enter sessions (kEnterStart … kEnterExit): guest-enter on pipes or a pty.
// What is shared goes through here: the channel port and /dev/kmsg (the two descriptors every
// part writes to, globals of this PID 1), and the structs each step hands to the next.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/cgroup.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::kvm::guest {

namespace fs = std::filesystem;

// The channel port (virtio-serial, kChannelName), once opened: every frame to the host.
extern int channel;
// ferry.debug=1 (run's --debug): /dev/kmsg, where mark() stamps the phases of the guest's start
// with the kernel's clock (they show in kvm/console beside the kernel's own lines).
extern int kmsg;

// In the initramfs (guest/build.sh): the stage1's ferry-init and ferry-stage2, stripped.
constexpr const char* kOwnBin = "/ferry";

// A phase of the guest's start, on /dev/kmsg (ferry.debug=1).
void mark(const char* what);
// One line on stderr (the guest's console).
void say(const std::string& line);
[[noreturn]] void powerOff();
// Before the pod init runs: one kFailure line to the host, then power off.
[[noreturn]] void fail(const std::string& line);
// The exit code of a wait status: the code, or 128 + the signal.
int statusCode(int status);

// What the relay and the enter sessions know of the pod (guestMain fills it in from the kernel
// command line and runtime.json).
struct PodContext {
  fs::path dir;         // the pod directory, at its host path
  std::string uuid;     // the pod's, for guest-enter's --uuid
  fs::path guestEnter;  // ferry.enter: the flavor's guest-enter, run for each enter session
  // ferry.mds=PORT: the apps' metadata service address 127.0.0.1:PORT, listened on here and each
  // connection relayed to the host (kMdsOpen; mds.hpp).
  int mdsListener = -1;
};

// boot.cpp
void mountOrThrow(const char* src, const fs::path& dst, const char* type, unsigned long flags,
                  const char* data = nullptr);
void loadModules(const fs::path& dir);
int openChannel();
void makePodDir(const fs::path& root, const fs::path& pod);
void ownBinaries(const fs::path& root, const fs::path& init);

struct Cgroups {
  cgroup::Group pod, init;
  std::vector<std::string> joinFiles;
};
Cgroups makeCgroups(const fs::path& podDir, const stage1::RuntimeOptions& rt);
void sharePodDirInGuest(const fs::path& podDir, const stage1::PrivateUsers& users);

// console.cpp
// The pod's input and terminal with --interactive (ferry.interactive=tty|pipe).
struct Console {
  bool terminal = false;
  int socket = -1;      // tty: our end of the console socket (the init's fds 0, 1, 2)
  int master = -1;      // tty: the app's pty, once its stage2 sent it
  int input = -1;       // pipe: the init's stdin
  std::string pending;  // kStdin bytes not yet taken
  bool inputEnded = false, eofSent = false;
};
void closeFd(int& fd);
void flushInput(Console& c);
void readConsoleSocket(Console& c);
void readMaster(Console& c);

// start_init.cpp
struct Child {
  pid_t pid = -1;
  int out = -1, err = -1;
  int mdsListener = -1;  // PodNamespaces::mdsPort: listening in the pod's network namespace
};
// With `users` (runtime.json privateUsers) the init runs in a user namespace of the guest's
// kernel mapping 0…count-1 to the range, as its root, with IPC and UTS namespaces of that user
// namespace (as on ns) and, unless the pod is on networks (`guestNet`: the guest's interfaces
// are the pod's), a network namespace of its own too, so that its sysctls are the pod's to set
// as on ns: its loopback is up before the init runs, and the metadata service's listener
// (`mdsPort`, 0: none) is made in it before the init goes on.
struct PodNamespaces {
  std::optional<stage1::PrivateUsers> users;
  bool guestNet = false;
  uint16_t mdsPort = 0;
};
Child startPodInit(const fs::path& podDir, const fs::path& init, const Cgroups& cg,
                   const std::string& interactive, Console& console, const PodNamespaces& ns);

// sessions.cpp
// An enter session (kEnterStart … kEnterExit): the flavor's guest-enter (the ns stage1's enter
// entrypoint) in the pod directory, its stdio on pipes relayed as frames.
struct Session {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
  std::optional<int> code;
  bool tty = false;  // in and out: a pty's master (its slave guest-enter's terminal)
};
void startSession(std::map<uint32_t, Session>& sessions, uint32_t id, const std::string& request,
                  const PodContext& pod);
void endSessions(std::map<uint32_t, Session>& sessions, bool force);

// relay.cpp: relays until the pod init ended and its output was read; returns its exit code.
int relay(const PodContext& pod, Child child, Console& console);

}  // namespace ferry::kvm::guest
