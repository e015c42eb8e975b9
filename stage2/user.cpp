#include "stage2/user.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/error.hpp"
#include "stage2/in_root.hpp"

namespace ferry::stage2 {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (true) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) {
      out.push_back(s.substr(i));
      return out;
    }
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
}

// Lines that carry an entry: not blank, not a comment, not a NIS compat line.
template <class F>
void forEachLine(std::string_view text, F&& f) {
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;
    f(line);
  }
}

// The app's file as a regular file only: the image or the app chose what is there, and a FIFO
// would block the open (ferry-stage2 at the start, `ferry enter`'s helper) until someone in the
// pod writes it; O_NONBLOCK opens one at once, O_NOCTTY keeps a terminal from becoming ours.
std::string readInRoot(int rootFd, std::string_view path) {
  UniqueFd fd = openInRoot(rootFd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) throwErrno("open " + quote(path) + " of the app");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(path) + " of the app");
  if (!S_ISREG(st.st_mode)) {
    throw Error(Errc::kInvalid, "cannot read " + quote(path) + " of the app: not a regular file");
  }
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwErrno("read " + quote(path) + " of the app");
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (16u << 20)) {
      throw Error(Errc::kLimit, "cannot read " + quote(path) + " of the app: larger than 16 MiB");
    }
  }
}

struct stat statInRoot(int rootFd, std::string_view path) {
  UniqueFd fd = openInRoot(rootFd, path, O_PATH);
  if (!fd) throwErrno("find " + quote(path) + " in the app's root");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(path) + " in the app's root");
  return st;
}

}  // namespace

std::optional<uint32_t> parseId(std::string_view s) {
  uint32_t v = 0;
  if (s.empty() || s.size() > 10) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == UINT32_MAX) return std::nullopt;
  return v;
}

std::vector<PasswdEntry> parsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  forEachLine(text, [&](std::string_view line) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string_view> f = split(line, ':');
    if (f.size() < 4 || f[0].empty()) return;
    std::optional<uint32_t> uid = parseId(f[2]);
    std::optional<uint32_t> gid = parseId(f[3]);
    if (!uid || !gid) return;
    out.push_back({std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : ""});
  });
  return out;
}

std::vector<GroupEntry> parseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  forEachLine(text, [&](std::string_view line) {
    // name:password:gid:member,member
    std::vector<std::string_view> f = split(line, ':');
    if (f.size() < 3 || f[0].empty()) return;
    std::optional<uint32_t> gid = parseId(f[2]);
    if (!gid) return;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() > 3 && !f[3].empty()) {
      for (std::string_view m : split(f[3], ',')) {
        if (!m.empty()) g.members.emplace_back(m);
      }
    }
    out.push_back(std::move(g));
  });
  return out;
}

Credentials resolveCredentials(const oci::RuntimeSpec& spec, int rootFd) {
  Credentials c;
  if (spec.process) {
    c.uid = spec.process->user.uid;
    c.gid = spec.process->user.gid;
    c.additionalGids.assign(spec.process->user.additionalGids.begin(),
                            spec.process->user.additionalGids.end());
  }
  if (auto it = spec.annotations.find(std::string(kUserAnnotation)); it != spec.annotations.end()) {
    const std::string& user = it->second;
    try {
      if (std::optional<uint32_t> n = parseId(user)) {
        c.uid = *n;
      } else if (!user.empty() && user[0] == '/') {
        c.uid = statInRoot(rootFd, user).st_uid;
      } else {
        std::vector<PasswdEntry> entries = parsePasswd(readInRoot(rootFd, "/etc/passwd"));
        auto e = std::find_if(entries.begin(), entries.end(),
                              [&](const PasswdEntry& p) { return p.name == user; });
        if (e == entries.end()) {
          throw Error(Errc::kNotFound, "no such user in the app's \"/etc/passwd\"");
        }
        c.uid = e->uid;
      }
    } catch (const std::exception& e) {
      throw Error(Errc::kNotFound, "cannot resolve user " + quote(user) + ": " + e.what());
    }
  }
  if (auto it = spec.annotations.find(std::string(kGroupAnnotation));
      it != spec.annotations.end()) {
    const std::string& group = it->second;
    try {
      if (std::optional<uint32_t> n = parseId(group)) {
        c.gid = *n;
      } else if (!group.empty() && group[0] == '/') {
        c.gid = statInRoot(rootFd, group).st_gid;
      } else {
        std::vector<GroupEntry> entries = parseGroup(readInRoot(rootFd, "/etc/group"));
        auto e = std::find_if(entries.begin(), entries.end(),
                              [&](const GroupEntry& g) { return g.name == group; });
        if (e == entries.end()) {
          throw Error(Errc::kNotFound, "no such group in the app's \"/etc/group\"");
        }
        c.gid = e->gid;
      }
    } catch (const std::exception& e) {
      throw Error(Errc::kNotFound, "cannot resolve group " + quote(group) + ": " + e.what());
    }
  }
  return c;
}

void switchCredentials(const Credentials& creds) {
  if (setgroups(creds.additionalGids.size(), creds.additionalGids.data()) != 0) {
    throwErrno("set the supplementary groups");
  }
  if (setresgid(creds.gid, creds.gid, creds.gid) != 0) {
    throwErrno("set group id " + std::to_string(creds.gid));
  }
  if (setresuid(creds.uid, creds.uid, creds.uid) != 0) {
    throwErrno("set user id " + std::to_string(creds.uid));
  }
}

}  // namespace ferry::stage2
