// The pod init's side of the journal log driver (--log-driver=journal, stage1/ABI.md §5
// "systemd"): datagram sockets connected to journald, which every app's LogStream sends its
// entries through. Under systemd there are two, each getting every entry: the pod's own journal
// (the journald namespace ferry-<uuid>, read by `journalctl -M`) and the system's (which
// attributes each entry to the pod's unit, read by `journalctl -u`).
//
// journald's socket queues only so many datagrams (net.unix.max_dgram_qlen, the sender's
// buffer); a journald that does not read (stopped, stalled on a disk) would block a plain send,
// and with it the init's whole loop: no app's output read, no child reaped, no stop obeyed. So
// the sink never blocks. What a socket does not take at once waits in that journal's queue of at
// most maxQueuedBytes, sent in order as soon as poll(2) says the socket takes more (pendingFds(),
// drain()); an entry beyond that is refused for that journal (submit() is false) and its stream
// counts it, and says how many in one entry once there is room again (LogStream). One journal
// that stalls never holds back the other. At the pod's end finish() waits for each journal only
// while it takes something.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::init {

class JournalSink {
 public:
  static constexpr size_t kMaxQueuedBytes = 1 << 20;

  // fds: the connected datagram sockets (not owned), one a journal.
  explicit JournalSink(std::vector<int> fds, size_t maxQueuedBytes = kMaxQueuedBytes);
  explicit JournalSink(int fd, size_t maxQueuedBytes = kMaxQueuedBytes)
      : JournalSink(std::vector<int>{fd}, maxQueuedBytes) {}
  JournalSink(const JournalSink&) = delete;
  JournalSink& operator=(const JournalSink&) = delete;

  // How many journals, numbered 0, 1, … in the order of the constructor's fds.
  size_t journals() const { return journals_.size(); }
  // Entries wait for room in these sockets: poll them for POLLOUT, then drain().
  std::vector<int> pendingFds() const;
  bool pending() const { return !pendingFds().empty(); }
  // Whether journal `j` would take an entry of `size` bytes now (sent or queued).
  bool hasRoomFor(size_t j, size_t size) const;

  // Sends `entry` (one native-protocol datagram standing for `lines` lines of output) to journal
  // `j`, or queues it behind those waiting. False, and nothing done, when that queue has no room
  // for it, unless `force` (a short entry that must follow the ones before it: a count of
  // dropped lines).
  bool submit(size_t j, std::string entry, uint64_t lines = 1, bool force = false);
  // To journal 0: the sink of one journal.
  bool submit(std::string entry, uint64_t lines = 1, bool force = false) {
    return submit(0, std::move(entry), lines, force);
  }
  // Sends what waits until each socket would block. An entry a socket refuses for any other
  // reason (journald gone) is lost, counted in lost().
  void drain();
  // At the pod's end: sends what waits, waiting for room while a journal takes something, and
  // gives up on a journal after idleMs without progress. Returns, for each journal, the lines
  // that never reached it (those still queued, and those lost).
  std::vector<uint64_t> finish(int idleMs);
  uint64_t lost(size_t j) const { return journals_[j].lost; }

  // FERRY_JOURNAL_FD's value: descriptors separated by commas ("5" or "5,6"); empty when it is
  // not that (a descriptor below 3 or twice, a stray character).
  static std::vector<int> parseFds(std::string_view value);
  // FERRY_JOURNAL_SOCKETS's value (the nspawn stage1: its init inherits no socket): absolute
  // paths of journal sockets separated by commas, each connected here (close-on-exec). Empty,
  // and `error` says why, when one cannot be.
  static std::vector<int> connectPaths(std::string_view value, std::string& error);

 private:
  struct Entry {
    std::string data;
    uint64_t lines;
  };
  struct Journal {
    int fd;
    std::deque<Entry> queue;
    size_t queuedBytes = 0;
    uint64_t lost = 0;
  };
  void drain(Journal& j);

  std::vector<Journal> journals_;
  size_t maxQueued_;
};

}  // namespace ferry::init
