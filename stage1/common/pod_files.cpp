#include "stage1/common/pod_files.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/own_file.hpp"
#include "stage1/common/abi.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;
using json::Json;

void writeCgroupsJson(const fs::path& podDir, const cgroup::Group& pod) {
  Json doc = Json::object();
  for (const auto& m : pod.members()) doc[m.mount.string()] = m.dir.string();
  writeFileAtomic(podDir / podfile::kCgroups, json::dump(doc, true) + "\n", 0600, Sync::kAtomic);
}

std::optional<cgroup::Group> readCgroupsJson(const fs::path& podDir, const std::string& uuid) {
  fs::path file = podDir / podfile::kCgroups;
  std::optional<std::string> text = readOwnFile(file, 16 << 20);
  if (!text) return std::nullopt;
  Json doc = json::parse(*text, quote(file.string()));
  try {
    std::vector<std::pair<std::string, std::string>> dirs;
    for (const auto& [mount, dir] : json::asObject(doc, "").items()) {
      dirs.emplace_back(mount, json::asString(dir, json::child("", mount)));
    }
    return cgroup::Group::fromRecord(dirs, podCgroupName(uuid));
  } catch (const Error& e) {
    throw Error(e.code(), quote(file.string()) + ": " + e.what());
  }
}

void writePidFile(const fs::path& podDir, pid_t pid) {
  writeFileAtomic(podDir / podfile::kPid, std::to_string(pid) + "\n", 0600, Sync::kAtomic);
}

void writeExitFile(const fs::path& podDir, int code) {
  writeFileAtomic(podDir / podfile::kExit, std::to_string(code) + "\n", 0600, Sync::kAtomic);
}

std::optional<pid_t> readPidFile(const fs::path& podDir) {
  fs::path file = podDir / podfile::kPid;
  std::optional<std::string> own = readOwnFile(file, 64);
  if (!own) return std::nullopt;
  const std::string& text = *own;
  char* end = nullptr;
  long pid = std::strtol(text.c_str(), &end, 10);
  if (pid <= 0 || end == text.c_str() || (*end != '\n' && *end != '\0')) {
    throw Error(Errc::kInvalid, "cannot read " + quote(file.string()) + ": not a process ID");
  }
  return static_cast<pid_t>(pid);
}

std::optional<int64_t> readNumberFile(const fs::path& file) {
  std::optional<std::string> own = readOwnFile(file, 4096);
  if (!own) return std::nullopt;
  std::string text = std::move(*own);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return std::nullopt;
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    throw Error(Errc::kInvalid, quote(file.string()) + ": not a number: " + quote(text));
  }
}

std::optional<int64_t> fileTime(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

bool isPodProcess(pid_t pid, const std::string& uuid) {
  std::string text;
  try {
    text = readFile("/proc/" + std::to_string(pid) + "/cgroup");
  } catch (const std::exception&) {
    return false;  // gone
  }
  std::string name = "/" + podCgroupName(uuid);
  return text.find(name + "/") != std::string::npos || text.find(name + "\n") != std::string::npos;
}

fs::path currentPodDir() {
  std::error_code ec;
  fs::path dir = fs::canonical(fs::current_path(), ec);
  if (ec) throwErrno(ec.value(), "resolve the pod directory (the working directory)");
  return dir;
}

}  // namespace ferry::stage1
