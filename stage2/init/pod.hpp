// The pod init's parts (pod_init.hpp has what it does): PodInit, the pod's state, and App, one
// app's; their members are defined by concern:
//   pod_init.cpp    the run: runtime.json's pod set up, the apps started in order, the loop until
//                   every app ended, the post-stop handlers, the logs' and journal's rest;
//   pod_config.cpp  load(): runtime.json, cgroups.json and each app's config.json annotations;
//   app_spawn.cpp   each app's output pipes and logs, and the child that runs its stage2;
//   pod_loop.cpp    the poll loop: signals, the stop grace, reaping, an app's end, status files;
//   systemd.cpp     socket-activation descriptors, notify sockets, `ready`.
// Internal to ferry_init_lib: nothing outside stage2/init includes it.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cgroup.hpp"
#include "stage2/init/journal_sink.hpp"
#include "stage2/init/log_stream.hpp"

namespace ferry::init {

constexpr int kOwnFailure = 254;

// One line on stderr, "ferry-init: " first.
void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Every file of the pod directory is opened relative to the directory's descriptor and never
// through a symlink in its last component (O_NOFOLLOW): a link planted there cannot make PID 1
// read or write a file elsewhere.
std::optional<std::string> slurp(int dirFd, const std::string& path);

// The pod's exit code for one wait status: the code, or 128 + the signal.
int codeOf(int status);

struct App {
  std::string name;
  std::string bundle;
  cgroup::Group cgroup;
  std::vector<std::string> procsFiles;
  std::vector<const char*> procs;
  bool preStart = false;
  bool postStop = false;
  int stopSignal = SIGTERM;  // what a stop sends the app (dev.ferry.stop-signal)
  int outWrite = -1;         // the write ends the app's processes get as stdout and stderr
  int errWrite = -1;
  int logFd = -1;
  int timesFd = -1;  // logs/<app>.log.times
  LogStream out;
  LogStream err;
  enum class State { kCreated, kRunning, kExited } state = State::kCreated;
  bool started = false;
  pid_t pid = 0;
  pid_t handler = 0;  // a running pre-start or post-stop handler
  int handlerStatus = 0;
  int64_t createdAt = 0;
  int64_t startedAt = 0;
  int64_t finishedAt = 0;
  std::optional<int> exitCode;
  std::optional<int> signal;
  bool oomKilled = false;
  // systemd (ABI §5 "systemd"): the app's notify socket (its image speaks sd_notify), whether it
  // said READY=1; the ports it takes socket-activation descriptors for, the descriptors it gets
  // (in order, at 3, 4, …) and the environment ferry-stage2 gets to say so.
  bool notify = false;
  int notifyFd = -1;
  bool notified = false;
  std::vector<std::string> socketPorts;
  std::vector<int> listenFds;
  std::string listenFdNames;
  std::vector<std::string> env;
  std::vector<const char*> envp;
};

class PodInit {
 public:
  explicit PodInit(std::string podDir) : podDir_(std::move(podDir)) {}
  ~PodInit();
  int run();

 private:
  bool load();
  bool setupApp(App& app);
  pid_t spawn(App& app, const char* event);
  void prepareChild(App& app, const char* event) noexcept;
  [[noreturn]] void runStage2InChild(App& app, const char* event) noexcept;
  void loopOnce();
  void reap();
  void onAppExit(App& app, int status);
  void finish(App& app, int status);
  void beginStop();
  void forward(int sig);
  void killEverything();
  void armTimer(int seconds);
  void writeStatus(const App& app);
  int waitHandler(App& app);
  bool anyRunning() const;
  bool setupSystemd();
  void onNotify(App& app);
  void maybeReady();

  std::string podDir_;
  int podFd_ = -1;     // the pod directory (O_PATH)
  int statusFd_ = -1;  // its status/ and logs/
  int logsFd_ = -1;
  std::string stage2_;      // the ferry-stage2 the children exec, when not inProcess_
  bool inProcess_ = false;  // each child runs stage2 itself (spawn)
  bool interactive_ = false;
  bool debug_ = false;
  std::vector<int> journalFds_;           // --log-driver=journal: the sockets the stage1 connected
                                          // (FERRY_JOURNAL_FD)
  std::unique_ptr<JournalSink> journal_;  // what every app's output goes through to it
  std::string journalUnit_;               // FERRY_JOURNAL_UNIT: the pod's systemd unit
  std::string uuid_;
  int graceSeconds_ = 10;
  std::vector<std::unique_ptr<App>> apps_;
  int sigFd_ = -1;
  int timerFd_ = -1;
  bool stopping_ = false;
  bool postStopPhase_ = false;
  bool allStarted_ = false;
  bool ready_ = false;
  std::optional<int> exitCode_;
};

}  // namespace ferry::init
