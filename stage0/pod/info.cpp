#include "stage0/pod/info.hpp"

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/own_file.hpp"
#include "formats/appc/pod_manifest.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

namespace {

// RFC 3339 in UTC with nanoseconds ("2026-12-06T21:52:32.123456789Z"), as `image list` writes
// times: integer nanoseconds since 1970 exceed 2^53, which JSON readers round.
json::Json timeJson(const std::optional<int64_t>& ns) {
  if (!ns) return nullptr;
  std::time_t secs = static_cast<std::time_t>(*ns / 1000000000);
  int64_t frac = *ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(frac));
  return std::string(buf);
}

// True when no process pid runs: none has it, or it is a zombie (an init whose parent, the
// stage1 run process, was killed is reparented and stays a zombie until reaped).
bool processGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "re");
  if (f == nullptr) return errno == ENOENT;
  char buf[512];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // "pid (comm) S ...": the state follows the last ')' (comm may hold parentheses).
  const char* close = std::strrchr(buf, ')');
  return close != nullptr && close[1] == ' ' && (close[2] == 'Z' || close[2] == 'X');
}

}  // namespace

json::Json PodInfo::toJson() const {
  auto opt = [](const auto& v) { return v ? json::Json(*v) : json::Json(nullptr); };
  json::Json j = json::Json::object();
  j["name"] = uuid;
  j["state"] = std::string(stateName(state));
  j["pid"] = opt(pid);
  j["exitCode"] = opt(exitCode);
  j["createdAt"] = timeJson(createdAt);
  j["startedAt"] = timeJson(startedAt);
  j["finishedAt"] = timeJson(finishedAt);
  j["unit"] = opt(unit);
  json::Json apps = json::Json::array();
  for (const auto& a : this->apps) {
    AppStatus none;
    none.name = a.name;
    json::Json o = statusToJson(a.status ? *a.status : none);
    const AppStatus& st = a.status ? *a.status : none;
    o["createdAt"] = timeJson(st.createdAt);
    o["startedAt"] = timeJson(st.startedAt);
    o["finishedAt"] = timeJson(st.finishedAt);
    o["imageName"] = a.imageName;
    o["imageId"] = a.imageId;
    apps.push_back(o);
  }
  j["apps"] = apps;
  json::Json nets = json::Json::array();
  if (net == "host" || net == "none") nets.push_back({{"name", net}});
  for (const auto& n : networks) {
    nets.push_back({{"name", n.name}, {"ifName", n.ifName}, {"addresses", n.addresses}});
  }
  j["networks"] = nets;
  return j;
}

std::string PodInfo::networksText(bool everyAddress) const {
  if (net == "host" || net == "none") return net;
  std::string out;
  auto add = [&out](const std::string& one) { out += (out.empty() ? "" : ",") + one; };
  for (const auto& n : networks) {
    if (n.addresses.empty()) {
      add(n.name);
    } else if (!everyAddress) {
      add(n.name + ":" + n.addresses.front());
    } else {
      for (const auto& a : n.addresses) add(n.name + ":" + a);
    }
  }
  return out.empty() ? "-" : out;
}

PodInfo inspect(const Pod& pod) {
  PodInfo info;
  info.uuid = pod.uuid;
  info.state = pod.state();
  const fs::path& d = pod.path;
  info.createdAt = fileTime(d / "pod");
  if (!info.createdAt) info.createdAt = fileTime(d / "lock");
  if (pod.dir == Dir::kRun || pod.dir == Dir::kExitedGarbage) {
    info.pid = readNumberFile(d / "pid");
    if (info.pid) info.startedAt = fileTime(d / "pid");
    info.exitCode = readNumberFile(d / "exit");
    if (info.exitCode) info.finishedAt = fileTime(d / "exit");
  }
  std::error_code ec;
  // stage0/systemd/pod_unit.hpp writes it; only the name matters here.
  if (auto text = readOwnFile(d / "unit", 1 << 16)) {
    json::Json u = json::parse(*text, (d / "unit").string());
    if (u.is_object() && u.contains("name") && u["name"].is_string()) {
      info.unit = u["name"].get<std::string>();
    }
  }
  if (!fs::exists(d / "runtime.json", ec)) return info;
  RuntimeOptions ro = RuntimeOptions::read(d);
  info.net = ro.net == "default" ? "none" : ro.net;
  if (info.net == "netns") info.networks = net::networkStatus(d);
  std::optional<appc::PodManifest> pm;
  if (fs::exists(d / "pod", ec))
    pm = appc::PodManifest::parse(readFile(d / "pod"), (d / "pod").string());
  for (const auto& a : ro.apps) {
    PodAppInfo ai;
    ai.name = a.name;
    ai.imageId = a.image;
    if (pm) {
      if (const auto* ra = pm->findApp(a.name); ra != nullptr) {
        if (auto shown = ra->annotations.get(kImageNameAnnotation)) {
          ai.imageName = std::string(*shown);
        } else if (ra->image.name) {
          ai.imageName = ra->image.name->str();
          if (auto v = ra->image.labels.get("version")) ai.imageName += ":" + std::string(*v);
        }
      }
    }
    ai.status = readAppStatus(d, a.name);
    info.apps.push_back(std::move(ai));
  }
  // A pod whose stage1 run process died (kill -9 of `ferry run`) before its bookkeeping: it ran,
  // its lock is free, it has no exit file, and its first process is gone (the ns stage1's init
  // dies with the stage1, by SIGKILL, and every app with it). Shown as what the caller of
  // `ferry run` saw: 137 (128 + SIGKILL) for the pod, each unfinished app killed by SIGKILL,
  // finish times unknown.
  bool gone = !info.pid || processGone(static_cast<pid_t>(*info.pid));
  if (pod.dir == Dir::kRun && info.state == State::kExited && !info.exitCode && gone &&
      fs::exists(d / "pod", ec)) {
    info.exitCode = 128 + SIGKILL;
    for (auto& a : info.apps) {
      if (!a.status) continue;
      if (a.status->state == "exited") continue;
      a.status->state = "exited";
      a.status->signal = "SIGKILL";
      a.status->exitCode.reset();
    }
  }
  return info;
}

}  // namespace ferry::pod
