// The process side of an app, once its root filesystem is in place: the part of ferry-stage2
// that the ns stage1's `enter` reuses after joining an app's mount namespace and root.
//
// The constructor translates and checks everything (capabilities, rlimits, the seccomp filter)
// without changing the process; exec() then, in this order: resolves the user and groups in the
// root's own /etc files, closes every descriptor above stderr, changes to process.cwd resolved
// inside the root (never through a /proc magic link; checked to be inside after), sets the rlimits
// and oom_score_adj, drops the bounding set, switches user and groups keeping the configured
// capabilities, sets the umask, unblocks every signal and resets ignored ones, finds the executable
// in the app's PATH, marks extra fds close-on-exec, sets no_new_privs, loads the seccomp filter
// (last) and calls execve with process.env exactly.
// The seccomp filter is the bundle's compiled one (BUNDLE/seccomp.bpf, which a stage1 may put
// there: stage1/ABI.md §3) when that file holds exactly this config's filter, otherwise
// libseccomp compiles it here (seccomp_filter.hpp: seccompProgramFor).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "formats/oci/runtime_spec.hpp"
#include "stage2/capability_sets.hpp"
#include "stage2/seccomp_filter.hpp"

namespace ferry::stage2 {

class AppProcess {
 public:
  // spec.process must be set. Throws Error naming the config field at fault. `bundle`, when
  // given, is the directory of config.json, where a compiled filter may wait (read here,
  // before anything changes: the bundle is out of reach once the process is in the app's root).
  explicit AppProcess(const oci::RuntimeSpec& spec, const std::filesystem::path& bundle = {});
  AppProcess(const AppProcess&) = delete;
  AppProcess& operator=(const AppProcess&) = delete;
  ~AppProcess();

  // Socket activation (stage1/ABI.md §5 "systemd"): the `count` descriptors at 3, 4, … are the
  // app's (each must be a socket), named `names` (LISTEN_FDNAMES); exec keeps them open and sets
  // LISTEN_FDS, LISTEN_PID (the app's pid) and LISTEN_FDNAMES. Every other descriptor above
  // stderr is closed as ever.
  void passListenFds(unsigned count, std::string names);

  // Runs argv as the app; "/" must be the app's root. Returns only by throwing.
  [[noreturn]] void exec(std::vector<std::string> argv);

 private:
  const oci::RuntimeSpec& spec_;
  bool haveCaps_;
  CapabilitySets caps_;
  std::optional<SeccompProgram> seccomp_;
  unsigned listenFds_ = 0;
  std::string listenFdNames_;
};

}  // namespace ferry::stage2
