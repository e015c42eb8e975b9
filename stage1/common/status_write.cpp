// The status writer, free of any JSON library (the pod init links it).
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "stage1/common/status.hpp"

namespace ferry::stage1 {

namespace {

void appendString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

template <typename T>
std::string numberOr(const std::optional<T>& v) {
  return v ? std::to_string(*v) : "null";
}

bool writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string statusText(const AppStatus& s) {
  std::string out = "{\"name\":";
  appendString(out, s.name);
  out += ",\"state\":";
  appendString(out, s.state);
  out += ",\"pid\":" + numberOr(s.pid);
  out += ",\"createdAt\":" + numberOr(s.createdAt);
  out += ",\"startedAt\":" + numberOr(s.startedAt);
  out += ",\"finishedAt\":" + numberOr(s.finishedAt);
  out += ",\"exitCode\":" + numberOr(s.exitCode);
  out += ",\"signal\":";
  if (s.signal) {
    appendString(out, *s.signal);
  } else {
    out += "null";
  }
  out += ",\"oomKilled\":";
  out += s.oomKilled ? "true" : "false";
  out += "}\n";
  return out;
}

// Replacing a file with rename(2) makes ext4 write the new one out at once (auto_da_alloc) and,
// on a discard mount, wait for the old one's blocks to be discarded; exchanging the two names
// and unlinking the old version (written moments ago, still without blocks) does neither.
bool writeStatusAt(int dirFd, const AppStatus& s) noexcept {
  try {
    std::string name = s.name + ".json";
    std::string tmp = name + ".tmp";
    std::string data = statusText(s);
    ::unlinkat(dirFd, tmp.c_str(), 0);
    int fd =
        ::openat(dirFd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = writeAll(fd, data);
    ok = ::close(fd) == 0 && ok;
    if (!ok) return false;
    if (::renameat2(dirFd, tmp.c_str(), dirFd, name.c_str(), RENAME_EXCHANGE) == 0) {
      ::unlinkat(dirFd, tmp.c_str(), 0);
      return true;
    }
    // The first version (nothing to exchange with), or a filesystem without RENAME_EXCHANGE.
    return ::renameat(dirFd, tmp.c_str(), dirFd, name.c_str()) == 0;
  } catch (...) {
    errno = ENOMEM;
    return false;
  }
}

int64_t nowNs() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace ferry::stage1
