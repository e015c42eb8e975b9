#include "stage2/init/journal_sink.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

namespace ferry::init {

bool JournalSink::hasRoomFor(size_t size) const {
  return queue_.empty() || queuedBytes_ + size <= maxQueued_;
}

int JournalSink::sendOne(const std::string& data) {
  for (;;) {
    if (::send(fd_, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 1;
    if (errno == EINTR) continue;
    // ENOBUFS: the sender's buffer, as full as the queue is for EAGAIN.
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? 0 : -1;
  }
}

bool JournalSink::submit(std::string entry, uint64_t lines, bool force) {
  if (queue_.empty()) {
    int r = sendOne(entry);
    if (r > 0) return true;
    if (r < 0) {
      lost_ += lines;
      return true;
    }
  } else if (!force && queuedBytes_ + entry.size() > maxQueued_) {
    return false;
  }
  queuedBytes_ += entry.size();
  queue_.push_back(Entry{std::move(entry), lines});
  return true;
}

void JournalSink::drain() {
  while (!queue_.empty()) {
    int r = sendOne(queue_.front().data);
    if (r == 0) return;
    if (r < 0) lost_ += queue_.front().lines;
    queuedBytes_ -= queue_.front().data.size();
    queue_.pop_front();
  }
}

uint64_t JournalSink::finish(int idleMs) {
  for (;;) {
    drain();
    if (queue_.empty()) break;
    pollfd p{fd_, POLLOUT, 0};
    int n = ::poll(&p, 1, idleMs);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // nothing taken for idleMs: the journal does not read
  }
  uint64_t undelivered = lost_;
  for (const Entry& e : queue_) undelivered += e.lines;
  queue_.clear();
  queuedBytes_ = 0;
  lost_ = 0;
  return undelivered;
}

}  // namespace ferry::init
