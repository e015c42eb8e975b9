#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include <system_error>

#include "common/cgroup.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/status.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;
using json::Json;

std::optional<AppStatus> readAppStatus(const fs::path& podDir, const std::string& app) {
  fs::path f = podDir / podfile::kStatus / (app + ".json");
  std::string what = f.string();
  // Never through a symlink, never anything but a regular file: with the kvm stage1 a guest
  // writes status/ through its share (a FIFO there would hang stage0, a symlink show a host file).
  UniqueFd fd(::open(f.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd && errno == ENOENT) return std::nullopt;
  if (!fd) throwErrno("open " + quote(what));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
    throw Error(Errc::kInvalid,
                "cannot read " + quote(what) + ": not a regular file of at most 1 MiB");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  text.resize(readFull(fd.get(), text.data(), text.size(), what));
  Json j = json::parse(text, what);
  json::asObject(j, what);
  AppStatus s;
  s.name = app;
  auto str = [&](const char* k) -> std::optional<std::string> {
    if (!j.contains(k) || j[k].is_null()) return std::nullopt;
    return json::asString(j[k], what + "." + k);
  };
  auto num = [&](const char* k) -> std::optional<int64_t> {
    if (!j.contains(k) || j[k].is_null()) return std::nullopt;
    return json::asInt(j[k], what + "." + k);
  };
  s.state = str("state").value_or("");
  s.pid = num("pid");
  s.createdAt = num("createdAt");
  s.startedAt = num("startedAt");
  s.finishedAt = num("finishedAt");
  if (auto c = num("exitCode")) s.exitCode = static_cast<int>(*c);
  s.signal = str("signal");
  if (j.contains("oomKilled") && !j["oomKilled"].is_null()) {
    s.oomKilled = json::asBool(j["oomKilled"], what + ".oomKilled");
  }
  return s;
}

Json statusToJson(const AppStatus& s) {
  Json j = Json::object();
  j["name"] = s.name;
  j["state"] = s.state;
  auto opt = [&](const char* k, const auto& v) {
    if (v) {
      j[k] = *v;
    } else {
      j[k] = nullptr;
    }
  };
  opt("pid", s.pid);
  opt("createdAt", s.createdAt);
  opt("startedAt", s.startedAt);
  opt("finishedAt", s.finishedAt);
  opt("exitCode", s.exitCode);
  opt("signal", s.signal);
  j["oomKilled"] = s.oomKilled;
  return j;
}

size_t finalizeStatus(const fs::path& podDir, const std::optional<cgroup::Group>& pod) {
  fs::path dir = podDir / podfile::kStatus;
  UniqueFd dirFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirFd) return 0;  // no status written: nothing to finish
  size_t changed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path& file = entry.path();
    if (file.extension() != ".json" || !entry.is_regular_file(ec)) continue;
    std::optional<AppStatus> status;
    try {
      status = readAppStatus(podDir, file.stem().string());
    } catch (const std::exception&) {
      continue;  // written atomically by the init: a damaged one is not ours to guess at
    }
    if (!status || status->state != "running") continue;
    bool oom = false;
    if (pod) {
      try {
        oom = pod->existingChild(cgroup::appCgroupName(status->name)).oomKills() > 0;
      } catch (const std::exception&) {
        // the cgroup is gone already: no OOM flag to report
      }
    }
    status->state = "exited";
    status->finishedAt = nowNs();
    status->exitCode.reset();
    status->signal = "SIGKILL";
    status->oomKilled = oom || status->oomKilled;
    if (!writeStatusAt(dirFd.get(), *status)) {
      throwErrno("write " + quote(file.string()));
    }
    ++changed;
  }
  return changed;
}

}  // namespace ferry::stage1
