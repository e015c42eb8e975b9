#include "stage2/init/journal_sink.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace ferry::init {

namespace {

// One send without blocking: 1 sent, 0 the socket is full, -1 refused (lost).
int sendOne(int fd, const std::string& data) {
  for (;;) {
    if (::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 1;
    if (errno == EINTR) continue;
    // ENOBUFS: the sender's buffer, as full as the queue is for EAGAIN.
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? 0 : -1;
  }
}

}  // namespace

JournalSink::JournalSink(std::vector<int> fds, size_t maxQueuedBytes) : maxQueued_(maxQueuedBytes) {
  for (int fd : fds) journals_.push_back(Journal{fd, {}, 0, 0});
}

std::vector<int> JournalSink::parseFds(std::string_view value) {
  std::vector<int> fds;
  if (value.empty()) return fds;
  for (;;) {
    size_t end = value.find(',');
    std::string_view one = value.substr(0, end);
    if (one.empty() || one.size() > 9) return {};
    int fd = 0;
    for (char c : one) {
      if (c < '0' || c > '9') return {};
      fd = fd * 10 + (c - '0');
    }
    if (fd < 3 || std::find(fds.begin(), fds.end(), fd) != fds.end()) return {};
    fds.push_back(fd);
    if (end == std::string_view::npos) return fds;
    value.remove_prefix(end + 1);
  }
}

std::vector<int> JournalSink::connectPaths(std::string_view value, std::string& error) {
  std::vector<int> fds;
  auto fail = [&](const std::string& why) {
    for (int fd : fds) ::close(fd);
    error = why;
    return std::vector<int>{};
  };
  for (bool more = !value.empty(); more;) {
    size_t end = value.find(',');
    std::string path(value.substr(0, end));
    more = end != std::string_view::npos;
    if (more) value.remove_prefix(end + 1);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path[0] != '/' || path.size() >= sizeof addr.sun_path) {
      return fail("not a socket path: \"" + path + "\"");
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      int e = errno;
      ::close(fd);
      return fail("connect to \"" + path + "\": " + std::strerror(e));
    }
    fds.push_back(fd);
  }
  if (fds.empty()) error = "no socket path";
  return fds;
}

std::vector<int> JournalSink::pendingFds() const {
  std::vector<int> fds;
  for (const Journal& j : journals_) {
    if (!j.queue.empty()) fds.push_back(j.fd);
  }
  return fds;
}

bool JournalSink::hasRoomFor(size_t j, size_t size) const {
  const Journal& q = journals_[j];
  return q.queue.empty() || q.queuedBytes + size <= maxQueued_;
}

bool JournalSink::submit(size_t j, std::string entry, uint64_t lines, bool force) {
  Journal& q = journals_[j];
  if (q.queue.empty()) {
    int r = sendOne(q.fd, entry);
    if (r > 0) return true;
    if (r < 0) {
      q.lost += lines;
      return true;
    }
  } else if (!force && q.queuedBytes + entry.size() > maxQueued_) {
    return false;
  }
  q.queuedBytes += entry.size();
  q.queue.push_back(Entry{std::move(entry), lines});
  return true;
}

void JournalSink::drain(Journal& j) {
  while (!j.queue.empty()) {
    int r = sendOne(j.fd, j.queue.front().data);
    if (r == 0) return;
    if (r < 0) j.lost += j.queue.front().lines;
    j.queuedBytes -= j.queue.front().data.size();
    j.queue.pop_front();
  }
}

void JournalSink::drain() {
  for (Journal& j : journals_) drain(j);
}

std::vector<uint64_t> JournalSink::finish(int idleMs) {
  using Clock = std::chrono::steady_clock;
  // Each journal is waited for until idleMs have passed since it last took something.
  struct Waiting {
    Journal* journal;
    Clock::time_point deadline;
  };
  auto idle = std::chrono::milliseconds(idleMs);
  std::vector<Waiting> waiting;
  for (Journal& j : journals_) waiting.push_back({&j, Clock::now() + idle});
  for (;;) {
    auto now = Clock::now();
    auto first = Clock::time_point::max();
    std::vector<pollfd> fds;
    for (auto it = waiting.begin(); it != waiting.end();) {
      size_t before = it->journal->queue.size();
      drain(*it->journal);
      if (it->journal->queue.size() < before) it->deadline = now + idle;
      if (it->journal->queue.empty() || now >= it->deadline) {
        it = waiting.erase(it);  // all sent, or it took nothing for idleMs: it does not read
        continue;
      }
      fds.push_back({it->journal->fd, POLLOUT, 0});
      first = std::min(first, it->deadline);
      ++it;
    }
    if (waiting.empty()) break;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(first - now).count();
    if (::poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) break;
  }
  std::vector<uint64_t> undelivered;
  for (Journal& j : journals_) {
    uint64_t n = j.lost;
    for (const Entry& e : j.queue) n += e.lines;
    undelivered.push_back(n);
    j.queue.clear();
    j.queuedBytes = 0;
    j.lost = 0;
  }
  return undelivered;
}

}  // namespace ferry::init
