#include "common/cgroup_devices.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>

#include "common/device_program.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::cgroup {

namespace fs = std::filesystem;

namespace {

int bpf(int cmd, bpf_attr* attr) {
  return static_cast<int>(::syscall(SYS_bpf, cmd, attr, sizeof *attr));
}

uint64_t pointer(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

bool hasController(std::string_view list, std::string_view controller);

// A v1 devices hierarchy's member: by its controllers when place() recorded them (no lookup in
// every other hierarchy), else by its devices.list.
bool hasDevicesList(const Member& m) {
  if (m.version != Version::kV1) return false;
  if (!m.controllers.empty()) return hasController(m.controllers, "devices");
  return ::access((m.dir / "devices.list").c_str(), F_OK) == 0;
}

UniqueFd loadProgram(const DevicePolicy& policy) {
  std::vector<bpf_insn> insns = deviceProgram(policy);
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = pointer(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  // The program calls no helper: no license is needed for any.
  static const char kLicense[] = "";
  attr.license = pointer(kLicense);
  int fd = bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0) throwErrno("load the pod's device program (bpf BPF_PROG_LOAD)");
  return UniqueFd(fd);
}

UniqueFd openCgroupDir(const fs::path& dir) { return openFile(dir, O_RDONLY | O_DIRECTORY); }

void attach(const fs::path& dir, int program) {
  UniqueFd target = openCgroupDir(dir);
  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(target.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(program);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attr) != 0) {
    throwErrno("attach the pod's device program to cgroup " + quote(dir.string()));
  }
}

// How many device programs the kernel runs for a member of dir (its own and its ancestors').
uint32_t effectivePrograms(const fs::path& dir) {
  UniqueFd target = openCgroupDir(dir);
  bpf_attr attr{};
  attr.query.target_fd = static_cast<uint32_t>(target.get());
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.query_flags = BPF_F_QUERY_EFFECTIVE;
  if (bpf(BPF_PROG_QUERY, &attr) != 0) {
    throwErrno("query the device programs of cgroup " + quote(dir.string()));
  }
  return attr.query.prog_cnt;
}

void writeLine(int fd, const fs::path& file, const std::string& line) {
  ssize_t n;
  do {
    n = ::write(fd, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) throwErrno("write " + quote(line) + " to " + quote(file.string()));
}

void writeV1(const fs::path& dir, const DevicePolicy& policy) {
  fs::path deny = dir / "devices.deny";
  writeLine(openFile(deny, O_WRONLY).get(), deny, "a");
  // One rule per write(2): the controller parses each write as one line.
  fs::path allow = dir / "devices.allow";
  UniqueFd fd = openFile(allow, O_WRONLY);
  for (const std::string& line : policy.v1Lines()) writeLine(fd.get(), allow, line);
}

bool hasController(std::string_view list, std::string_view controller) {
  for (;;) {
    size_t end = list.find(',');
    if (list.substr(0, end) == controller) return true;
    if (end == std::string_view::npos) return false;
    list.remove_prefix(end + 1);
  }
}

bool allowsEverything(const std::string& devicesList) {
  size_t start = 0;
  while (start < devicesList.size()) {
    size_t end = devicesList.find('\n', start);
    if (end == std::string::npos) end = devicesList.size();
    if (devicesList.compare(start, end - start, "a *:* rwm") == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

void applyDevicePolicy(const Group& group, const DevicePolicy& policy) {
  // A v1 devices member confines every process of the group on its own (the kernel checks it
  // as well as the cgroup2 programs): the group's cgroup2 members then get no program.
  bool v1 = std::any_of(group.members().begin(), group.members().end(), hasDevicesList);
  bool applied = false;
  UniqueFd program;
  for (const Member& m : group.members()) {
    if (hasDevicesList(m)) {
      writeV1(m.dir, policy);
      applied = true;
    } else if (m.version == Version::kV2 && !v1) {
      if (!program) program = loadProgram(policy);
      attach(m.dir, program.get());
      applied = true;
    }
  }
  if (!applied) {
    std::string where = group.members().empty() ? std::string("(no cgroup)")
                                                : quote(group.members().front().dir.string());
    throw Error(Errc::kUnsupported, "cannot confine the devices of cgroup " + where +
                                        ": no devices controller and no cgroup2 hierarchy");
  }
}

void requireDeviceRules(const Group& group) {
  Layout layout = Layout::detect();
  auto memberIn = [&](const Hierarchy& h) -> const Member* {
    const Member* member = nullptr;
    for (const Member& m : group.members()) {
      if (m.mount == h.mount) member = &m;
    }
    return member;
  };
  // Whether a v1 devices member of the group confines (then a cgroup2 member needs no program).
  bool v1Confines = false;
  for (const Hierarchy& h : layout.hierarchies()) {
    if (h.version != Version::kV1 || !hasController(h.controllers, "devices")) continue;
    const Member* member = memberIn(h);
    if (member == nullptr) {
      throw Error(Errc::kSecurity,
                  "cannot confine devices: the pod has no cgroup in the devices hierarchy " +
                      quote(h.mount.string()));
    }
    if (allowsEverything(readFile(member->dir / "devices.list"))) {
      throw Error(Errc::kSecurity, "cannot confine devices: cgroup " + quote(member->dir.string()) +
                                       " has no device rules");
    }
    v1Confines = true;
  }
  bool any = v1Confines;
  for (const Hierarchy& h : layout.hierarchies()) {
    if (h.version != Version::kV2) continue;
    any = true;
    const Member* member = memberIn(h);
    if (member == nullptr) {
      throw Error(Errc::kSecurity,
                  "cannot confine devices: the pod has no cgroup in the cgroup2 hierarchy " +
                      quote(h.mount.string()));
    }
    if (!v1Confines && effectivePrograms(member->dir) == 0) {
      throw Error(Errc::kSecurity, "cannot confine devices: cgroup " + quote(member->dir.string()) +
                                       " has no device program and no v1 devices cgroup of the "
                                       "pod confines it");
    }
  }
  if (!any) {
    throw Error(Errc::kUnsupported,
                "cannot confine devices: no devices controller and no cgroup2 hierarchy");
  }
}

}  // namespace ferry::cgroup
