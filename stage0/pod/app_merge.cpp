#include "stage0/pod/app_merge.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>

#include "common/capabilities.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/rlimits.hpp"
#include "formats/translate/keys.hpp"
#include "formats/translate/oci_to_aci.hpp"
#include "formats/translate/ulimit.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

namespace {

std::string isolatorFamily(const appc::Isolator& i) {
  std::string n = i.name().str();
  if (n.starts_with("os/linux/capabilities-")) return "caps";
  if (n.starts_with("os/linux/seccomp-")) return "seccomp";
  return n;
}

// The image's isolators that the operator's (of the same family) do not replace.
appc::Isolators imageIsolatorsKept(const appc::Isolators& image, const appc::Isolators& ops) {
  std::set<std::string> replaced;
  for (const auto& o : ops) {
    if (!std::holds_alternative<appc::UnixSysctl>(o.value)) replaced.insert(isolatorFamily(o));
  }
  appc::Isolators out = image;
  std::erase_if(out, [&](const appc::Isolator& i) { return replaced.contains(isolatorFamily(i)); });
  return out;
}

}  // namespace

std::string lastComponent(const std::string& name) {
  std::string n = name;
  auto at = n.find_first_of("@");
  if (at != std::string::npos) n = n.substr(0, at);
  auto slash = n.rfind('/');
  if (slash != std::string::npos) n = n.substr(slash + 1);
  auto colon = n.find(':');
  if (colon != std::string::npos) n = n.substr(0, colon);
  return n;
}

void mergeIsolators(appc::Isolators& base, const appc::Isolators& overrides) {
  std::set<std::string> replaced;
  for (const auto& o : overrides) replaced.insert(isolatorFamily(o));
  appc::StringMap sysctl;
  bool anySysctl = false;
  auto addSysctl = [&](const appc::Isolator& i) {
    const auto* s = std::get_if<appc::UnixSysctl>(&i.value);
    if (s == nullptr) return false;
    for (const auto& [k, v] : s->entries) {
      auto it = std::find_if(sysctl.begin(), sysctl.end(),
                             [&key = k](const auto& e) { return e.first == key; });
      if (it != sysctl.end()) {
        it->second = v;
      } else {
        sysctl.emplace_back(k, v);
      }
    }
    anySysctl = true;
    return true;
  };
  std::erase_if(base, [&](const appc::Isolator& i) {
    return addSysctl(i) || replaced.contains(isolatorFamily(i));
  });
  for (const auto& o : overrides) {
    if (!addSysctl(o)) base.push_back(o);
  }
  if (anySysctl) base.push_back(appc::Isolator{appc::UnixSysctl{sysctl}});
}

appc::App mergeApp(const ResolvedImage& img, const AppRequest& req, const std::string& appName,
                   appc::RuntimeApp& ra, const translate::InsecureRun& insecure) {
  appc::App a = img.manifest.app.value_or(appc::App{});
  if (!img.manifest.app) {
    a.user = "0";
    a.group = "0";
  }
  if (req.exec) {
    a.exec = {*req.exec};
    a.exec.insert(a.exec.end(), req.args.begin(), req.args.end());
  } else if (!req.args.empty()) {
    // Arguments after -- follow the image's exec (as rkt), except that an OCI image's Cmd —
    // recorded by the conversion, the tail of exec — gives way to them while its Entrypoint
    // stays (as Docker and podman).
    if (auto cmd = img.manifest.annotations.get(translate::keys::kOciCmd)) {
      std::vector<std::string> tail;
      try {
        tail = json::parse(*cmd, "annotation").get<std::vector<std::string>>();
      } catch (const std::exception&) {
        tail.clear();
      }
      if (tail.size() <= a.exec.size() &&
          std::equal(tail.begin(), tail.end(), a.exec.end() - static_cast<long>(tail.size()))) {
        a.exec.resize(a.exec.size() - tail.size());
      }
    }
    if (a.exec.empty() && !img.manifest.app) {
      throw Error(Errc::kUsage, "app " + quote(appName) +
                                    ": the image has no exec to pass arguments to; use --exec");
    }
    a.exec.insert(a.exec.end(), req.args.begin(), req.args.end());
  }
  if (req.user) a.user = *req.user;
  if (req.group) {
    a.group = *req.group;
  } else if (req.user) {
    // --user without --group: the user's primary group in the image's /etc/passwd, else 0 (as
    // Docker and podman); a /path user takes the path's group too. Never the image's group.
    if (req.user->starts_with("/")) {
      a.group = *req.user;
    } else {
      auto passwd = readInTree(img.tree, "etc/passwd");
      auto entry = passwd ? translate::lookupUser(*passwd, *req.user) : std::nullopt;
      a.group = entry ? std::to_string(entry->gid) : "0";
    }
  }
  if (a.user.empty()) a.user = "0";
  if (a.group.empty()) a.group = "0";
  if (req.supplementaryGids) a.supplementaryGIDs = *req.supplementaryGids;
  if (req.workingDir) a.workingDirectory = *req.workingDir;
  applyOciEnv(img, a, ra);
  for (const auto& [n, v] : req.environment) a.environment.set(n, v);
  if (!a.environment.get("HOME")) {
    // What a shell needs that an image rarely sets (as runc and podman): the user's home in the
    // image's /etc/passwd, else "/".
    std::string home = "/";
    if (!a.user.starts_with("/")) {
      auto passwd = readInTree(img.tree, "etc/passwd");
      auto entry = passwd ? translate::lookupUser(*passwd, a.user) : std::nullopt;
      if (entry && !entry->home.empty()) home = entry->home;
    }
    a.environment.set("HOME", home);
  }
  auto setEntry = [](appc::StringMap& map, const std::string& name, const std::string& value) {
    auto it = std::find_if(map.begin(), map.end(), [&](const auto& e) { return e.first == name; });
    if (it != map.end()) {
      it->second = value;
    } else {
      map.emplace_back(name, value);
    }
  };
  for (const auto& [n, v] : req.userAnnotations) setEntry(a.userAnnotations, n, v);
  for (const auto& [n, v] : req.userLabels) setEntry(a.userLabels, n, v);
  // What the image asks beyond appc's defaults needs the operator's grant (the image's
  // isolators that the app flags replace ask nothing).
  translate::ImageGrants grants{req.sysctlGrants, insecure.capabilities, insecure.seccomp};
  translate::checkImageIsolators(imageIsolatorsKept(a.isolators, req.isolators), grants, appName);
  mergeIsolators(a.isolators, req.isolators);
  appc::validateIsolatorSet(a.isolators, "app " + appName + " isolators");
  if (a.exec.empty()) {
    throw Error(Errc::kUsage,
                "app " + quote(appName) + ": the image says nothing to execute; give --exec");
  }
  return a;
}

std::vector<std::pair<std::string, std::string>> inheritedEnvironment() {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

void satisfyMountPoints(appc::RuntimeApp& ra, std::vector<appc::Volume>& volumes,
                        translate::Report& report) {
  const appc::App& a = *ra.app;
  for (const auto& mp : a.mountPoints) {
    bool done = std::any_of(ra.mounts.begin(), ra.mounts.end(), [&](const appc::Mount& m) {
      return m.path == mp.path || m.volume == mp.name;
    });
    if (done) continue;
    bool hasVolume = std::any_of(volumes.begin(), volumes.end(),
                                 [&](const appc::Volume& v) { return v.name == mp.name; });
    if (!hasVolume) {
      volumes.push_back(appc::Volume{mp.name, appc::EmptyVolume{}, std::nullopt, std::nullopt});
      report.approximated("apps[" + ra.name.str() + "].mountPoints[" + mp.name.str() + "]",
                          "no volume given for mount point " + quote(mp.name.str()) + " (" +
                              mp.path + "): an empty volume was created for it");
    }
    ra.mounts.push_back(appc::Mount{mp.name, mp.path, std::nullopt});
  }
}

void addMountRequests(appc::RuntimeApp& ra, const std::vector<MountRequest>& reqs) {
  for (const auto& m : reqs) {
    std::string path = m.target;
    if (path.empty() || path[0] != '/') {
      auto it = std::find_if(ra.app->mountPoints.begin(), ra.app->mountPoints.end(),
                             [&](const appc::MountPoint& mp) { return mp.name.str() == path; });
      if (it == ra.app->mountPoints.end()) {
        throw Error(Errc::kUsage, "--mount target=" + quote(m.target) +
                                      ": neither an absolute path nor a mount point of app " +
                                      quote(ra.name.str()));
      }
      path = it->path;
    }
    ra.mounts.push_back(appc::Mount{appc::AcName::parse(m.volume), path, std::nullopt});
  }
}

bool needsDefaultHosts(const std::string& tree) {
  struct stat st {};
  fs::path etc = fs::path(tree) / "etc";
  if (::lstat(etc.c_str(), &st) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return false;
  return ::lstat((etc / "hosts").c_str(), &st) != 0 && errno == ENOENT;
}

void checkRlimits(const appc::RuntimeApp& ra) {
  std::string app = quote(ra.name.str());
  auto limits = translate::rlimitsFromAnnotations(ra.annotations, "app " + app + " annotations");
  if (limits.empty() || hasEffectiveCapSysResource()) return;
  auto text = [](uint64_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); };
  for (const auto& l : limits) {
    auto res = rlimitResource(l.type);
    if (!res) throw Error(Errc::kUnsupported, "app " + app + ": " + l.type + " is unknown here");
    struct rlimit cur {};
    if (::getrlimit(*res, &cur) != 0) throwErrno("read " + l.type);
    if (cur.rlim_max != RLIM_INFINITY && l.hard > cur.rlim_max) {
      throw Error(Errc::kLimit, "cannot set " + l.type + " of app " + app + " to hard " +
                                    text(l.hard) + ": the hard limit is " + text(cur.rlim_max) +
                                    " and raising it needs CAP_SYS_RESOURCE, which ferry lacks");
    }
  }
}

void checkOomScoreAdj(const appc::RuntimeApp& ra) {
  if (!ra.app) return;
  for (const auto& iso : ra.app->isolators) {
    const auto* adj = std::get_if<appc::LinuxOomScoreAdj>(&iso.value);
    if (adj == nullptr) continue;
    int own = 0;
    std::string text = readFile("/proc/self/oom_score_adj", 64);
    std::from_chars(text.data(), text.data() + text.size(), own);
    if (adj->value < own && !hasEffectiveCapSysResource()) {
      throw Error(Errc::kLimit, "cannot set the oom_score_adj of app " + quote(ra.name.str()) +
                                    " to " + std::to_string(adj->value) +
                                    ": lowering it below ferry's own (" + std::to_string(own) +
                                    ") needs CAP_SYS_RESOURCE, which ferry lacks");
    }
  }
}

std::vector<std::string> boundingCapabilities() {
  std::vector<std::string> out;
  const auto& names = linuxCapabilityNames();
  for (size_t n = 0; n < names.size(); ++n) {
    if (::prctl(PR_CAPBSET_READ, n, 0, 0, 0) == 1) out.emplace_back(names[n]);
  }
  return out;
}

}  // namespace ferry::pod
