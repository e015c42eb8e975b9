#include "stage1/kvm/stream.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace ferry::kvm {

namespace {

// What one connection may hold for writing: a peer that does not read is cut off past this.
constexpr size_t kMaxPending = 1 << 20;

}  // namespace

Streams::~Streams() {
  for (auto& [id, s] : streams_) ::close(s.fd);
}

void Streams::add(uint32_t session, int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  // What comes as one frame goes out at once: no Nagle delay behind a delayed ACK (TCP only).
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (auto it = streams_.find(session); it != streams_.end()) ::close(it->second.fd);
  streams_[session] = Stream{fd, "", false};
}

void Streams::onFrame(int channel, const Frame& f) {
  auto it = streams_.find(f.session);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  if (f.type == close_) {
    s.closing = true;
  } else if (f.type == data_) {
    s.pending += f.data;
    if (s.pending.size() > kMaxPending) return end(channel, f.session, true);
  } else {
    return;
  }
  flush(channel, f.session, s);
}

void Streams::flush(int channel, uint32_t session, Stream& s) {
  while (!s.pending.empty()) {
    ssize_t n = ::write(s.fd, s.pending.data(), s.pending.size());
    if (n > 0) {
      s.pending.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      return end(channel, session, true);
    }
  }
  if (s.closing) end(channel, session, false);
}

void Streams::end(int channel, uint32_t session, bool tell) {
  auto it = streams_.find(session);
  if (it == streams_.end()) return;
  ::close(it->second.fd);
  streams_.erase(it);
  if (tell) writeFrame(channel, close_, session, "");
}

void Streams::poll(std::vector<pollfd>& p) {
  polled_.clear();
  for (auto& [id, s] : streams_) {
    short events = static_cast<short>((s.closing ? 0 : POLLIN) | (s.pending.empty() ? 0 : POLLOUT));
    p.push_back({s.fd, events, 0});
    polled_.push_back(id);
  }
}

void Streams::handle(int channel, const std::vector<pollfd>& p, size_t first) {
  for (size_t i = 0; i < polled_.size() && first + i < p.size(); ++i) {
    short ev = p[first + i].revents;
    if (ev == 0) continue;
    auto it = streams_.find(polled_[i]);
    if (it == streams_.end()) continue;
    Stream& s = it->second;
    if (ev & POLLOUT) {
      flush(channel, polled_[i], s);
      if (!streams_.count(polled_[i])) continue;
    }
    if (!(ev & (POLLIN | POLLHUP | POLLERR)) || s.closing) continue;
    char buf[16384];
    ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n > 0) {
      writeFrame(channel, data_, polled_[i], std::string_view(buf, static_cast<size_t>(n)));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      end(channel, polled_[i], true);
    }
  }
  polled_.clear();
}

void Streams::closeAll(int channel) {
  while (!streams_.empty()) end(channel, streams_.begin()->first, true);
}

}  // namespace ferry::kvm
