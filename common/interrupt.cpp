#include "common/interrupt.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace ferry::interrupt {

namespace {

constexpr size_t kSlots = 128;
// Each slot owns a malloc'd copy of a path; whoever exchanges it out (untrack, or the handler)
// owns it from then on (the handler never frees: the process is ending).
std::atomic<char*> slots[kSlots];
std::atomic<pid_t> installer{0};

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Removes name (relative to dirFd) and, for a directory, everything under it, to a bounded
// depth; async-signal-safe. True when name is gone.
bool removeSafely(int dirFd, const char* name, int depth) {
  if (::unlinkat(dirFd, name, 0) == 0 || errno == ENOENT) return true;
  if (depth > 48) return false;
  int fd = ::openat(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  alignas(8) char buf[2048];
  // Entries removed while reading may shift the directory's offsets: read it again from the
  // start as long as a pass removed something.
  for (bool removed = true; removed;) {
    removed = false;
    if (::lseek(fd, 0, SEEK_SET) < 0) break;
    for (;;) {
      long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<LinuxDirent64*>(buf + off);
        off += d->d_reclen;
        if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
        if (removeSafely(fd, d->d_name, depth + 1)) removed = true;
      }
    }
  }
  ::close(fd);
  return ::unlinkat(dirFd, name, AT_REMOVEDIR) == 0 || errno == ENOENT;
}

void onSignal(int sig) {
  int saved = errno;
  if (::getpid() == installer.load()) {
    for (auto& s : slots) {
      char* p = s.exchange(nullptr);
      if (p != nullptr) removeSafely(AT_FDCWD, p, 0);
    }
  }
  // Then the signal's default action: it is blocked while this handler runs and is delivered
  // again as soon as the handler returns.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
  errno = saved;
}

}  // namespace

void track(std::string_view path) noexcept {
  if (path.empty()) return;
  char* copy = static_cast<char*>(std::malloc(path.size() + 1));
  if (copy == nullptr) return;
  std::memcpy(copy, path.data(), path.size());
  copy[path.size()] = '\0';
  for (auto& s : slots) {
    char* expected = nullptr;
    if (s.compare_exchange_strong(expected, copy)) return;
  }
  std::free(copy);  // full: `ferry image gc` collects what an interrupted process leaves
}

void untrack(std::string_view path) noexcept {
  if (path.empty()) return;
  for (auto& s : slots) {
    char* p = s.load();
    if (p == nullptr || std::string_view(p) != path) continue;
    if (s.compare_exchange_strong(p, nullptr)) {
      std::free(p);
      return;
    }
  }
}

void removeTrackedOnSignals() noexcept {
  installer.store(::getpid());
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    // A signal ignored by whoever started ferry (nohup) stays ignored.
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &sa, nullptr);
  }
}

}  // namespace ferry::interrupt
