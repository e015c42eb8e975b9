// Download progress for fetchers.
//
// A Progress is one display (on stderr by default) shared by the transfers of one fetch.
// start(name, total) returns a Handle for one blob; its worker thread calls advance(n) or
// update(done) as bytes arrive and finish() once the blob is stored. Handles of one Progress
// may be used from several threads at once.
//
// On a terminal the display is one line per blob (bytes, total, rate) plus a summary line,
// redrawn in place at most ten times a second; lines longer than the terminal are cut so the
// redraw never wraps. Otherwise it prints plain lines: one when a blob starts and one when it
// finishes (or stops short), nothing in between, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ferry::fetch {

class Progress {
 public:
  enum class Mode {
    kAuto,  // kTerminal when the stream is a terminal, else kPlain
    kTerminal,
    kPlain,
    kQuiet,  // nothing at all
  };

  class Handle {
   public:
    Handle() = default;
    Handle(Handle&& o) noexcept : progress_(o.progress_), index_(o.index_) {
      o.progress_ = nullptr;
    }
    Handle& operator=(Handle&& o) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    // A handle dropped before finish() reports the transfer as stopped.
    ~Handle();

    void advance(uint64_t bytes);  // n more bytes arrived
    void update(uint64_t done);    // done bytes so far (monotonic)
    void finish();

   private:
    friend class Progress;
    Handle(Progress* p, size_t index) : progress_(p), index_(index) {}
    Progress* progress_ = nullptr;
    size_t index_ = 0;
  };

  explicit Progress(std::FILE* stream = stderr, Mode mode = Mode::kAuto);
  ~Progress();  // a final redraw on a terminal (the cursor left below the display)
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `total`: the expected size in bytes, when known.
  Handle start(std::string name, std::optional<uint64_t> total = std::nullopt);

  Mode mode() const { return mode_; }

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { kRunning, kDone, kStopped };
  struct Item {
    std::string name;
    std::optional<uint64_t> total;
    uint64_t done = 0;
    Clock::time_point started;
    Clock::time_point ended;
    State state = State::kRunning;
  };

  void set(size_t index, uint64_t done, bool relative);
  void end(size_t index, State state);
  // With mu_ held.
  void redraw(bool force);
  std::string line(const Item& item, Clock::time_point now) const;
  void emit(const std::string& text);

  std::FILE* stream_;
  Mode mode_;
  std::mutex mu_;
  std::vector<Item> items_;
  size_t drawnLines_ = 0;  // lines of the terminal display drawn so far
  Clock::time_point started_;
  Clock::time_point lastDraw_;
};

// "12.3 MB", "512 B": decimal units, as download tools show them.
std::string formatBytes(uint64_t bytes);

}  // namespace ferry::fetch
