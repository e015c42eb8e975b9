// status/<app>.json (stage1/ABI.md §5): one writer and one reader for the pod init, every stage1
// flavor (the fix-up after an init that could not finish) and stage0 (list, status).
//   {"name":"main","state":"created|running|exited","pid":123,"createdAt":…,"startedAt":…,
//    "finishedAt":…,"exitCode":0,"signal":null,"oomKilled":false}
// The writer (status_write.cpp) uses no JSON library: the statically linked init links it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/json.hpp"

namespace ferry::cgroup {
class Group;
}

namespace ferry::stage1 {

struct AppStatus {
  std::string name;
  std::string state;           // created | running | exited; "" when nothing was written yet
  std::optional<int64_t> pid;  // in the pod's PID namespace
  std::optional<int64_t> createdAt, startedAt, finishedAt;  // unix nanoseconds
  std::optional<int> exitCode;
  std::optional<std::string> signal;  // "SIGKILL"
  bool oomKilled = false;
};

// The file's text (one line).
std::string statusText(const AppStatus& s);

// Writes status/<s.name>.json in the directory `statusDirFd` (an O_PATH descriptor of status/ is
// enough): a fresh temp file (O_EXCL, O_NOFOLLOW, 0600), then the names exchanged, so readers
// see the old status or the new one and a planted link is never written through. false with
// errno set on failure.
bool writeStatusAt(int statusDirFd, const AppStatus& s) noexcept;

// Unix nanoseconds now (CLOCK_REALTIME).
int64_t nowNs() noexcept;

// nullopt when the file does not exist; Error{kInvalid} when it is not what §5 says.
std::optional<AppStatus> readAppStatus(const std::filesystem::path& podDir, const std::string& app);

// As `ferry status --format=json` shows it.
json::Json statusToJson(const AppStatus& s);

// After the pod init died without finishing its bookkeeping (SIGKILL, stop --force, kill -9 of
// stage1): every status/<app>.json still "running" becomes "exited", killed by SIGKILL, with the
// app cgroup's OOM flag. Apps never started stay "created".
// Returns how many it changed.
size_t finalizeStatus(const std::filesystem::path& podDir, const std::optional<cgroup::Group>& pod);

}  // namespace ferry::stage1
