// `ferry cat-manifest` and `ferry logs [--follow]`: a pod's reified manifest and its apps' output.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/pod_flags.hpp"
#include "stage0/pod/info.hpp"

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
  ctx.out << json::dump(j, pretty) << "\n";
  return kExitOk;
}

namespace {

// One app's log file, read as it grows; with `prefix`, whole lines get "[app] " in front (a
// partial last line waits for its end, or for the end of the pod).
class LogTail {
 public:
  LogTail(std::string app, std::filesystem::path path, bool prefix)
      : app_(std::move(app)), path_(std::move(path)), prefix_(prefix) {}

  // Copies what was appended since the last call to `out`; `final`: the pod is over.
  void pump(std::ostream& out, bool final) {
    if (!fd_) {
      fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd_) return;  // not written yet (or an interactive pod: no log)
    }
    char buf[64 << 10];
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throwErrno("read " + quote(path_.string()));
      if (n == 0) break;
      if (!prefix_) {
        out.write(buf, n);
        continue;
      }
      pending_.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
        out << "[" << app_ << "] ";
        out.write(pending_.data() + start, static_cast<std::streamsize>(nl + 1 - start));
      }
      pending_.erase(0, start);
    }
    if (final && prefix_ && !pending_.empty()) {
      out << "[" << app_ << "] " << pending_ << "\n";
      pending_.clear();
    }
    out.flush();
  }

 private:
  std::string app_;
  std::filesystem::path path_;
  bool prefix_;
  UniqueFd fd_;
  std::string pending_;
};

}  // namespace

int logsCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage = "ferry logs [--app NAME] [--follow] --uuid-file=FILE | UUID";
  OptionParser p(usage, "Print what a pod's apps wrote to stdout and stderr.",
                 "With several apps and no --app, each line is prefixed by [app].\n"
                 "--follow keeps printing what a running pod's apps write until the pod exits.");
  addGlobalOptions(p, ctx.global);
  std::string app;
  bool follow = false;
  p.value("app", "NAME", "only this app", &app);
  p.flag("follow", "follow a running pod's output until it exits", &follow);
  UuidFile uuidFile;
  uuidFile.declare(p);
  p.positionals(0, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  if (ctx.global.json()) {
    throw UsageError("--format=json: logs prints the apps' output as they wrote it");
  }
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
  std::vector<LogTail> tails;
  for (const auto& n : names)
    tails.emplace_back(n, pd.path / "logs" / (n + ".log"), names.size() > 1);
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
