#include "stage2/exec.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "common/error.hpp"
#include "common/rlimits.hpp"

namespace ferry::stage2 {

std::optional<int> rlimitResource(std::string_view name) { return ferry::rlimitResource(name); }

namespace {

std::string limitText(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

bool hasEffective(cap_value_t cap) {
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return false;
  cap_flag_value_t v = CAP_CLEAR;
  cap_get_flag(caps, cap, CAP_EFFECTIVE, &v);
  cap_free(caps);
  return v == CAP_SET;
}

}  // namespace

void applyRlimits(const std::vector<oci::Rlimit>& rlimits) {
  for (const oci::Rlimit& r : rlimits) {
    std::optional<int> res = rlimitResource(r.type);
    if (!res) throw Error(Errc::kUnsupported, "cannot set " + r.type + ": unknown here");
    std::string what =
        "set " + r.type + " to soft " + limitText(r.soft) + ", hard " + limitText(r.hard);
    if (r.soft > r.hard) {
      throw Error(Errc::kInvalid, "cannot " + what + ": the soft limit is above the hard one");
    }
    struct rlimit lim = {static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (setrlimit(*res, &lim) == 0) continue;
    int err = errno;
    struct rlimit cur = {};
    getrlimit(*res, &cur);
    if (err == EPERM && lim.rlim_max > cur.rlim_max) {
      throw Error(Errc::kLimit,
                  "cannot " + what + ": the hard limit is " + limitText(cur.rlim_max) +
                      " and raising it needs CAP_SYS_RESOURCE, which ferry-stage2 " +
                      (hasEffective(CAP_SYS_RESOURCE) ? "has but the kernel refused"
                                                      : "does not have (the bounding set here "
                                                        "lacks it)"));
    }
    if (err == EPERM && *res == RLIMIT_NOFILE) {
      throw Error(Errc::kLimit, "cannot " + what + ": above fs.nr_open (" + strerror(err) + ")");
    }
    throwErrno(err, what);
  }
}

std::optional<std::string> envValue(const std::vector<std::string>& env, std::string_view name) {
  std::optional<std::string> out;
  for (const std::string& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      out = e.substr(name.size() + 1);
    }
  }
  return out;
}

std::string findExecutable(const std::string& argv0, std::string_view path) {
  if (argv0.empty()) throw Error(Errc::kInvalid, "the command is empty");
  if (argv0.find('/') != std::string::npos) return argv0;
  int firstError = ENOENT;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string_view::npos) j = path.size();
    std::string dir(path.substr(i, j - i));
    i = j + 1;
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + argv0;
    struct stat st;
    if (stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (firstError == ENOENT) firstError = errno;
  }
  throw Error(Errc::kNotFound, "cannot find " + quote(argv0) + " in PATH " + quote(path) + ": " +
                                   strerror(firstError));
}

void closeExtraFdsOnExec(unsigned first) {
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Before Linux 5.11: walk /proc/self/fd.
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return;
  int self = dirfd(d);
  while (struct dirent* e = readdir(d)) {
    int fd = atoi(e->d_name);
    if (fd >= static_cast<int>(first) && fd != self) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(d);
}

}  // namespace ferry::stage2
