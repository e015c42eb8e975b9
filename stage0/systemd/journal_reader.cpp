#include "stage0/systemd/journal_reader.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage1/common/systemd.hpp"

namespace ferry::systemd {

namespace fs = std::filesystem;

const char* const kSystemJournalVarlink = "/run/systemd/journal/io.systemd.journal";

namespace {

constexpr auto kSyncTimeout = std::chrono::seconds(10);

std::string_view field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t size = 0;
  if (sd_journal_get_data(j, name, &data, &size) < 0) return {};
  std::string_view v(static_cast<const char*>(data), size);
  size_t eq = v.find('=');
  return eq == std::string_view::npos ? std::string_view() : v.substr(eq + 1);
}

std::string errnoText(int err) { return std::strerror(err); }

// Waits for `events` on fd until the deadline; the cause when it did not come.
std::optional<std::string> await(int fd, short events,
                                 std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "no answer within 10 s";
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return std::nullopt;
    if (n < 0 && errno != EINTR) return errnoText(errno);
  }
}

}  // namespace

std::optional<std::string> synchronizeJournal(const std::string& varlink) {
  const char* kJournalVarlink = varlink.c_str();
  auto deadline = std::chrono::steady_clock::now() + kSyncTimeout;
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock) return errnoText(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kJournalVarlink, sizeof(addr.sun_path) - 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return quote(kJournalVarlink) + ": " + errnoText(errno);
    }
    if (auto e = await(sock.get(), POLLOUT, deadline)) return e;
    int soErr = 0;
    socklen_t len = sizeof(soErr);
    ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &soErr, &len);
    if (soErr != 0) return quote(kJournalVarlink) + ": " + errnoText(soErr);
  }
  // One varlink call: a JSON object ended by a NUL byte each way.
  static constexpr char kCall[] = "{\"method\":\"io.systemd.Journal.Synchronize\"}";
  std::string_view call(kCall, sizeof(kCall));  // with the NUL
  while (!call.empty()) {
    ssize_t n = ::send(sock.get(), call.data(), call.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return errnoText(errno);
      if (auto e = await(sock.get(), POLLOUT, deadline)) return e;
      continue;
    }
    call.remove_prefix(static_cast<size_t>(n));
  }
  std::string reply;
  for (;;) {
    char buf[4096];
    ssize_t n = ::recv(sock.get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return errnoText(errno);
      if (auto e = await(sock.get(), POLLIN, deadline)) return e;
      continue;
    }
    if (n == 0) return "journald closed the connection without an answer";
    reply.append(buf, static_cast<size_t>(n));
    if (size_t end = reply.find('\0'); end != std::string::npos) {
      reply.resize(end);
      break;
    }
    if (reply.size() > 65536) return "an answer of over 64 KiB";
  }
  try {
    json::Json j = json::parse(reply, "journald's answer");
    if (j.is_object() && j.contains("error")) {
      return "journald answered " +
             (j["error"].is_string() ? j["error"].get<std::string>() : std::string("an error"));
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  return std::nullopt;
}

void printPodJournal(std::ostream& out, std::ostream& err, const std::string& uuid,
                     const std::optional<std::string>& app, bool prefix, bool follow,
                     const std::function<bool()>& over) {
  // A pod under systemd writes each line to its own namespace (stage1/ABI.md §5 "systemd") and
  // to the system's journal; any other pod to the system's alone. One of them is read, so that
  // each line is printed once: the namespace when the pod has one (its sockets, or its files
  // once its journald has gone), else the system's.
  std::string ns = stage1::podJournalNamespace(uuid);
  std::error_code ec;
  fs::path runtime = stage1::journalNamespaceRuntimeDir(ns);
  auto files = stage1::journalNamespaceFiles(ns);
  bool own = fs::exists(runtime / "socket", ec) || (files && fs::is_directory(*files, ec));
  // Lines the apps sent may still wait in journald's socket: written out before the last read.
  std::string varlink = runtime / "io.systemd.journal";
  if (!own || !fs::exists(varlink, ec)) varlink = kSystemJournalVarlink;
  auto sync = [&err, &varlink] {
    if (auto cause = synchronizeJournal(varlink)) {
      err << "ferry: warning: cannot synchronize the journal: " << *cause
          << " (its last entries may be missing)\n";
    }
  };
  if (!follow) sync();
  sd_journal* raw = nullptr;
  if (int r = own ? sd_journal_open_namespace(&raw, ns.c_str(), SD_JOURNAL_LOCAL_ONLY)
                  : sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY);
      r < 0) {
    throwErrno(-r, "open the journal");
  }
  std::unique_ptr<sd_journal, void (*)(sd_journal*)> j(raw, sd_journal_close);
  std::string podMatch = "FERRY_POD_UUID=" + uuid;
  if (int r = sd_journal_add_match(j.get(), podMatch.data(), podMatch.size()); r < 0) {
    throwErrno(-r, "match the journal on " + podMatch);
  }
  if (app) {
    std::string appMatch = "FERRY_APP=" + *app;
    if (int r = sd_journal_add_match(j.get(), appMatch.data(), appMatch.size()); r < 0) {
      throwErrno(-r, "match the journal on " + appMatch);
    }
  }
  // Following: the journal's directories are watched from now on, so that a file journald adds
  // or rotates to later (sd_journal_open read the ones there were) is read too.
  if (follow) {
    if (int r = sd_journal_get_fd(j.get()); r < 0) throwErrno(-r, "watch the journal");
  }
  for (;;) {
    bool ended = !follow || over();
    if (ended && follow) {
      // The pod has ended: every line it sent is written once journald is synchronized, possibly
      // to a file that is new since the last wait, which sd_journal_process takes in.
      sync();
      if (int r = sd_journal_process(j.get()); r < 0) throwErrno(-r, "read the journal's changes");
    }
    for (;;) {
      int r = sd_journal_next(j.get());
      if (r < 0) throwErrno(-r, "read the journal");
      if (r == 0) break;
      if (prefix) out << "[" << field(j.get(), "FERRY_APP") << "] ";
      out << field(j.get(), "MESSAGE") << "\n";
    }
    out.flush();
    if (ended) return;
    if (int r = sd_journal_wait(j.get(), 250000); r < 0) throwErrno(-r, "wait on the journal");
  }
}

}  // namespace ferry::systemd
