// One output stream (stdout or stderr) of one app, as the pod init relays it.
//
// The app writes into a pipe; the init reads what is there without blocking and copies it
// verbatim into the app's log file (logs/<app>.log) and onto its own stdout or stderr, each line
// prefixed by "[app] " when several apps share the terminal (a partial line waits for its end,
// or for flush() when the pod ends). With the journal log driver each line is an entry of the
// systemd journal instead (sendToJournal), and neither the log file nor the terminal gets it.
// Lines a journal has no room for (JournalSink) are counted, and the count is an entry of its
// own in that journal (PRIORITY 4, FERRY_LINES_DROPPED=N) before the next line that has room, or
// at flush(); each journal of the sink counts its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stage2/init/journal_sink.hpp"

namespace ferry::init {

class LogStream {
 public:
  LogStream() = default;
  // readFd is owned; logFd (-1: none), outFd and timesFd are not. timesFd (-1: none): the log's
  // times file (logs/<app>.log.times, stage1/ABI.md §1), which gets "OFFSET SECONDS.NANOS\n"
  // for each chunk written to the log: the offset in the log where it starts, and when.
  LogStream(int readFd, int logFd, int outFd, std::string prefix, int timesFd = -1);
  ~LogStream();
  LogStream(LogStream&& o) noexcept;
  LogStream& operator=(LogStream&& o) noexcept;
  LogStream(const LogStream&) = delete;
  LogStream& operator=(const LogStream&) = delete;

  int fd() const { return readFd_; }
  // Copies whatever the pipe holds now. Returns false once the pipe is at end of file (every
  // writer closed it); the stream is then closed and fd() is -1.
  bool pump();
  // Writes out a partial last line (with a newline, so the next prefix starts a line).
  void flush();
  // --log-driver=journal: each line goes to the journal (through `sink`, not owned) as one entry
  // of `fields` ("NAME=value\n"…), PRIORITY=`priority` and MESSAGE; no log file, no copy on
  // outFd.
  void sendToJournal(JournalSink* sink, std::string fields, int priority);

 private:
  void emit(const char* data, size_t size);
  void journalLine(std::string_view line);
  std::string droppedEntry(uint64_t dropped) const;
  void close();

  int readFd_ = -1;
  int logFd_ = -1;
  int outFd_ = -1;
  int timesFd_ = -1;
  std::string prefix_;
  std::string partial_;
  JournalSink* journal_ = nullptr;
  std::string journalFields_;  // without PRIORITY
  int priority_ = 6;
  std::vector<uint64_t> dropped_;  // for each journal, lines it had no room for, not yet said
};

// write(2) of everything, retrying EINTR and short writes; false on any other error.
bool writeFully(int fd, const char* data, size_t size) noexcept;

}  // namespace ferry::init
