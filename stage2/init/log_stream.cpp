#include "stage2/init/log_stream.hpp"

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>

namespace ferry::init {

namespace {
constexpr size_t kMaxLine = 64 * 1024;
}  // namespace

bool writeFully(int fd, const char* data, size_t size) noexcept {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

LogStream::LogStream(int readFd, int logFd, int outFd, std::string prefix, int timesFd)
    : readFd_(readFd),
      logFd_(logFd),
      outFd_(outFd),
      timesFd_(timesFd),
      prefix_(std::move(prefix)) {}

LogStream::~LogStream() { close(); }

LogStream::LogStream(LogStream&& o) noexcept
    : readFd_(std::exchange(o.readFd_, -1)),
      logFd_(o.logFd_),
      outFd_(o.outFd_),
      timesFd_(o.timesFd_),
      prefix_(std::move(o.prefix_)),
      partial_(std::move(o.partial_)),
      journal_(o.journal_),
      journalFields_(std::move(o.journalFields_)),
      priority_(o.priority_),
      dropped_(std::move(o.dropped_)) {}

LogStream& LogStream::operator=(LogStream&& o) noexcept {
  if (this != &o) {
    close();
    readFd_ = std::exchange(o.readFd_, -1);
    logFd_ = o.logFd_;
    outFd_ = o.outFd_;
    timesFd_ = o.timesFd_;
    prefix_ = std::move(o.prefix_);
    partial_ = std::move(o.partial_);
    journal_ = o.journal_;
    journalFields_ = std::move(o.journalFields_);
    priority_ = o.priority_;
    dropped_ = std::move(o.dropped_);
  }
  return *this;
}

void LogStream::close() {
  if (readFd_ >= 0) ::close(readFd_);
  readFd_ = -1;
}

bool LogStream::pump() {
  if (readFd_ < 0) return false;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(readFd_, buf, sizeof buf);
    if (n > 0) {
      emit(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    // End of file, or an error reading our own pipe: nothing more will come through it.
    close();
    return false;
  }
}

// The log keeps the app's bytes as they are. The terminal copy is best effort: when the user's
// terminal is gone (EPIPE, EIO) the pod goes on and the log still holds everything.
void LogStream::emit(const char* data, size_t size) {
  if (journal_ != nullptr) {
    size_t start = 0;
    for (size_t i = 0; i < size; ++i) {
      if (data[i] != '\n') continue;
      partial_.append(data + start, i - start);
      journalLine(partial_);
      partial_.clear();
      start = i + 1;
    }
    partial_.append(data + start, size - start);
    if (partial_.size() > kMaxLine) flush();
    return;
  }
  if (logFd_ >= 0) {
    // The log is O_APPEND and only this process writes it: its end is where the chunk goes.
    off_t at = timesFd_ >= 0 ? ::lseek(logFd_, 0, SEEK_END) : -1;
    writeFully(logFd_, data, size);
    if (at >= 0) {
      struct timespec now;
      ::clock_gettime(CLOCK_REALTIME, &now);
      char record[64];
      int n = std::snprintf(record, sizeof record, "%lld %lld.%09ld\n", static_cast<long long>(at),
                            static_cast<long long>(now.tv_sec), now.tv_nsec);
      if (n > 0) writeFully(timesFd_, record, static_cast<size_t>(n));
    }
  }
  if (prefix_.empty()) {
    writeFully(outFd_, data, size);
    return;
  }
  size_t start = 0;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] != '\n') continue;
    std::string line = prefix_;
    line += partial_;
    line.append(data + start, i + 1 - start);
    partial_.clear();
    writeFully(outFd_, line.data(), line.size());
    start = i + 1;
  }
  partial_.append(data + start, size - start);
  if (partial_.size() > kMaxLine) flush();  // no newline in sight: do not buffer without end
}

void LogStream::sendToJournal(JournalSink* sink, std::string fields, int priority) {
  journal_ = sink;
  dropped_.assign(sink->journals(), 0);
  journalFields_ = std::move(fields);
  priority_ = priority;
}

// The journal's native protocol: one datagram of NAME=value lines (a value holding a newline
// would need the binary form; a line has none).
void LogStream::journalLine(std::string_view line) {
  std::string entry = journalFields_;
  entry += "PRIORITY=";
  entry += static_cast<char>('0' + priority_);
  entry += "\nMESSAGE=";
  entry += line;
  entry += '\n';
  for (size_t j = 0; j < dropped_.size(); ++j) {
    if (dropped_[j] > 0) {
      // The count goes before this line, which is the first one with room again.
      if (!journal_->hasRoomFor(j, entry.size())) {
        ++dropped_[j];
        continue;
      }
      journal_->submit(j, droppedEntry(dropped_[j]), dropped_[j], true);
      dropped_[j] = 0;
    }
    if (!journal_->submit(j, entry)) ++dropped_[j];
  }
}

std::string LogStream::droppedEntry(uint64_t dropped) const {
  std::string n = std::to_string(dropped);
  return journalFields_ + "PRIORITY=4\nFERRY_LINES_DROPPED=" + n + "\nMESSAGE=ferry-init: " + n +
         (dropped == 1 ? " line" : " lines") + " dropped (the journal did not take them in time)\n";
}

void LogStream::flush() {
  if (journal_ != nullptr) {
    if (!partial_.empty()) journalLine(partial_);
    partial_.clear();
    for (size_t j = 0; j < dropped_.size(); ++j) {
      if (dropped_[j] > 0) journal_->submit(j, droppedEntry(dropped_[j]), dropped_[j], true);
      dropped_[j] = 0;
    }
    return;
  }
  if (prefix_.empty() || partial_.empty()) return;
  std::string line = prefix_ + partial_ + "\n";
  partial_.clear();
  writeFully(outFd_, line.data(), line.size());
}

}  // namespace ferry::init
