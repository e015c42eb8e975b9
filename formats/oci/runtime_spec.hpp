// The OCI runtime-spec bundle configuration, config.json (runtime-spec config.md and
// config-linux.md), as ferry generates it for each app and as stage2 reads it back.
//
// The parse is strict by default: config.json is a document ferry writes itself, so an unknown
// field is an error naming its JSON path. (The runtime-spec asks a runtime to ignore unknown
// properties; a caller reading a bundle written by another tool, e.g. ferry as an OCI runtime
// under containerd, passes {.strict = false} and unknown fields are then dropped, not kept.)
// Invalid values are errors in both modes: closed sets (namespace types, capabilities, rlimits,
// seccomp actions, architectures, operators, flags) are checked. Linux features ferry does not act
// on (blockIO, hugepage limits, network, rdma, intelRdt, time offsets, personality, scheduler, I/O
// priority, CPU affinity) are kept as opaque JSON values so that a config round-trips.
// Arrays are written only when non-empty, optional members only when set.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "formats/oci/parse_options.hpp"

namespace ferry::oci {

struct ConsoleSize {
  uint64_t height = 0;
  uint64_t width = 0;
  friend bool operator==(const ConsoleSize&, const ConsoleSize&) = default;
};

struct ProcessUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additionalGids;
  std::optional<std::string> username;  // Windows; kept for completeness
  friend bool operator==(const ProcessUser&, const ProcessUser&) = default;
};

struct Capabilities {
  // Each set may be absent (nothing) or present and empty; names are "CAP_…".
  std::optional<std::vector<std::string>> bounding;
  std::optional<std::vector<std::string>> effective;
  std::optional<std::vector<std::string>> inheritable;
  std::optional<std::vector<std::string>> permitted;
  std::optional<std::vector<std::string>> ambient;
  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

struct Rlimit {
  std::string type;  // RLIMIT_NOFILE, …
  uint64_t hard = 0;
  uint64_t soft = 0;
  friend bool operator==(const Rlimit&, const Rlimit&) = default;
};

struct Process {
  std::optional<bool> terminal;
  std::optional<ConsoleSize> consoleSize;
  ProcessUser user;
  std::vector<std::string> args;  // at least one entry
  std::vector<std::string> env;   // "NAME=value"
  std::string cwd = "/";          // absolute
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  std::optional<bool> noNewPrivileges;
  std::optional<std::string> apparmorProfile;
  std::optional<int64_t> oomScoreAdj;
  std::optional<std::string> selinuxLabel;
  std::optional<json::Json> scheduler;        // opaque
  std::optional<json::Json> ioPriority;       // opaque
  std::optional<json::Json> execCPUAffinity;  // opaque
  friend bool operator==(const Process&, const Process&) = default;
};

struct Root {
  std::string path;
  std::optional<bool> readonly;
  friend bool operator==(const Root&, const Root&) = default;
};

struct IdMapping {
  uint32_t containerID = 0;
  uint32_t hostID = 0;
  uint32_t size = 0;
  friend bool operator==(const IdMapping&, const IdMapping&) = default;
};

struct Mount {
  std::string destination;
  std::optional<std::string> type;
  std::optional<std::string> source;
  std::vector<std::string> options;
  std::vector<IdMapping> uidMappings;
  std::vector<IdMapping> gidMappings;
  friend bool operator==(const Mount&, const Mount&) = default;
};

struct Hook {
  std::string path;  // absolute
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int64_t> timeout;  // seconds, > 0
  friend bool operator==(const Hook&, const Hook&) = default;
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated by the spec, still honoured by runtimes
  std::vector<Hook> createRuntime;
  std::vector<Hook> createContainer;
  std::vector<Hook> startContainer;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
  friend bool operator==(const Hooks&, const Hooks&) = default;
};

struct LinuxNamespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::optional<std::string> path;
  friend bool operator==(const LinuxNamespace&, const LinuxNamespace&) = default;
};

struct LinuxDevice {
  std::string type;  // c b u p
  std::string path;
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::optional<uint32_t> fileMode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  friend bool operator==(const LinuxDevice&, const LinuxDevice&) = default;
};

struct LinuxDeviceCgroup {
  bool allow = false;
  std::optional<std::string> type;  // a c b
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::optional<std::string> access;  // subset of "rwm"
  friend bool operator==(const LinuxDeviceCgroup&, const LinuxDeviceCgroup&) = default;
};

struct LinuxMemory {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernelTCP;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disableOOMKiller;
  std::optional<bool> useHierarchy;
  std::optional<bool> checkBeforeUpdate;
  friend bool operator==(const LinuxMemory&, const LinuxMemory&) = default;
};

struct LinuxCpu {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtimeRuntime;
  std::optional<uint64_t> realtimePeriod;
  std::optional<std::string> cpus;
  std::optional<std::string> mems;
  std::optional<int64_t> idle;
  friend bool operator==(const LinuxCpu&, const LinuxCpu&) = default;
};

struct LinuxPids {
  int64_t limit = 0;
  friend bool operator==(const LinuxPids&, const LinuxPids&) = default;
};

struct LinuxResources {
  std::vector<LinuxDeviceCgroup> devices;
  std::optional<LinuxMemory> memory;
  std::optional<LinuxCpu> cpu;
  std::optional<LinuxPids> pids;
  std::optional<std::map<std::string, std::string>> unified;  // cgroup v2 files
  std::optional<json::Json> blockIO;                          // opaque
  std::optional<json::Json> hugepageLimits;                   // opaque
  std::optional<json::Json> network;                          // opaque
  std::optional<json::Json> rdma;                             // opaque
  friend bool operator==(const LinuxResources&, const LinuxResources&) = default;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  std::optional<uint64_t> valueTwo;
  std::string op;  // SCMP_CMP_EQ, …
  friend bool operator==(const SeccompArg&, const SeccompArg&) = default;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_…
  std::optional<uint32_t> errnoRet;
  std::vector<SeccompArg> args;
  friend bool operator==(const SeccompSyscall&, const SeccompSyscall&) = default;
};

struct Seccomp {
  std::string defaultAction;
  std::optional<uint32_t> defaultErrnoRet;
  std::vector<std::string> architectures;  // SCMP_ARCH_…
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_…
  std::optional<std::string> listenerPath;
  std::optional<std::string> listenerMetadata;
  std::vector<SeccompSyscall> syscalls;
  friend bool operator==(const Seccomp&, const Seccomp&) = default;
};

struct Linux {
  std::vector<LinuxNamespace> namespaces;
  std::vector<IdMapping> uidMappings;
  std::vector<IdMapping> gidMappings;
  std::vector<LinuxDevice> devices;
  std::optional<std::string> cgroupsPath;
  std::optional<LinuxResources> resources;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::optional<std::string> rootfsPropagation;  // private shared slave unbindable (r…)
  std::vector<std::string> maskedPaths;
  std::vector<std::string> readonlyPaths;
  std::optional<std::string> mountLabel;
  std::optional<json::Json> timeOffsets;  // opaque
  std::optional<json::Json> intelRdt;     // opaque
  std::optional<json::Json> personality;  // opaque
  friend bool operator==(const Linux&, const Linux&) = default;
};

struct RuntimeSpec {
  std::string ociVersion = "1.0.2";
  std::optional<Process> process;
  std::optional<Root> root;
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linuxConfig;  // "linux" (not a member name: GNU modes define `linux`)

  // Strict by default (see the top of this file); pass {.strict = false} to ignore unknown
  // fields as the runtime-spec asks of a runtime reading a bundle someone else wrote.
  static RuntimeSpec fromJson(const json::Json& j, const std::string& path = "",
                              const ParseOptions& opts = {.strict = true});
  static RuntimeSpec parse(std::string_view text, std::string_view what,
                           const ParseOptions& opts = {.strict = true});
  json::Json toJson() const;
  // Two-space indented, as config.json is read by people too.
  std::string dump() const;

  friend bool operator==(const RuntimeSpec&, const RuntimeSpec&) = default;
};

// Closed sets of names the runtime-spec defines, for validation and for translators.
bool isNamespaceType(std::string_view s);
bool isCapability(std::string_view s);  // "CAP_CHOWN" … "CAP_CHECKPOINT_RESTORE"
bool isRlimit(std::string_view s);      // "RLIMIT_AS" … "RLIMIT_STACK"
bool isSeccompAction(std::string_view s);
bool isSeccompArch(std::string_view s);
bool isSeccompOperator(std::string_view s);
bool isSeccompFlag(std::string_view s);

}  // namespace ferry::oci
