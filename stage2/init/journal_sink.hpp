// The pod init's side of the journal log driver (--log-driver=journal, stage1/ABI.md §5
// "systemd"): a datagram socket connected to journald, which every app's LogStream sends its
// entries through.
//
// journald's socket queues only so many datagrams (net.unix.max_dgram_qlen, the sender's
// buffer); a journald that does not read (stopped, stalled on a disk) would block a plain send,
// and with it the init's whole loop: no app's output read, no child reaped, no stop obeyed. So
// the sink never blocks. What the socket does not take at once waits in a queue of at most
// maxQueuedBytes, sent in order as soon as poll(2) says the socket takes more (pending(),
// drain()); an entry beyond that is refused (submit() is false) and its stream counts it, and
// says how many in one entry once there is room again (LogStream). At the pod's end finish()
// waits for the journal only while it takes something.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace ferry::init {

class JournalSink {
 public:
  static constexpr size_t kMaxQueuedBytes = 1 << 20;

  // fd: the connected datagram socket (not owned).
  explicit JournalSink(int fd, size_t maxQueuedBytes = kMaxQueuedBytes)
      : fd_(fd), maxQueued_(maxQueuedBytes) {}
  JournalSink(const JournalSink&) = delete;
  JournalSink& operator=(const JournalSink&) = delete;

  int fd() const { return fd_; }
  // Entries wait for room in the socket: poll fd() for POLLOUT, then drain().
  bool pending() const { return !queue_.empty(); }
  // Whether an entry of `size` bytes would be taken now (sent or queued).
  bool hasRoomFor(size_t size) const;

  // Sends `entry` (one native-protocol datagram standing for `lines` lines of output), or queues
  // it behind those waiting. False, and nothing done, when the queue has no room for it, unless
  // `force` (a short entry that must follow the ones before it: a count of dropped lines).
  bool submit(std::string entry, uint64_t lines = 1, bool force = false);
  // Sends what waits until the socket would block. An entry the socket refuses for any other
  // reason (journald gone) is lost, counted in lost().
  void drain();
  // At the pod's end: sends what waits, waiting for room while the journal takes something, and
  // gives up after idleMs without progress. Returns the lines that never reached the journal
  // (those still queued, and those lost).
  uint64_t finish(int idleMs);
  uint64_t lost() const { return lost_; }

 private:
  struct Entry {
    std::string data;
    uint64_t lines;
  };
  // One send without blocking: 1 sent, 0 the socket is full, -1 refused (lost).
  int sendOne(const std::string& data);

  int fd_;
  size_t maxQueued_;
  std::deque<Entry> queue_;
  size_t queuedBytes_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace ferry::init
