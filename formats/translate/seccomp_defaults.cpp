// The default capability set, the default seccomp filter and errno names for app_runtime.cpp.
#include <sched.h>
#include <algorithm>

#include <cerrno>

#include "formats/translate/app_runtime.hpp"

namespace ferry::translate {

const std::vector<std::string>& appcDefaultCapabilities() {
  // appc spec, ace.md: "the default set of capabilities".
  static const std::vector<std::string> kCaps = {
      "CAP_AUDIT_WRITE", "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_KILL",        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_NET_BIND_SERVICE", "CAP_SETUID",
      "CAP_SETGID",      "CAP_SETPCAP", "CAP_SETFCAP",      "CAP_SYS_CHROOT"};
  return kCaps;
}

namespace {

struct Group {
  const char* capability;  // the capability that makes these calls legitimate; nullptr: none
  std::vector<const char*> syscalls;
};

// Docker's default profile and rkt's @rkt/default-blacklist agree on these: calls that reach
// kernel-global state (modules, clocks, keyrings, swap, reboot, NUMA policy, the kernel log) or
// that only make sense with a capability the app does not hold. io_uring is refused outright, as
// Docker (since 25.0) and ChromeOS/Android do: its rings run system calls the filter never sees,
// and it has been a steady source of kernel privilege escalations. Names are x86-64 and aarch64
// syscalls; stage2 skips a name the running architecture lacks.
const std::vector<Group>& groups() {
  static const std::vector<Group> kGroups = {
      {nullptr,
       {"_sysctl", "add_key", "create_module", "get_kernel_syms", "io_uring_enter",
        "io_uring_register", "io_uring_setup", "keyctl", "lookup_dcookie", "nfsservctl",
        "query_module", "request_key", "uselib", "userfaultfd", "ustat"}},
      {"CAP_SYS_MODULE", {"delete_module", "finit_module", "init_module"}},
      {"CAP_SYS_TIME", {"adjtimex", "clock_adjtime", "clock_settime", "settimeofday"}},
      {"CAP_SYS_BOOT", {"kexec_file_load", "kexec_load", "reboot"}},
      {"CAP_SYS_PTRACE",
       {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
        "ptrace"}},
      {"CAP_SYS_RAWIO", {"ioperm", "iopl"}},
      {"CAP_SYS_PACCT", {"acct"}},
      {"CAP_SYS_NICE",
       {"get_mempolicy", "mbind", "move_pages", "set_mempolicy", "set_mempolicy_home_node"}},
      {"CAP_SYSLOG", {"syslog"}},
      {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
      {"CAP_SYS_ADMIN",
       {"bpf",           "fanotify_init",   "fsconfig",      "fsmount",    "fsopen",
        "fspick",        "mount",           "mount_setattr", "move_mount", "name_to_handle_at",
        "open_tree",     "perf_event_open", "pivot_root",    "quotactl",   "quotactl_fd",
        "setdomainname", "sethostname",     "setns",         "swapoff",    "swapon",
        "umount2",       "unshare"}},
      {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
  };
  return kGroups;
}

// The namespace flags clone(2) takes (CLONE_NEWTIME shares its bit with the exit signal there
// and is unshare/clone3 only).
constexpr uint64_t kCloneNamespaceFlags[] = {
    CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
};

}  // namespace

std::vector<std::string> defaultSeccompRemoveSet(const std::vector<std::string>& capabilities) {
  std::vector<std::string> out;
  for (const auto& g : groups()) {
    if (g.capability != nullptr &&
        std::find(capabilities.begin(), capabilities.end(), g.capability) != capabilities.end()) {
      continue;
    }
    out.insert(out.end(), g.syscalls.begin(), g.syscalls.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<oci::SeccompSyscall> defaultSeccompArgumentRules(
    const std::vector<std::string>& capabilities) {
  if (std::find(capabilities.begin(), capabilities.end(), "CAP_SYS_ADMIN") != capabilities.end()) {
    return {};
  }
  // Without CAP_SYS_ADMIN unshare(2) and setns(2) are refused by name, but clone(2) can still
  // make namespaces: CLONE_NEWUSER alone needs no capability, and a namespace created together
  // with it (CLONE_NEWUSER|CLONE_NEWNET, …) hands the app every capability over it: the path of
  // the nf_tables and mount exploits. One rule per flag (libseccomp ORs them): refused when any
  // namespace flag is set. clone3(2) passes its flags in memory a filter cannot read: ENOSYS,
  // which makes libc fall back to clone(2) (Docker's profile does the same).
  oci::SeccompSyscall clone{{"clone"}, "SCMP_ACT_ERRNO", EPERM, {}};
  for (uint64_t flag : kCloneNamespaceFlags) {
    clone.args.push_back({0, flag, flag, "SCMP_CMP_MASKED_EQ"});
  }
  return {clone, {{"clone3"}, "SCMP_ACT_ERRNO", ENOSYS, {}}};
}

oci::SeccompSyscall defaultSeccompIoctlRule() {
  // TIOCSTI pushes bytes into a terminal's input and TIOCLINUX pastes a console's selection:
  // both type into whatever reads that terminal next (an operator's shell, were its terminal
  // ever reachable from the pod). The kernel reads ioctl's request as an unsigned int while
  // seccomp sees all 64 bits: compared under the mask 0xffffffff, a request with high bits set
  // cannot slip past (flatpak's CVE-2019-10063). Two conditions on one argument: either matches.
  constexpr uint64_t kMask = 0xffffffff;
  constexpr uint64_t kTiocsti = 0x5412;    // TIOCSTI
  constexpr uint64_t kTioclinux = 0x541C;  // TIOCLINUX
  return {
      {"ioctl"},
      "SCMP_ACT_ERRNO",
      EPERM,
      {{1, kMask, kTiocsti, "SCMP_CMP_MASKED_EQ"}, {1, kMask, kTioclinux, "SCMP_CMP_MASKED_EQ"}}};
}

std::optional<uint32_t> errnoNumber(std::string_view name) {
  struct Entry {
    std::string_view name;
    int value;
  };
  static constexpr Entry kErrnos[] = {
      {"EPERM", EPERM},
      {"ENOENT", ENOENT},
      {"ESRCH", ESRCH},
      {"EINTR", EINTR},
      {"EIO", EIO},
      {"ENXIO", ENXIO},
      {"E2BIG", E2BIG},
      {"ENOEXEC", ENOEXEC},
      {"EBADF", EBADF},
      {"ECHILD", ECHILD},
      {"EAGAIN", EAGAIN},
      {"ENOMEM", ENOMEM},
      {"EACCES", EACCES},
      {"EFAULT", EFAULT},
      {"EBUSY", EBUSY},
      {"EEXIST", EEXIST},
      {"EXDEV", EXDEV},
      {"ENODEV", ENODEV},
      {"ENOTDIR", ENOTDIR},
      {"EISDIR", EISDIR},
      {"EINVAL", EINVAL},
      {"ENFILE", ENFILE},
      {"EMFILE", EMFILE},
      {"ENOTTY", ENOTTY},
      {"EFBIG", EFBIG},
      {"ENOSPC", ENOSPC},
      {"ESPIPE", ESPIPE},
      {"EROFS", EROFS},
      {"EMLINK", EMLINK},
      {"EPIPE", EPIPE},
      {"EDOM", EDOM},
      {"ERANGE", ERANGE},
      {"ENOSYS", ENOSYS},
      {"ENOTSUP", ENOTSUP},
      {"EOPNOTSUPP", EOPNOTSUPP},
      {"ENOTSOCK", ENOTSOCK},
      {"ECONNREFUSED", ECONNREFUSED},
      {"ETIMEDOUT", ETIMEDOUT},
      {"ENOTEMPTY", ENOTEMPTY},
      {"ELOOP", ELOOP},
      {"ENAMETOOLONG", ENAMETOOLONG},
      {"EAFNOSUPPORT", EAFNOSUPPORT},
      {"EPROTONOSUPPORT", EPROTONOSUPPORT},
      {"ENETUNREACH", ENETUNREACH},
      {"EADDRINUSE", EADDRINUSE},
      {"ECANCELED", ECANCELED},
      {"EOVERFLOW", EOVERFLOW},
  };
  for (const auto& e : kErrnos) {
    if (e.name == name) return static_cast<uint32_t>(e.value);
  }
  return std::nullopt;
}

std::vector<std::string> AppRuntimeInput::defaultSeccompArchitectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  return {};
#endif
}

}  // namespace ferry::translate
