#include "stage1/common/descriptor.hpp"

#include <unistd.h>

#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

Descriptor Descriptor::load(const fs::path& dirIn) {
  fs::path file = dirIn / kDescriptorFile;
  std::string what = quote(file.string());
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw Error(Errc::kNotFound,
                "no stage1 at " + quote(dirIn.string()) + ": " + what + " does not exist");
  }
  json::Json j = json::parse(readFile(file, 1 << 20), file.string());
  Descriptor d;
  d.dir = fs::canonical(dirIn);
  try {
    json::asObject(j, "");
    if (!j.contains("name")) json::fail("name", "missing");
    d.name = json::asString(j["name"], "name");
    if (!j.contains("interfaceVersion")) json::fail("interfaceVersion", "missing");
    d.interfaceVersion =
        static_cast<int>(json::asInt(j["interfaceVersion"], "interfaceVersion", 0, 1000));
    if (d.interfaceVersion != kInterfaceVersion) {
      throw Error(Errc::kUnsupported, "interfaceVersion: " + std::to_string(d.interfaceVersion) +
                                          " is not supported (ferry " + "speaks version " +
                                          std::to_string(kInterfaceVersion) + ")");
    }
    if (!j.contains("entrypoints")) json::fail("entrypoints", "missing");
    const auto& eps = json::asObject(j["entrypoints"], "entrypoints");
    for (const auto& [k, v] : eps.items()) {
      std::string path = json::child("entrypoints", k);
      const std::string& rel = json::asString(v, path);
      fs::path p = fs::path(rel).lexically_normal();
      if (rel.empty() || p.is_absolute() || *p.begin() == "..") {
        json::fail(path, "must be a relative path inside the stage1 directory");
      }
      if (::access((d.dir / p).c_str(), X_OK) != 0) {
        json::fail(path, quote((d.dir / p).string()) + " is not executable");
      }
      d.entrypoints[k] = p.string();
    }
    for (const char* required : {"run", "gc"}) {
      if (!d.entrypoints.contains(required)) {
        json::fail(json::child("entrypoints", required), "missing");
      }
    }
    if (j.contains("features")) d.features = json::asObject(j["features"], "features");
    if (auto it = d.features.find(std::string(feature::kMaxApps)); it != d.features.end()) {
      json::asInt(*it, json::child("features", feature::kMaxApps), 1, 1 << 20);
    }
  } catch (const Error& e) {
    throw Error(e.code(), "invalid stage1 " + what + ": " + e.what());
  }
  return d;
}

bool Descriptor::feature(std::string_view name) const {
  auto it = features.find(std::string(name));
  return it != features.end() && it->is_boolean() && it->get<bool>();
}

std::optional<std::vector<std::string>> Descriptor::list(std::string_view name) const {
  auto it = features.find(std::string(name));
  if (it == features.end()) return std::nullopt;
  std::vector<std::string> out;
  if (it->is_array()) {
    for (const auto& m : *it) {
      if (m.is_string()) out.push_back(m.get<std::string>());
    }
  }
  return out;
}

bool Descriptor::supportsNet(std::string_view mode) const {
  auto modes = list(feature::kNet);
  if (!modes) return false;
  for (const auto& m : *modes) {
    if (m == mode) return true;
  }
  return false;
}

std::optional<int64_t> Descriptor::maxApps() const {
  auto it = features.find(std::string(feature::kMaxApps));
  if (it == features.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

void refuseUnsupported(const Descriptor& d, const RuntimeOptions& rt) {
  std::string who = "not supported: stage1 " + quote(d.name);
  if (!d.supportsNet(rt.net)) {
    auto modes = d.list(feature::kNet).value_or(std::vector<std::string>{});
    std::string offered;
    for (const auto& m : modes) offered += (offered.empty() ? "" : ", ") + m;
    throw Error(Errc::kUnsupported, who + " does not offer --net=" + rt.net + " (it offers " +
                                        (offered.empty() ? "none" : offered) + ")");
  }
  if (rt.interactive && !d.feature(feature::kInteractive)) {
    throw Error(Errc::kUnsupported, who + " does not offer --interactive");
  }
  if (rt.mds && !d.feature(feature::kMds)) {
    throw Error(Errc::kUnsupported, who + " does not offer --mds-register");
  }
  if (auto max = d.maxApps(); max && static_cast<int64_t>(rt.apps.size()) > *max) {
    throw Error(Errc::kUnsupported,
                who + " runs at most " + std::to_string(*max) + (*max == 1 ? " app" : " apps") +
                    " in a pod (this one has " + std::to_string(rt.apps.size()) + ")");
  }
}

Descriptor ownDescriptor() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throwErrno(ec.value(), "read /proc/self/exe");
  return Descriptor::load(exe.parent_path().parent_path());
}

}  // namespace ferry::stage1
