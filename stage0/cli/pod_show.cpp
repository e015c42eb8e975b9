// `ferry cat-manifest` and `ferry logs [--follow]`: a pod's reified manifest and its apps' output.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/pod_flags.hpp"
#include "stage0/pod/info.hpp"
#include "stage0/systemd/journal_reader.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::cli {

int catManifestCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage = "ferry cat-manifest [--pretty-print=false] --uuid-file=FILE | UUID";
  OptionParser p(usage, "Print a pod's reified appc pod manifest.");
  addGlobalOptions(p, ctx.global);
  bool pretty = true;
  p.flag("pretty-print", "indent the JSON (default true)", &pretty);
  UuidFile uuidFile;
  uuidFile.declare(p);
  p.positionals(0, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  std::string ref = uuidFile.podRefs(pos, usage)[0];
  if (!podsExist(ctx.global)) throwNoSuch(ctx.global, "pod", ref);
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(ref);
  std::filesystem::path f = pd.path / "pod";
  std::error_code ec;
  if (!std::filesystem::exists(f, ec)) {
    throw Error(Errc::kNotFound, "pod " + pd.uuid + " has no manifest yet (it is " +
                                     std::string(pod::stateName(pd.state())) + ")");
  }
  json::Json j = json::parse(readFile(f, 16 << 20), f.string());
  ctx.out << json::print(j, pretty) << "\n";
  return kExitOk;
}

namespace {

// Where the last `lines` lines of the open file start (a last line without its newline counts).
off_t tailOffset(int fd, uint64_t lines, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throwErrno("stat " + quote(path.string()));
  off_t end = st.st_size;
  if (lines == 0 || end == 0) return end;
  char buf[64 << 10];
  uint64_t seen = 0;
  bool last = true;  // the file's last byte: a newline there ends the last line, starts none
  for (off_t pos = end; pos > 0;) {
    off_t start = pos > static_cast<off_t>(sizeof buf) ? pos - static_cast<off_t>(sizeof buf) : 0;
    ssize_t n = ::pread(fd, buf, static_cast<size_t>(pos - start), start);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throwErrno("read " + quote(path.string()));
    for (ssize_t i = n - 1; i >= 0; --i) {
      bool newline = buf[i] == '\n';
      if (newline && !last && ++seen == lines) return start + i + 1;
      last = false;
    }
    pos = start;
  }
  return 0;
}

// A log file of the pod directory, or none: never through a symlink, never anything but a
// regular file (with the kvm stage1, a guest writes logs/ through its share: a symlink there
// would have `ferry logs` print a host file, a FIFO would hang it).
UniqueFd openPodLog(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (fd && (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))) fd.reset();
  return fd;
}

// logs/<app>.log.times (stage1/ABI.md §1): "OFFSET SECONDS.NANOS" a line, one for each chunk
// the init wrote to the log, read as it grows. A line's time is the time of the chunk it starts
// in.
class LogTimes {
 public:
  explicit LogTimes(std::filesystem::path path) : path_(std::move(path)) {}

  // Unix nanoseconds of the byte at `offset` of the log (0: not known).
  int64_t at(off_t offset) {
    if (records_.empty() || records_.back().first < offset) load();
    auto it = std::upper_bound(records_.begin(), records_.end(), offset,
                               [](off_t o, const auto& r) { return o < r.first; });
    return it == records_.begin() ? 0 : std::prev(it)->second;
  }

 private:
  void load() {
    if (!fd_) {
      fd_ = openPodLog(path_);
      if (!fd_) return;
    }
    char buf[16 << 10];
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending_.append(buf, static_cast<size_t>(n));
    }
    size_t start = 0;
    for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      long long off = 0, sec = 0, nsec = 0;
      if (std::sscanf(pending_.c_str() + start, "%lld %lld.%lld", &off, &sec, &nsec) == 3) {
        records_.emplace_back(static_cast<off_t>(off), sec * 1000000000LL + nsec);
      }
    }
    pending_.erase(0, start);
  }

  std::filesystem::path path_;
  UniqueFd fd_;
  std::string pending_;
  std::vector<std::pair<off_t, int64_t>> records_;
};

std::string rfc3339Nanos(int64_t ns) {
  if (ns <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ns / 1000000000LL);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
  char out[96];
  std::snprintf(out, sizeof out, "%s.%09lldZ", buf, static_cast<long long>(ns % 1000000000LL));
  return out;
}

// --since: a duration before now (10m, 2h) or an RFC 3339 time; unix nanoseconds.
int64_t parseSince(std::string_view v) {
  if (v.find('T') != std::string_view::npos) {
    std::string s(v);
    struct tm tm {};
    const char* rest = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    int64_t frac = 0;
    if (rest != nullptr && *rest == '.') {
      int digits = 0;
      for (++rest; *rest >= '0' && *rest <= '9'; ++rest) {
        if (digits++ < 9) frac = frac * 10 + (*rest - '0');
      }
      for (; digits < 9; ++digits) frac *= 10;
    }
    if (rest == nullptr || std::string_view(rest) != "Z") {
      throw UsageError("--since: want a duration (10m) or a UTC time (2026-01-02T03:04:05Z), not " +
                       quote(v));
    }
    return static_cast<int64_t>(::timegm(&tm)) * 1000000000LL + frac;
  }
  auto ms = parseDuration(v, "since").count();
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  return now.tv_sec * 1000000000LL + now.tv_nsec - static_cast<int64_t>(ms) * 1000000LL;
}

// One app's log file, read as it grows; with `prefix`, whole lines get "[app] " in front (a
// partial last line waits for its end, or for the end of the pod). With `times`, each line is
// placed in time: --timestamps prints its time first, --since drops older lines.
class LogTail {
 public:
  // tail: print only the last that many lines of what is there at the first read (-1: all).
  LogTail(std::string app, std::filesystem::path path, bool prefix, int64_t tail,
          std::optional<LogTimes> times = std::nullopt, bool timestamps = false, int64_t since = 0)
      : app_(std::move(app)),
        path_(std::move(path)),
        prefix_(prefix),
        tail_(tail),
        times_(std::move(times)),
        timestamps_(timestamps),
        since_(since) {}

  // Copies what was appended since the last call to `out`; `final`: the pod is over.
  void pump(std::ostream& out, bool final) {
    if (!fd_) {
      fd_ = openPodLog(path_);
      if (!fd_) return;  // not written yet (or an interactive pod: no log)
      if (tail_ >= 0) {
        off_t at = tailOffset(fd_.get(), static_cast<uint64_t>(tail_), path_);
        if (::lseek(fd_.get(), at, SEEK_SET) < 0) throwErrno("seek " + quote(path_.string()));
        offset_ = at;
      }
    }
    bool lines = prefix_ || times_.has_value();
    auto line = [&](const char* data, size_t size) {
      int64_t t = times_ ? times_->at(offset_) : 0;
      offset_ += static_cast<off_t>(size);
      if (since_ > 0 && t < since_) return;
      if (timestamps_) out << rfc3339Nanos(t) << " ";
      if (prefix_) out << "[" << app_ << "] ";
      out.write(data, static_cast<std::streamsize>(size));
    };
    char buf[64 << 10];
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throwErrno("read " + quote(path_.string()));
      if (n == 0) break;
      if (!lines) {
        out.write(buf, n);
        continue;
      }
      pending_.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
        line(pending_.data() + start, nl + 1 - start);
      }
      pending_.erase(0, start);
    }
    if (final && lines && !pending_.empty()) {
      pending_ += "\n";
      line(pending_.data(), pending_.size());
      pending_.clear();
    }
    out.flush();
  }

 private:
  std::string app_;
  std::filesystem::path path_;
  bool prefix_;
  int64_t tail_;
  std::optional<LogTimes> times_;
  bool timestamps_;
  int64_t since_;
  off_t offset_ = 0;  // where pending_ starts in the log
  UniqueFd fd_;
  std::string pending_;
};

}  // namespace

int logsCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage =
      "ferry logs [--app NAME] [--follow] [--tail N] [--since WHEN] [--timestamps] "
      "--uuid-file=FILE | UUID";
  OptionParser p(usage, "Print what a pod's apps wrote to stdout and stderr.",
                 "With several apps and no --app, each line is prefixed by [app].\n"
                 "--follow keeps printing what a running pod's apps write until the pod exits.\n"
                 "A pod run with --log-driver=journal is read from the systemd journal.");
  addGlobalOptions(p, ctx.global);
  std::string app;
  bool follow = false;
  p.value("app", "NAME", "only this app", &app);
  p.flag("follow", "follow a running pod's output until it exits", &follow);
  int64_t tail = -1;
  p.value("tail", "N", "print only the last N lines of each app's output (then follow)",
          [&tail](std::string_view v) {
            uint64_t n = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc() || end != v.data() + v.size() || n > (uint64_t{1} << 40)) {
              throw UsageError("--tail: want a number of lines, not " + quote(v));
            }
            tail = static_cast<int64_t>(n);
          });
  bool timestamps = false;
  p.flag("timestamps", "print each line's time (RFC 3339, UTC) first", &timestamps);
  int64_t since = 0;
  p.value("since", "DURATION|TIME",
          "only lines written since then: a duration before now (10m) or a UTC time",
          [&since](std::string_view v) { since = parseSince(v); });
  UuidFile uuidFile;
  uuidFile.declare(p);
  p.positionals(0, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  if (ctx.global.json()) {
    throw UsageError("--format=json: logs prints the apps' output as they wrote it");
  }
  bool timed = timestamps || since > 0;
  std::string ref = uuidFile.podRefs(pos, usage)[0];
  if (!podsExist(ctx.global)) throwNoSuch(ctx.global, "pod", ref);
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(ref);
  pod::PodInfo info = pod::inspect(pd);
  std::vector<std::string> names;
  for (const auto& a : info.apps) {
    if (app.empty() || a.name == app) names.push_back(a.name);
  }
  if (!app.empty() && names.empty()) {
    throw Error(Errc::kNotFound, "pod " + pd.uuid + " has no app " + quote(app));
  }
  // --log-driver=journal: the lines are entries of the journal, not files in logs/.
  std::error_code ec;
  if (std::filesystem::exists(pd.path / "runtime.json", ec) &&
      stage1::RuntimeOptions::read(pd.path).logDriver == "journal") {
    if (timed) {
      throw Error(Errc::kUnsupported,
                  "not supported: --since and --timestamps for a pod of --log-driver=journal "
                  "(journalctl --since and -o short-iso give them)");
    }
    bool running = follow && pd.dir == pod::Dir::kRun && !pod::PodLock::tryShared(pd.path);
    systemd::printPodJournal(
        ctx.out, ctx.err, pd.uuid, app.empty() ? std::nullopt : std::optional<std::string>(app),
        names.size() > 1, running, [&] { return pod::PodLock::tryShared(pd.path).has_value(); });
    return kExitOk;
  }
  std::vector<LogTail> tails;
  for (const auto& n : names) {
    std::filesystem::path log = pd.path / "logs" / (n + ".log");
    std::optional<LogTimes> times;
    if (timed) {
      std::filesystem::path file = log.string() + ".times";
      if (std::filesystem::exists(log, ec) && !std::filesystem::exists(file, ec)) {
        throw Error(Errc::kUnsupported, "not supported: --since and --timestamps for pod " +
                                            pd.uuid + ": its logs hold no times (" +
                                            quote(file.string()) + " is missing)");
      }
      times.emplace(file);
    }
    tails.emplace_back(n, log, names.size() > 1, tail, std::move(times), timestamps, since);
  }
  // Following: the pod runs while its lock is held (stage1/ABI.md §1); the logs directory is
  // watched for writes, with a timeout so that the end of the pod is seen even when it is quiet.
  bool running = follow && pd.dir == pod::Dir::kRun && !pod::PodLock::tryShared(pd.path);
  UniqueFd watch;
  if (running) {
    watch = UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!watch) throwErrno("inotify_init1");
    if (::inotify_add_watch(watch.get(), (pd.path / "logs").c_str(),
                            IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
      throwErrno("watch " + quote((pd.path / "logs").string()));
    }
  }
  for (;;) {
    bool over = !running || pod::PodLock::tryShared(pd.path).has_value();
    for (auto& t : tails) t.pump(ctx.out, over);
    if (over) return kExitOk;
    pollfd pfd{watch.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 250) > 0) {
      char events[4096];
      while (::read(watch.get(), events, sizeof events) > 0) {
      }
    }
  }
}

}  // namespace ferry::cli
