#include "common/cgroup.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <system_error>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::cgroup {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kKillDeadline = std::chrono::seconds(10);
constexpr auto kPoll = std::chrono::milliseconds(5);

// The views point into s: keep what s views alive while they are used.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

struct CgroupMount {
  std::string fstype;
  std::string root;
  std::string mountPoint;
  std::vector<std::string_view> superOptions;
};

std::vector<CgroupMount> cgroupMounts(std::string_view mountinfo) {
  std::vector<CgroupMount> out;
  for (std::string_view line : split(mountinfo, '\n')) {
    auto sep = line.find(" - ");
    if (sep == std::string_view::npos) continue;
    auto pre = split(line.substr(0, sep), ' ');
    auto post = split(line.substr(sep + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    if (post[0] != "cgroup" && post[0] != "cgroup2") continue;
    out.push_back(CgroupMount{std::string(post[0]), unescapeMountinfo(pre[3]),
                              unescapeMountinfo(pre[4]), split(post[2], ',')});
  }
  return out;
}

fs::path withoutTrailingSlash(const fs::path& p) {
  const std::string& s = p.native();
  if (s.size() > 1 && s.back() == '/') return fs::path(s.substr(0, s.size() - 1));
  return p;
}

bool present(const fs::path& p) { return ::access(p.c_str(), F_OK) == 0; }

std::optional<std::string> readSmall(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  UniqueFd owner(fd);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

void writeValue(const fs::path& file, std::string_view value) {
  UniqueFd fd = openFile(file, O_WRONLY);
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) throwErrno("write " + quote(value) + " to " + quote(file.string()));
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void checkName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    throw Error(Errc::kInvalid, "invalid cgroup name " + quote(name));
  }
}

void makeDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throwErrno("create cgroup " + quote(dir.string()));
  }
}

// Whether a v1 hierarchy of these controllers ("" when unknown) may be the cpuset one.
bool mayBeCpuset(std::string_view controllers) {
  if (controllers.empty()) return true;
  for (std::string_view c : split(controllers, ',')) {
    if (c == "cpuset") return true;
  }
  return false;
}

// A new v1 cpuset cgroup starts with no cpus and no mems, and refuses processes until given some.
void initCpuset(const fs::path& dir) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    auto mine = readSmall(dir / file);
    if (!mine || !trim(*mine).empty()) continue;
    auto parent = readSmall(dir.parent_path() / file);
    if (parent && !trim(*parent).empty()) writeValue(dir / file, trim(*parent));
  }
}

// The controllers ferry writes limits for, on a cgroup v2 hierarchy: memory first (see
// enableControllers).
constexpr std::string_view kLimited[] = {"memory", "cpu", "pids"};

std::vector<std::string> words(const std::optional<std::string>& text) {
  std::vector<std::string> out;
  if (!text) return out;
  std::string line = trim(*text);  // split() returns views into it
  for (std::string_view w : split(line, ' ')) {
    if (!w.empty()) out.emplace_back(w);
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool writeControl(const fs::path& file, const std::string& value) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  errno = err;
  return n >= 0;
}

// Enables the given controllers in dir's cgroup.subtree_control (for dir's children), all or
// none. Returns 0 when all are on, else the errno of the first that is not: ENOENT when dir's
// parent does not give it to dir, EBUSY when dir is a non-root cgroup holding processes (v2's
// "no internal processes" rule; the root cgroup has no cgroup.type). Such a cgroup is refused
// here even for cpu and pids, which the kernel accepts there: they would make it a "thread
// root", whose children cannot hold a process of their own (joining one fails EOPNOTSUPP).
int enableControllers(const fs::path& dir, const std::vector<std::string>& controllers) {
  auto available = words(readSmall(dir / "cgroup.controllers"));
  auto enabled = words(readSmall(dir / "cgroup.subtree_control"));
  std::vector<std::string> missing;
  for (const std::string& c : controllers) {
    if (contains(enabled, c)) continue;
    if (!contains(available, c)) return ENOENT;
    missing.push_back(c);
  }
  if (missing.empty()) return 0;
  if (present(dir / "cgroup.type") && !trim(readSmall(dir / "cgroup.procs").value_or("")).empty()) {
    return EBUSY;
  }
  fs::path control = dir / "cgroup.subtree_control";
  for (size_t i = 0; i < missing.size(); ++i) {
    if (writeControl(control, "+" + missing[i])) continue;
    int err = errno;
    for (size_t j = 0; j < i; ++j) writeControl(control, "-" + missing[j]);  // none after all
    return err;
  }
  return 0;
}

// Where a v2 member of a new group goes: under the caller's own cgroup when that can delegate
// the controllers ferry limits (those the hierarchy has at all), else under the nearest
// ancestor that can. A cgroup holding processes (a login session's scope, a service's cgroup)
// cannot: v2 gives controllers to children only from a cgroup with no process of its own, the
// root excepted. So there, like systemd's scopes and podman's cgroups, the pod goes beside the
// caller's cgroup rather than inside it. When no ancestor can, the own cgroup: apply() then
// names the controller a limit misses.
fs::path delegatingParent(const Hierarchy& h) {
  auto atRoot = words(readSmall(h.mount / "cgroup.controllers"));
  std::vector<std::string> wanted;
  for (std::string_view c : kLimited) {
    if (contains(atRoot, c)) wanted.emplace_back(c);
  }
  if (wanted.empty()) return h.own;  // nothing to limit here (a hybrid host's unified mount)
  for (fs::path dir = h.own;; dir = dir.parent_path()) {
    if (enableControllers(dir, wanted) == 0) return dir;
    if (dir == h.mount || !dir.has_relative_path() || dir.parent_path() == dir) break;
    if (!std::string_view(dir.native()).starts_with(h.mount.native())) break;
  }
  return h.own;
}

// Every cgroup directory from dir down (dir first, parents before children).
std::vector<fs::path> subtree(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  out.push_back(dir);
  for (size_t i = 0; i < out.size(); ++i) {
    fs::directory_iterator it(out[i], ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code ec2;
      if (it->is_directory(ec2) && !it->is_symlink(ec2)) out.push_back(it->path());
    }
    ec.clear();
  }
  return out;
}

uint64_t counter(std::string_view text, std::string_view key) {
  for (std::string_view line : split(text, '\n')) {
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ') {
      return std::strtoull(std::string(line.substr(key.size() + 1)).c_str(), nullptr, 10);
    }
  }
  return 0;
}

const Member* memberWith(const std::vector<Member>& members, const char* file) {
  for (const Member& m : members) {
    if (present(m.dir / file)) return &m;
  }
  return nullptr;
}

[[noreturn]] void noController(std::string_view controller, const std::vector<Member>& members) {
  std::string c(controller);
  for (const Member& m : members) {
    if (m.version != Version::kV2 || m.dir == m.mount) continue;
    if (!contains(words(readSmall(m.mount / "cgroup.controllers")), c)) continue;
    // The hierarchy has the controller: name the nearest ancestor that has it but does not pass
    // it on to its children.
    fs::path below = m.dir;
    while (below.parent_path() != m.mount && below.has_relative_path() &&
           !contains(words(readSmall(below.parent_path() / "cgroup.controllers")), c)) {
      below = below.parent_path();
    }
    throw Error(Errc::kUnsupported,
                "cannot apply a " + c + " limit to cgroup " + quote(m.dir.string()) + ": " +
                    quote(below.parent_path().string()) + " does not enable the " + c +
                    " controller for its children (cgroup v2 allows that only in a cgroup that "
                    "holds no process)");
  }
  std::string where =
      members.empty() ? std::string("(no cgroup hierarchy)") : quote(members.front().dir.string());
  throw Error(Errc::kUnsupported,
              "cannot apply a " + c + " limit: no " + c + " controller for cgroup " + where);
}

}  // namespace

Layout Layout::detect() {
  return parse(readFile("/proc/self/cgroup"), readFile("/proc/self/mountinfo"));
}

Layout Layout::parse(std::string_view procSelfCgroup, std::string_view mountinfo) {
  Layout layout;
  auto mounts = cgroupMounts(mountinfo);
  for (std::string_view line : split(procSelfCgroup, '\n')) {
    auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view id = line.substr(0, first);
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(line.substr(second + 1));
    bool v2 = id == "0" && controllers.empty();
    auto wanted = split(controllers, ',');
    const CgroupMount* found = nullptr;
    for (const CgroupMount& m : mounts) {
      if (v2 ? m.fstype != "cgroup2" : m.fstype != "cgroup") continue;
      if (!v2 && !std::all_of(wanted.begin(), wanted.end(), [&](std::string_view c) {
            return std::find(m.superOptions.begin(), m.superOptions.end(), c) !=
                   m.superOptions.end();
          })) {
        continue;
      }
      found = &m;
      break;
    }
    if (found == nullptr) continue;
    // The mount may show a subtree (its root): the caller's path is relative to that root.
    std::string rel;
    if (found->root == "/") {
      rel = path;
    } else if (path == found->root || path.starts_with(found->root + "/")) {
      rel = path.substr(found->root.size());
    } else {
      continue;
    }
    fs::path own = fs::path(found->mountPoint) / fs::path(rel).relative_path();
    layout.hierarchies_.push_back(Hierarchy{v2 ? Version::kV2 : Version::kV1,
                                            std::string(controllers), found->mountPoint,
                                            own.lexically_normal()});
  }
  for (Hierarchy& h : layout.hierarchies_) {
    std::string s = h.own.string();
    if (s.size() > 1 && s.back() == '/') h.own = s.substr(0, s.size() - 1);
  }
  return layout;
}

bool Layout::pureV2() const {
  return !hierarchies_.empty() &&
         std::all_of(hierarchies_.begin(), hierarchies_.end(),
                     [](const Hierarchy& h) { return h.version == Version::kV2; });
}

Group Group::place(const Layout& layout, std::string_view name, bool cpuset) {
  checkName(name);
  if (layout.hierarchies().empty()) {
    throw Error(Errc::kUnsupported,
                "cannot create cgroup " + quote(name) + ": no cgroup hierarchy is mounted");
  }
  std::vector<Member> members;
  for (const Hierarchy& h : layout.hierarchies()) {
    if (!cpuset && h.version == Version::kV1 && h.controllers == "cpuset") continue;
    fs::path parent = h.version == Version::kV2 ? delegatingParent(h) : h.own;
    members.push_back(Member{h.mount, parent / std::string(name), h.version, h.controllers});
  }
  return Group(std::move(members));
}

void Group::make() const {
  for (const Member& m : members_) {
    makeDir(m.dir);
    if (m.version == Version::kV1 && mayBeCpuset(m.controllers)) initCpuset(m.dir);
  }
}

Group Group::create(const Layout& layout, std::string_view name, bool cpuset) {
  Group g = place(layout, name, cpuset);
  g.make();
  return g;
}

Group Group::fromDirs(const std::vector<std::pair<std::string, std::string>>& dirs,
                      std::string_view name) {
  std::vector<Member> members;
  for (const auto& entry : dirs) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& mountText = entry.first;
    const std::string& dirText = entry.second;
    // Normalised first ("…/pids/.." is the hierarchy's parent, no cgroup of it), checked after.
    fs::path mount = withoutTrailingSlash(fs::path(mountText).lexically_normal());
    fs::path dir = withoutTrailingSlash(fs::path(dirText).lexically_normal());
    auto refuse = [&](const std::string& why) -> Error {
      return Error(Errc::kSecurity, "cannot use cgroup " + quote(dirText) + " of hierarchy " +
                                        quote(mountText) + ": " + why);
    };
    if (!mount.is_absolute() || !dir.is_absolute()) throw refuse("not an absolute path");
    if (!std::string_view(dir.native()).starts_with(mount.native() + "/")) {
      throw refuse("not below the hierarchy's mount point");
    }
    if (!name.empty() && dir.filename() != name) {
      throw refuse("not the pod's cgroup " + quote(name));
    }
    struct statfs st;
    if (::statfs(mount.c_str(), &st) != 0) throw refuse(std::strerror(errno));
    if (st.f_type != CGROUP2_SUPER_MAGIC && st.f_type != CGROUP_SUPER_MAGIC) {
      throw refuse("no cgroup hierarchy is mounted there");
    }
    members.push_back(
        Member{mount, dir, st.f_type == CGROUP2_SUPER_MAGIC ? Version::kV2 : Version::kV1, ""});
  }
  return Group(std::move(members));
}

Group Group::fromRecord(const std::vector<std::pair<std::string, std::string>>& dirs,
                        std::string_view name) {
  Group group = fromDirs(dirs, name);
  std::string mountinfo = readFile("/proc/self/mountinfo");
  auto mounts = cgroupMounts(mountinfo);
  for (const Member& m : group.members_) {
    auto refuse = [&](const std::string& why) -> Error {
      return Error(Errc::kSecurity, "cannot use cgroup " + quote(m.dir.string()) +
                                        " of hierarchy " + quote(m.mount.string()) + ": " + why);
    };
    if (std::none_of(mounts.begin(), mounts.end(),
                     [&](const CgroupMount& c) { return c.mountPoint == m.mount.native(); })) {
      throw refuse("no cgroup hierarchy is mounted there");
    }
    // Resolved: what exists of the path holds no symlink (cgroupfs has none; a path through
    // one would lead elsewhere).
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(m.dir, ec);
    if (ec) throw refuse("cannot resolve it: " + ec.message());
    if (withoutTrailingSlash(resolved) != m.dir) {
      throw refuse("it resolves to " + quote(resolved.string()));
    }
  }
  return group;
}

Group Group::createChild(std::string_view name) const {
  checkName(name);
  std::vector<Member> members;
  for (const Member& m : members_) {
    fs::path dir = m.dir / std::string(name);
    makeDir(dir);
    if (m.version == Version::kV1 && mayBeCpuset(m.controllers)) initCpuset(dir);
    members.push_back(Member{m.mount, dir, m.version, m.controllers});
  }
  return Group(std::move(members));
}

void Group::delegate() const {
  for (const Member& m : members_) {
    if (m.version != Version::kV2) continue;
    // Those the group has; one it lacks is named by apply() if a limit needs it.
    auto available = words(readSmall(m.dir / "cgroup.controllers"));
    std::vector<std::string> have;
    for (std::string_view c : kLimited) {
      if (contains(available, c)) have.emplace_back(c);
    }
    if (int e = enableControllers(m.dir, have); e != 0) {
      std::string list;
      for (const std::string& c : have) list += (list.empty() ? "+" : " +") + c;
      throwErrno(
          e, "write " + quote(list) + " to " + quote((m.dir / "cgroup.subtree_control").string()));
    }
  }
}

Group Group::existingChild(std::string_view name) const {
  Group all = child(name);
  std::vector<Member> members;
  for (const Member& m : all.members_) {
    if (::access(m.dir.c_str(), F_OK) == 0) members.push_back(m);
  }
  return Group(std::move(members));
}

Group Group::limitable() const {
  std::vector<Member> members;
  for (const Member& m : members_) {
    bool keep = m.version == Version::kV2;
    for (std::string_view c : split(m.controllers, ',')) {
      keep = keep || c == "memory" || c == "cpu" || c == "cpuacct" || c == "pids";
    }
    if (keep) members.push_back(m);
  }
  return Group(std::move(members));
}

Group Group::child(std::string_view name) const {
  checkName(name);
  std::vector<Member> members;
  for (const Member& m : members_)
    members.push_back(Member{m.mount, m.dir / std::string(name), m.version, m.controllers});
  return Group(std::move(members));
}

void Group::apply(const Resources& r) const {
  if (r.memoryLimit) {
    if (const Member* m = memberWith(members_, "memory.max")) {
      writeValue(m->dir / "memory.max",
                 *r.memoryLimit < 0 ? "max" : std::to_string(*r.memoryLimit));
    } else if (const Member* m1 = memberWith(members_, "memory.limit_in_bytes")) {
      writeValue(m1->dir / "memory.limit_in_bytes",
                 *r.memoryLimit < 0 ? "-1" : std::to_string(*r.memoryLimit));
    } else {
      noController("memory", members_);
    }
  }
  if (r.memoryReservation) {
    if (const Member* m = memberWith(members_, "memory.low")) {
      writeValue(m->dir / "memory.low", std::to_string(std::max<int64_t>(*r.memoryReservation, 0)));
    } else if (const Member* m1 = memberWith(members_, "memory.soft_limit_in_bytes")) {
      writeValue(m1->dir / "memory.soft_limit_in_bytes",
                 *r.memoryReservation < 0 ? "-1" : std::to_string(*r.memoryReservation));
    } else {
      noController("memory", members_);
    }
  }
  if (r.cpuShares) {
    if (const Member* m = memberWith(members_, "cpu.weight")) {
      // runc's conversion of the v1 shares range [2, 262144] onto the v2 weight range [1, 10000].
      uint64_t shares = std::clamp<uint64_t>(*r.cpuShares, 2, 262144);
      writeValue(m->dir / "cpu.weight", std::to_string(1 + ((shares - 2) * 9999) / 262142));
    } else if (const Member* m1 = memberWith(members_, "cpu.shares")) {
      writeValue(m1->dir / "cpu.shares", std::to_string(*r.cpuShares));
    } else {
      noController("cpu", members_);
    }
  }
  if (r.cpuQuota || r.cpuPeriod) {
    if (const Member* m = memberWith(members_, "cpu.max")) {
      // cpu.max is "<quota|max> <period>": keep the half that is not given.
      std::string text = trim(readSmall(m->dir / "cpu.max").value_or("max 100000"));
      auto current = split(text, ' ');  // views into text
      std::string quota = current.empty() ? "max" : std::string(current[0]);
      std::string period = current.size() < 2 ? "100000" : std::string(current[1]);
      if (r.cpuQuota) quota = *r.cpuQuota < 0 ? "max" : std::to_string(*r.cpuQuota);
      if (r.cpuPeriod) period = std::to_string(*r.cpuPeriod);
      writeValue(m->dir / "cpu.max", quota + " " + period);
    } else if (const Member* m1 = memberWith(members_, "cpu.cfs_quota_us")) {
      if (r.cpuPeriod) writeValue(m1->dir / "cpu.cfs_period_us", std::to_string(*r.cpuPeriod));
      if (r.cpuQuota) {
        writeValue(m1->dir / "cpu.cfs_quota_us",
                   *r.cpuQuota < 0 ? "-1" : std::to_string(*r.cpuQuota));
      }
    } else {
      noController("cpu", members_);
    }
  }
  if (r.pidsLimit) {
    if (const Member* m = memberWith(members_, "pids.max")) {
      writeValue(m->dir / "pids.max", *r.pidsLimit <= 0 ? "max" : std::to_string(*r.pidsLimit));
    } else {
      noController("pids", members_);
    }
  }
}

void Group::join(pid_t pid) const {
  std::string value = std::to_string(pid);
  for (const Member& m : members_) writeValue(m.dir / "cgroup.procs", value);
}

std::vector<std::string> Group::procsFiles() const {
  std::vector<std::string> out;
  for (const Member& m : members_) out.push_back((m.dir / "cgroup.procs").string());
  return out;
}

std::vector<pid_t> Group::pids() const {
  std::set<pid_t> all;
  for (const Member& m : members_) {
    for (const fs::path& dir : subtree(m.dir)) {
      auto text = readSmall(dir / "cgroup.procs");
      if (!text) continue;
      for (std::string_view line : split(*text, '\n')) {
        if (line.empty()) continue;
        pid_t pid = static_cast<pid_t>(std::strtol(std::string(line).c_str(), nullptr, 10));
        if (pid > 0) all.insert(pid);
      }
    }
  }
  return {all.begin(), all.end()};
}

void killListed(const std::vector<pid_t>& listed,
                const std::function<std::vector<pid_t>()>& current) {
  std::vector<std::pair<pid_t, UniqueFd>> pinned;
  for (pid_t pid : listed) {
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (fd) {
      pinned.emplace_back(pid, std::move(fd));
    } else if (errno == ENOSYS) {
      ::kill(pid, SIGKILL);  // a kernel before 5.3: the race stays, as before pidfds
    }                        // ESRCH: gone already
  }
  if (pinned.empty()) return;
  std::vector<pid_t> now = current();
  std::sort(now.begin(), now.end());
  for (const auto& [pid, fd] : pinned) {
    if (std::binary_search(now.begin(), now.end(), pid)) {
      ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0);
    }
  }
}

void Group::kill(KillMode mode) const {
  auto deadline = Clock::now() + kKillDeadline;
  const Member* killer = nullptr;
  const Member* freezer = nullptr;
  if (mode == KillMode::kAuto) {
    for (const Member& m : members_) {
      if (m.version == Version::kV2 && present(m.dir / "cgroup.kill")) killer = &m;
    }
  }
  if (mode != KillMode::kSignal) freezer = memberWith(members_, "freezer.state");
  if (mode == KillMode::kFreezer && freezer == nullptr) {
    throw Error(Errc::kUnsupported, "cannot freeze cgroup: no freezer controller");
  }
  if (killer != nullptr) {
    // cgroup.kill also kills the descendants, and races with nothing (forks included).
    writeValue(killer->dir / "cgroup.kill", "1");
  }
  for (;;) {
    auto left = pids();
    if (left.empty()) return;
    if (Clock::now() > deadline) {
      throw Error(Errc::kIo, "cannot kill the processes of cgroup " +
                                 quote(members_.front().dir.string()) + ": " +
                                 std::to_string(left.size()) + " still running");
    }
    if (killer != nullptr) {
      std::this_thread::sleep_for(kPoll);
      continue;
    }
    if (freezer != nullptr) {
      // Frozen processes cannot fork: every process SIGKILLed while frozen dies at the thaw.
      fs::path state = freezer->dir / "freezer.state";
      writeValue(state, "FROZEN");
      auto freezeDeadline = Clock::now() + std::chrono::seconds(1);
      while (trim(readSmall(state).value_or("")) != "FROZEN" && Clock::now() < freezeDeadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      // A freeze that did not finish in time leaves processes that may still exit.
      killListed(pids(), [this] { return pids(); });
      writeValue(state, "THAWED");
    } else {
      killListed(left, [this] { return pids(); });
    }
    std::this_thread::sleep_for(kPoll);
  }
}

uint64_t Group::oomKills() const {
  for (const Member& m : members_) {
    if (auto events = readSmall(m.dir / "memory.events")) return counter(*events, "oom_kill");
    if (present(m.dir / "memory.oom_control")) {
      // v1 counts an OOM kill in the victim's own cgroup only.
      uint64_t sum = 0;
      for (const fs::path& dir : subtree(m.dir)) {
        if (auto control = readSmall(dir / "memory.oom_control")) {
          sum += counter(*control, "oom_kill");
        }
      }
      return sum;
    }
  }
  return 0;
}

void Group::remove() const {
  // Usually the group is empty by now (a pod's processes die with its PID namespace's init):
  // removing it is then one rmdir per cgroup, without reading every cgroup.procs, and without
  // listing it when it has no child cgroup left either.
  bool removed = true;
  for (const Member& m : members_) {
    if (m.dir != m.mount && (::rmdir(m.dir.c_str()) == 0 || errno == ENOENT)) continue;
    auto dirs = subtree(m.dir);
    for (auto it = dirs.rbegin(); it != dirs.rend() && removed; ++it) {
      if (*it == m.mount) continue;
      if (::rmdir(it->c_str()) != 0 && errno != ENOENT) removed = false;
    }
    if (!removed) break;
  }
  if (removed) return;
  kill();
  auto deadline = Clock::now() + kKillDeadline;
  for (const Member& m : members_) {
    auto dirs = subtree(m.dir);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      if (*it == m.mount) continue;  // never the hierarchy's root
      while (::rmdir(it->c_str()) != 0) {
        if (errno == ENOENT) break;
        if (errno != EBUSY || Clock::now() > deadline) {
          throwErrno("remove cgroup " + quote(it->string()));
        }
        std::this_thread::sleep_for(kPoll);
      }
    }
  }
}

int joinProcs(const char* const* files, size_t count, size_t* failed) noexcept {
  for (size_t i = 0; i < count; ++i) {
    int fd = ::open(files[i], O_WRONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : ::write(fd, "0", 1);
    int err = errno;
    if (fd >= 0) ::close(fd);
    if (n != 1) {
      if (failed != nullptr) *failed = i;
      return err;
    }
  }
  return 0;
}

std::string appCgroupName(std::string_view app) {
  // An AC name may hold '/', which no cgroup name can; '_' is not in AC names, so this is 1:1.
  std::string out = "app-";
  for (char c : app) out += c == '/' ? '_' : c;
  return out;
}

namespace {

// The warm-up's processes share their caller's memory (CLONE_VM), whose thread-local errno is
// the caller's too: they make their system calls without the C library, which would set it.
#if defined(__x86_64__)
long rawSyscall(long n, long a = 0, long b = 0, long c = 0) noexcept {
  long ret;
  asm volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}
constexpr bool kRawSyscalls = true;
#elif defined(__aarch64__)
long rawSyscall(long n, long a = 0, long b = 0, long c = 0) noexcept {
  register long x8 asm("x8") = n;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory", "cc");
  return x0;
}
constexpr bool kRawSyscalls = true;
#else
long rawSyscall(long, long = 0, long = 0, long = 0) noexcept { return -ENOSYS; }
constexpr bool kRawSyscalls = false;
#endif

struct WarmUp {
  char procs[4096];  // the cgroup.procs file the mover writes "0" into
  alignas(16) char moverStack[16384];
  alignas(16) char middleStack[16384];
};

int warmUpMover(void* arg) {
  auto* w = static_cast<WarmUp*>(arg);
  rawSyscall(SYS_close_range, 0, ~0U, 0);  // holds nothing of the caller's: no pipe, no lock
  long fd = rawSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(w->procs), O_WRONLY);
  if (fd >= 0) rawSyscall(SYS_write, fd, reinterpret_cast<long>("0"), 1);
  rawSyscall(SYS_exit, 0);
  return 0;
}

// Starts the mover and ends, so that the mover is orphaned (its new parent, the machine's init
// or a subreaper, reaps it) and the caller reaps this one.
int warmUpMiddle(void* arg) {
  auto* w = static_cast<WarmUp*>(arg);
  ::clone(warmUpMover, w->moverStack + sizeof w->moverStack, CLONE_VM | SIGCHLD, w);
  rawSyscall(SYS_exit, 0);
  return 0;
}

}  // namespace

void startMoveWarmUp() noexcept {
  if (!kRawSyscalls) return;
  // Never freed: the mover may still read it after the caller went on (or exec'd: the mover
  // keeps the memory it shares alive).
  static WarmUp* w = nullptr;
  if (w != nullptr) return;
  try {
    Layout layout = Layout::detect();
    if (layout.hierarchies().empty()) return;
    std::string procs = (layout.hierarchies().front().own / "cgroup.procs").string();
    if (procs.size() >= sizeof WarmUp::procs) return;
    w = new WarmUp;
    std::memcpy(w->procs, procs.c_str(), procs.size() + 1);
  } catch (...) {
    return;
  }
  // The caller waits only for the middle process's clone (CLONE_VFORK: its memory is not
  // copied, and it is back as soon as the middle one ends), never for the move itself.
  pid_t middle = ::clone(warmUpMiddle, w->middleStack + sizeof w->middleStack,
                         CLONE_VM | CLONE_VFORK | SIGCHLD, w);
  if (middle < 0) return;
  while (::waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace ferry::cgroup
