#include "stage0/fetch/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace ferry::fetch {

namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string rate(uint64_t bytes, double secs) {
  if (secs <= 0) return "-";
  return formatBytes(static_cast<uint64_t>(static_cast<double>(bytes) / secs)) + "/s";
}

size_t terminalWidth(std::FILE* stream) {
  struct winsize ws {};
  if (::ioctl(::fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

std::string formatBytes(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Handle

Progress::Handle& Progress::Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (progress_ != nullptr) progress_->end(index_, State::kStopped);
    progress_ = o.progress_;
    index_ = o.index_;
    o.progress_ = nullptr;
  }
  return *this;
}

Progress::Handle::~Handle() {
  if (progress_ != nullptr) progress_->end(index_, State::kStopped);
}

void Progress::Handle::advance(uint64_t bytes) {
  if (progress_ != nullptr) progress_->set(index_, bytes, true);
}

void Progress::Handle::update(uint64_t done) {
  if (progress_ != nullptr) progress_->set(index_, done, false);
}

void Progress::Handle::finish() {
  if (progress_ != nullptr) progress_->end(index_, State::kDone);
  progress_ = nullptr;
}

// ---------------------------------------------------------------------------------------------
// Progress

Progress::Progress(std::FILE* stream, Mode mode)
    : stream_(stream), mode_(mode), started_(Clock::now()) {
  if (mode_ == Mode::kAuto) {
    mode_ = ::isatty(::fileno(stream_)) != 0 ? Mode::kTerminal : Mode::kPlain;
  }
}

Progress::~Progress() {
  std::lock_guard lock(mu_);
  if (mode_ == Mode::kTerminal && !items_.empty()) redraw(true);
}

Progress::Handle Progress::start(std::string name, std::optional<uint64_t> total) {
  std::lock_guard lock(mu_);
  Item item;
  item.name = std::move(name);
  item.total = total;
  item.started = Clock::now();
  items_.push_back(std::move(item));
  const Item& it = items_.back();
  if (mode_ == Mode::kPlain) {
    emit("Downloading " + it.name + (it.total ? " (" + formatBytes(*it.total) + ")" : "") + "\n");
  } else if (mode_ == Mode::kTerminal) {
    redraw(true);
  }
  return Handle(this, items_.size() - 1);
}

void Progress::set(size_t index, uint64_t done, bool relative) {
  std::lock_guard lock(mu_);
  Item& it = items_[index];
  if (it.state != State::kRunning) return;
  it.done = relative ? it.done + done : std::max(it.done, done);
  if (mode_ == Mode::kTerminal) redraw(false);
}

void Progress::end(size_t index, State state) {
  std::lock_guard lock(mu_);
  Item& it = items_[index];
  if (it.state != State::kRunning) return;
  it.state = state;
  it.ended = Clock::now();
  if (mode_ == Mode::kPlain) {
    double secs = seconds(it.ended - it.started);
    char took[32];
    std::snprintf(took, sizeof took, "%.1f s", secs);
    if (state == State::kDone) {
      emit("Downloaded " + it.name + ": " + formatBytes(it.done) + " in " + took + " (" +
           rate(it.done, secs) + ")\n");
    } else {
      emit("Stopped " + it.name + " after " + formatBytes(it.done) +
           (it.total ? " of " + formatBytes(*it.total) : "") + "\n");
    }
  } else if (mode_ == Mode::kTerminal) {
    redraw(true);
  }
}

std::string Progress::line(const Item& it, Clock::time_point now) const {
  std::string s = it.name + "  " + formatBytes(it.done);
  if (it.total) s += " / " + formatBytes(*it.total);
  switch (it.state) {
    case State::kRunning:
      s += "  " + rate(it.done, seconds(now - it.started));
      break;
    case State::kDone:
      s += "  done (" + rate(it.done, seconds(it.ended - it.started)) + ")";
      break;
    case State::kStopped:
      s += "  stopped";
      break;
  }
  return s;
}

void Progress::redraw(bool force) {
  Clock::time_point now = Clock::now();
  if (!force && now - lastDraw_ < kRedrawInterval) return;
  lastDraw_ = now;
  size_t width = terminalWidth(stream_);
  std::string out;
  // Back to the first line of the display, then each line rewritten and cleared to its end.
  if (drawnLines_ > 0) out += "\x1b[" + std::to_string(drawnLines_) + "F";
  uint64_t done = 0, total = 0;
  size_t finished = 0;
  for (const Item& it : items_) {
    std::string l = line(it, now);
    if (l.size() >= width) l.resize(width - 1);
    out += "\r" + l + "\x1b[K\n";
    done += it.done;
    total += it.total.value_or(it.done);
    finished += it.state == State::kDone ? 1 : 0;
  }
  std::string summary = "total " + std::to_string(finished) + "/" + std::to_string(items_.size()) +
                        " blobs  " + formatBytes(done) + " / " + formatBytes(total) + "  " +
                        rate(done, seconds(now - started_));
  if (summary.size() >= width) summary.resize(width - 1);
  out += "\r" + summary + "\x1b[K\n";
  drawnLines_ = items_.size() + 1;
  emit(out);
}

void Progress::emit(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stream_);
  std::fflush(stream_);
}

}  // namespace ferry::fetch
