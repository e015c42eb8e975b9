#include "stage0/pod/prepare.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <set>

#include "common/capabilities.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/idmap.hpp"
#include "common/mds_client.hpp"
#include "common/rlimits.hpp"
#include "discovery/reference.hpp"
#include "formats/appc/image_manifest.hpp"
#include "formats/appc/uuid.hpp"
#include "formats/oci/image_config.hpp"
#include "formats/translate/app_runtime.hpp"
#include "formats/translate/keys.hpp"
#include "formats/translate/oci_to_aci.hpp"
#include "formats/translate/ulimit.hpp"
#include "stage0/net/pod_network.hpp"
#include "stage0/pod/etc_files.hpp"
#include "stage0/pod/info.hpp"
#include "stage0/pod/runtime_options.hpp"
#include "stage0/store/store.hpp"
#include "stage1/common/descriptor.hpp"
#include "stage1/common/keys.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

namespace {

std::array<uint8_t, 16> randomBytes16() {
  std::array<uint8_t, 16> b{};
  size_t got = 0;
  while (got < b.size()) {
    ssize_t n = ::getrandom(b.data() + got, b.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throwErrno("read random bytes");
    }
    got += static_cast<size_t>(n);
  }
  return b;
}

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice).
uint16_t freeLoopbackPort() {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throwErrno("create a socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throwErrno("pick a free port on 127.0.0.1");
  }
  return ntohs(a.sin_port);
}

// Everything of a pod directory is root's alone (Pods::Pods says why): directories 0700, files
// 0600, except what apps see through a bind mount (etc/hosts, etc/resolv.conf, volumes), whose
// own modes matter inside the pod and whose parent directories keep the host out.
void makeDir(const fs::path& p, mode_t mode = 0700) {
  if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST) throwErrno("create " + quote(p.string()));
}

// An image in the store with what a pod needs of it.
struct ResolvedImage {
  store::ImageRecord record;
  std::string tree;              // rendered rootfs
  appc::ImageManifest manifest;  // the ACI's, or the OCI image's translation
  appc::ImageId podId;           // the ID written in the pod manifest
  // The OCI config's StopSignal: of the OCI image, or of the one an ACI was translated from
  // (kept in its annotation dev.ferry.oci.config).
  std::optional<std::string> stopSignal;
};

constexpr std::string_view kStopTimeoutAnnotation = keys::kStopTimeout;
// Where an app that speaks sd_notify finds its notify socket (ABI §5 "systemd").
constexpr std::string_view kNotifySocketInApp = "/run/systemd/notify";

// Seconds, 0 to a day (what the pod init accepts).
int stopTimeout(std::string_view text, const std::string& what) {
  int v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0 || v > 86400) {
    throw Error(Errc::kInvalid, what + ": want seconds from 0 to 86400, not " + quote(text));
  }
  return v;
}

// A regular file of an image's rendered tree, its path resolved as if the tree were "/"
// (openat2 RESOLVE_IN_ROOT: an /etc symlink to /etc stays in the image); nullopt when absent or
// not a regular file.
std::optional<std::string> readInTree(const std::string& tree, const char* rel) {
  UniqueFd root(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throwErrno("open " + quote(tree));
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), rel, &how, sizeof how)));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (st.st_size > (4 << 20)) {
    throw Error(Errc::kLimit, "cannot read " + quote(tree + "/" + rel) + ": larger than 4 MiB");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwErrno("read " + quote(tree + "/" + rel));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

std::optional<std::string> keptStopSignal(const appc::ImageManifest& m, const std::string& id) {
  auto kept = m.annotations.get(translate::keys::kOciConfig);
  if (!kept) return std::nullopt;
  std::string what =
      "image " + id + " annotations[" + std::string(translate::keys::kOciConfig) + "]";
  json::Json j = json::parse(*kept, what);
  if (!j.is_object() || !j.contains("StopSignal")) return std::nullopt;
  if (!j["StopSignal"].is_string()) throw Error(Errc::kInvalid, what + ".StopSignal: not a string");
  return j["StopSignal"].get<std::string>();
}

// The image's name as an AC Identifier for the translation, best effort.
std::string identifierFor(const std::string& n) {
  std::string out;
  for (char c : n) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) || l == '.' || l == '/' || l == '-' ||
            l == '_' || l == '~')
               ? l
               : '-';
  }
  if (out.empty() || !appc::AcIdentifier::isValid(out)) return "image";
  return out;
}

// The name of an image a pod shows: the one `typed` names (docker://REPO:TAG, oci:DIR:REF)
// among the names the image was fetched under, else its newest name — never the first name with
// another name's tag.
store::ImageName chosenName(const store::ImageRecord& r, const std::string& typed) {
  std::optional<store::ImageName> want;
  if (!typed.empty()) {
    try {
      fetch::ImageArg arg = fetch::parseImageArg(typed);
      if (const auto* d = std::get_if<fetch::DockerArg>(&arg)) {
        auto ref = registry::DockerReference::parse(d->ref);
        want = store::ImageName{ref.name(), ref.tag().value_or("")};
      } else if (const auto* o = std::get_if<fetch::OciLayoutArg>(&arg)) {
        want = store::ImageName{"oci:" + fs::absolute(o->dir).lexically_normal().string(),
                                o->ref.value_or("")};
      }
    } catch (const Error&) {
      // an ID or a name only the fetchers understand: the newest name
    }
  }
  const store::ImageName* best = nullptr;
  for (const auto& n : r.names) {
    if (want && n.name == want->name && (want->tag.empty() || n.tag == want->tag)) best = &n;
  }
  if (best == nullptr && !r.names.empty()) best = &r.names.back();
  if (best == nullptr) return {r.name, r.tags.empty() ? "" : r.tags.front()};
  // An untagged entry of a name that has tags: the newest tag of that name.
  if (best->tag.empty()) {
    for (const auto& n : r.names) {
      if (n.name == best->name && !n.tag.empty()) best = &n;
    }
  }
  return *best;
}

ResolvedImage resolveImage(store::Store& store, const std::string& imageId, translate::Report& rep,
                           const std::string& appPath, const std::string& typed = {}) {
  auto rec = store.findImage(imageId);
  if (!rec) throw Error(Errc::kNotFound, "no image " + quote(imageId) + " in the store");
  // image list's LAST USED (at most once a minute: no index write on most starts).
  if (rec->lastUsedAt + 60 < static_cast<int64_t>(std::time(nullptr))) store.touch(rec->id);
  std::string tree = store.renderTree(rec->id).rootfs.string();
  if (rec->kind == store::ImageKind::kAci) {
    auto manifest = appc::ImageManifest::parse(rec->appcManifest, "manifest of image " + rec->id);
    auto stop = keptStopSignal(manifest, rec->id);
    return ResolvedImage{*rec, tree, std::move(manifest), appc::ImageId::parse(rec->id), stop};
  }
  // OCI: the ACI translation of its config gives the app section (DESIGN §1: translators).
  std::string manifestText, configText;
  for (const auto& b : rec->blobs) {
    if (b.role == store::BlobRole::kManifest)
      manifestText = store.openBlob(b.digest).readAll(4 << 20);
    if (b.role == store::BlobRole::kConfig) configText = store.openBlob(b.digest).readAll(16 << 20);
  }
  if (configText.empty()) throw Error(Errc::kNotFound, "image " + rec->id + " has no config");
  oci::ImageConfig config = oci::ImageConfig::parse(configText, "config of image " + rec->id);
  translate::AciIdentity id;
  store::ImageName shown = chosenName(*rec, typed);
  id.name = identifierFor(shown.name);
  if (!shown.tag.empty()) id.version = shown.tag;
  translate::UserDatabase users;
  users.passwd = readInTree(tree, "etc/passwd");
  users.group = readInTree(tree, "etc/group");
  translate::Report r;
  appc::ImageManifest manifest = translate::ociToAci(config, id, users, r);
  for (const auto& l : r.items()) {
    // Only what changes how the app runs matters here (not history, labels, …). The image's
    // Env and StopSignal apply as OCI says (ociEnvExtras, stopSignal); other fields of its
    // config that an ACI keeps in an annotation do not apply at all.
    if (!l.field.starts_with("config.") || l.field.starts_with("config.Env[") ||
        l.field == "config.StopSignal") {
      continue;
    }
    std::string field = appPath + ".image(" + rec->id + ")." + l.field;
    if (l.kind != translate::LossKind::kAnnotation) {
      rep.add(field, l.kind, l.detail);
    } else if (l.field.find('[') == std::string::npos) {
      rep.dropped(field, "ferry run does not apply it");  // a whole field kept aside
    }
  }
  // appc image IDs are sha512 of the image: for an OCI image, of its manifest (which pins
  // every layer and the config by digest). The store's ID is in runtime.json.
  return ResolvedImage{
      *rec, tree, std::move(manifest),
      appc::ImageId::fromDigest(Digest::of(DigestAlgorithm::kSha512, manifestText)),
      config.config ? config.config->stopSignal : std::nullopt};
}

// The store's ID of the OCI image a pod manifest names by its appc ID (the sha512 of its
// manifest: resolveImage), when the store has it and the ID is no image of its own.
std::optional<std::string> findOciByPodId(const store::Store& store, const appc::ImageId& id) {
  if (store.findImage(id.str())) return std::nullopt;
  for (const auto& rec : store.listImages()) {
    if (rec.kind != store::ImageKind::kOci) continue;
    for (const auto& b : rec.blobs) {
      if (b.role != store::BlobRole::kManifest) continue;
      std::string text = store.openBlob(b.digest).readAll(4 << 20);
      if (appc::ImageId::fromDigest(Digest::of(DigestAlgorithm::kSha512, text)) == id)
        return rec.id;
    }
  }
  return std::nullopt;
}

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

std::string isolatorFamily(const appc::Isolator& i) {
  std::string n = i.name().str();
  if (n.starts_with("os/linux/capabilities-")) return "caps";
  if (n.starts_with("os/linux/seccomp-")) return "seccomp";
  return n;
}

// Replaces isolators of the same family as any in `overrides`; sysctls merge key by key (the
// override's value wins), so that --sysctl KEY=VALUE keeps the image's other keys.
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

struct AppBuild {
  appc::RuntimeApp app;
  ResolvedImage image;
};

// What the pod init hands an app from systemd (stage1/ABI.md §3, §5 "systemd"): an app whose
// image says it speaks sd_notify gets a notify socket of its own on /run/systemd/notify (made by
// the init at notify/<app>) and NOTIFY_SOCKET; an app with socket-activated ports gets the
// activation descriptors named after them.
void addSystemdHandover(oci::RuntimeSpec& spec, const AppBuild& b, const fs::path& runDir) {
  std::string name = b.app.name.str();
  auto notify = b.image.manifest.annotations.get(keys::kAppcSupportsNotify);
  if (notify && *notify == "true") {
    std::string file = name;
    std::replace(file.begin(), file.end(), '/', '_');
    spec.annotations[std::string(keys::kNotify)] = "true";
    oci::Mount m;
    m.destination = kNotifySocketInApp;
    m.type = "bind";
    m.source = (runDir / "notify" / file).string();
    m.options = {"bind"};
    spec.mounts.push_back(std::move(m));
    if (spec.process) {
      spec.process->env.push_back("NOTIFY_SOCKET=" + std::string(kNotifySocketInApp));
    }
  }
  std::string ports;
  if (b.app.app) {
    for (const auto& p : b.app.app->ports) {
      if (p.socketActivated.value_or(false)) ports += (ports.empty() ? "" : ",") + p.name.str();
    }
  }
  if (!ports.empty()) spec.annotations[std::string(keys::kSocketActivated)] = ports;
}

// ferry's own environment, for --inherit-env.
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

// The OCI Env entries an ACI's environment could not hold, kept by the translation in the
// image's annotation dev.ferry.oci.env: a later value of a name (Docker lets the last one win)
// and names appc refuses ("spring.profiles.active"). At run they apply as OCI says.
struct OciEnvExtras {
  std::vector<std::pair<std::string, std::string>> laterValues;  // valid names: set in order
  json::Json otherNames = json::Json::array();                   // "NAME=VALUE" strings
};

OciEnvExtras ociEnvExtras(const ResolvedImage& img) {
  OciEnvExtras out;
  auto kept = img.manifest.annotations.get(translate::keys::kOciEnv);
  if (!kept) return out;
  std::string what =
      "image " + img.record.id + " annotations[" + std::string(translate::keys::kOciEnv) + "]";
  json::Json j = json::parse(*kept, what);
  if (!j.is_array()) throw Error(Errc::kInvalid, what + ": not an array");
  for (const auto& e : j) {
    if (!e.is_string()) throw Error(Errc::kInvalid, what + ": not an array of strings");
    std::string entry = e.get<std::string>();
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;  // no value: nothing to set (as runc)
    std::string name = entry.substr(0, eq);
    if (appc::isValidEnvironmentName(name)) {
      out.laterValues.emplace_back(name, entry.substr(eq + 1));
    } else {
      out.otherNames.push_back(entry);
    }
  }
  return out;
}

// Applies an image's OCI environment extras to an app taken from that image (before the
// user's --environment) and records the names appc refuses as the app annotation
// dev.ferry.environment, which appToRuntime applies.
void applyOciEnv(const ResolvedImage& img, appc::App& app, appc::RuntimeApp& ra) {
  OciEnvExtras x = ociEnvExtras(img);
  for (const auto& [n, v] : x.laterValues) app.environment.set(n, v);
  if (!x.otherNames.empty()) {
    ra.annotations.set(appc::AcIdentifier::parse(translate::runtime_keys::kExtraEnvironment),
                       x.otherNames.dump());
  }
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

// Every mount point gets a mount: an explicit --mount, or a pod volume of the same name, or
// (as rkt does) an implicit empty volume, reported.
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

// Whether an app gets the default /etc/hosts (no --hosts-entry): only when its image has none.
// An /etc that is a symlink (or anything but a directory) is left as the image made it: stage0
// never follows an image's symlink.
bool needsDefaultHosts(const std::string& tree) {
  struct stat st {};
  fs::path etc = fs::path(tree) / "etc";
  if (::lstat(etc.c_str(), &st) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return false;
  return ::lstat((etc / "hosts").c_str(), &st) != 0 && errno == ENOENT;
}

// A hard limit above ferry's own needs CAP_SYS_RESOURCE: refused here, before anything starts,
// rather than by stage2 once the pod runs.
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

// Lowering oom_score_adj below ferry's own needs CAP_SYS_RESOURCE too: refused here as well.
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

// The capabilities ferry's bounding set holds: all an app can get (--insecure-options=
// capabilities).
std::vector<std::string> boundingCapabilities() {
  std::vector<std::string> out;
  const auto& names = linuxCapabilityNames();
  for (size_t n = 0; n < names.size(); ++n) {
    if (::prctl(PR_CAPBSET_READ, n, 0, 0, 0) == 1) out.emplace_back(names[n]);
  }
  return out;
}

json::Json resourcesJson(const oci::LinuxResources& r) {
  oci::RuntimeSpec s;
  s.linuxConfig = oci::Linux{};
  s.linuxConfig->resources = r;
  return s.toJson()["linux"]["resources"];
}

// Writes everything of the pod directory (in prepare/).
void fill(const PodRequest& req, const Pods& pods, const Pod& pod, const Stage1& s1,
          net::NetPlan netPlan, translate::Report& report, Sync sync) {
  const std::string& uuid = pod.uuid;
  fs::path dataDir = pods.root().parent_path();
  fs::path runDir = pods.pathOf(Dir::kRun, uuid);  // where the pod's files are when it runs

  // --- apps and their images
  store::Store store = store::Store::open(dataDir);
  store.deferCheckpoints();  // a start never waits for the index's checkpoint
  // Held until runtime.json names the trees: an `image gc` in between would not see them.
  store::LockHold storeHold = store.lockShared();
  appc::PodManifest pm;
  std::vector<AppBuild> builds;
  if (req.podManifest) {
    pm = appc::PodManifest::parse(readFile(*req.podManifest, 16 << 20), req.podManifest->string());
    for (auto& ra : pm.apps) {
      std::string ref = ra.image.id.str();
      std::string path = "apps[" + ra.name.str() + "]";
      if (auto oci = findOciByPodId(store, ra.image.id)) ref = *oci;
      if (!store.findImage(ref)) {
        if (!ra.image.name)
          throw Error(Errc::kNotFound, path + ": image " + ref + " is not in the store");
        std::string arg = ra.image.name->str();
        if (auto v = ra.image.labels.get("version")) arg += ":" + std::string(*v);
        ref = fetch::fetchImage(store, fetch::parseImageArg(arg), req.fetch);
      }
      ResolvedImage img = resolveImage(store, ref, report, path);
      if (!ra.app && img.manifest.app) {
        // The pod manifest takes the image's app section: what it asks beyond appc's defaults
        // needs a grant, as with `ferry run IMAGE`. An app section in the manifest is the
        // operator's own.
        translate::checkImageIsolators(img.manifest.app->isolators,
                                       {{}, req.insecure.capabilities, req.insecure.seccomp},
                                       ra.name.str());
        ra.app = img.manifest.app;
        applyOciEnv(img, *ra.app, ra);
      }
      if (!ra.app || ra.app->exec.empty()) {
        throw Error(Errc::kInvalid, path + ": nothing to execute (no app section)");
      }
      ra.image.id = img.podId;
      if (!ra.image.name) ra.image.name = img.manifest.name;
      builds.push_back({ra, std::move(img)});
    }
  } else {
    for (size_t i = 0; i < req.apps.size(); ++i) {
      const AppRequest& ar = req.apps[i];
      fetch::FetchOptions fetchOptions = req.fetch;
      if (ar.signature) fetchOptions.signature = *ar.signature;
      std::string id = fetch::fetchImage(store, fetch::parseImageArg(ar.image), fetchOptions);
      std::string path = "apps[" + std::to_string(i) + "]";
      ResolvedImage img = resolveImage(store, id, report, path, ar.image);
      std::string nameText = ar.name.value_or(lastComponent(img.manifest.name.str()));
      std::optional<appc::AcName> name;
      if (ar.name) {
        name = appc::AcName::parse(*ar.name);
      } else {
        name = appc::AcName::sanitize(nameText);
        if (!name) name = appc::AcName::parse("app");
      }
      appc::RuntimeApp ra{*name,
                          appc::RuntimeImage{img.manifest.name, img.podId, img.manifest.labels}};
      ra.app = mergeApp(img, ar, name->str(), ra, req.insecure);
      if (req.interactive && !ra.app->environment.get("TERM")) {
        // The app gets a terminal: the caller's TERM (as podman run -t), else xterm.
        const char* term = std::getenv("TERM");
        ra.app->environment.set("TERM", term != nullptr && *term != '\0' ? term : "xterm");
      }
      if (img.record.kind == store::ImageKind::kOci) {
        // What list and status show: the OCI name as run takes it (the pod manifest's image
        // name is an AC identifier, "oci-/path" for oci:/path).
        ra.annotations.set(appc::AcIdentifier::parse(kImageNameAnnotation),
                           store::displayName(img.record, chosenName(img.record, ar.image)));
      }
      for (const auto& u : ar.ulimits) {
        ra.annotations.set(appc::AcIdentifier::parse(u.annotationName()), u.valueText());
      }
      if (ar.pidsLimit) {
        ra.annotations.set(appc::AcIdentifier::parse(translate::kPidsLimitAnnotation),
                           translate::pidsLimitText(*ar.pidsLimit));
      }
      if (ar.stopSignal) {
        ra.annotations.set(appc::AcIdentifier::parse(translate::runtime_keys::kStopSignal),
                           *ar.stopSignal);
      }
      ra.readOnlyRootFS = ar.readOnlyRootfs;
      addMountRequests(ra, ar.mounts);
      builds.push_back({std::move(ra), std::move(img)});
    }
    pm.volumes = req.volumes;
  }
  for (const auto& v : req.volumes) {
    if (req.podManifest && !pm.findVolume(v.name.str())) pm.volumes.push_back(v);
  }
  mergeIsolators(pm.isolators, req.podIsolators);
  appc::validateIsolatorSet(pm.isolators, "pod isolators");
  if (req.podPidsLimit) {
    pm.annotations.set(appc::AcIdentifier::parse(translate::kPidsLimitAnnotation),
                       translate::pidsLimitText(*req.podPidsLimit));
  }
  if (req.stopTimeoutSeconds) {
    pm.annotations.set(appc::AcIdentifier::parse(kStopTimeoutAnnotation),
                       std::to_string(*req.stopTimeoutSeconds));
  }
  std::set<std::string> names;
  pm.apps.clear();
  for (auto& b : builds) {
    // The image's stop signal, unless the pod manifest or --stop-signal names one: recorded in
    // the pod manifest like every other setting of the app.
    auto stopKey = appc::AcIdentifier::parse(translate::runtime_keys::kStopSignal);
    if (b.image.stopSignal && !b.app.annotations.get(stopKey.str())) {
      b.app.annotations.set(stopKey, *b.image.stopSignal);
    }
    if (!names.insert(b.app.name.str()).second) {
      throw Error(Errc::kUsage,
                  "two apps are named " + quote(b.app.name.str()) + "; name them with --name");
    }
    satisfyMountPoints(b.app, pm.volumes, report);
  }
  for (const auto& b : builds) pm.apps.push_back(b.app);
  for (const auto& b : builds) {
    checkRlimits(b.app);
    checkOomScoreAdj(b.app);
  }
  for (const auto& b : builds) {
    for (const auto& m : b.app.mounts) {
      if (!m.appVolume && !pm.findVolume(m.volume.str())) {
        throw Error(Errc::kUsage, "app " + quote(b.app.name.str()) + " mounts volume " +
                                      quote(m.volume.str()) + ", which no --volume defines");
      }
    }
  }
  if (req.interactive && req.logDriver != "file") {
    throw Error(Errc::kUsage, "--interactive: the app has the terminal, not a log driver");
  }
  if (req.interactive && builds.size() != 1) {
    throw Error(Errc::kUsage, "--interactive needs exactly one app");
  }

  // --- pod-wide files
  RuntimeOptions ro;
  ro.uuid = uuid;
  ro.hostname = req.hostname.value_or("ferry-" + uuid.substr(0, 8));
  bool hostNet = req.net.mode == net::NetSpec::Mode::kHost;
  if (req.net.mode == net::NetSpec::Mode::kCni) {
    ro.net = "netns";
    ro.netns = net::netnsPath(runDir).string();
  } else {
    ro.net = hostNet ? "host" : "none";
  }
  ro.ipc = req.ipc;
  // --port NAME: the port the image of an app declares under that name (appc: the pod
  // manifest's ports).
  for (auto& p : netPlan.ports) {
    if (p.name.empty()) continue;
    const appc::Port* found = nullptr;
    for (const auto& b : builds) {
      if (!b.app.app) continue;
      for (const auto& ap : b.app.app->ports) {
        if (ap.name.str() == p.name) found = &ap;
      }
    }
    if (found == nullptr) {
      throw Error(Errc::kUsage, "--port " + quote(p.name) + ": no app of the pod declares a port " +
                                    "of that name");
    }
    p.podPort = found->port;
    p.protocol = found->protocol.empty() ? "tcp" : found->protocol;
    if (p.protocol != "tcp" && p.protocol != "udp") {
      throw Error(Errc::kUnsupported, "not supported: --port " + quote(p.name) + ": protocol " +
                                          quote(p.protocol) + " (tcp and udp are)");
    }
    appc::ExposedPort ep{appc::AcName::parse(p.name), p.hostPort, std::nullopt, std::nullopt};
    if (!p.hostIp.empty()) ep.hostIP = p.hostIp;
    pm.ports.push_back(ep);
  }
  ro.interactive = req.interactive;
  ro.logDriver = req.logDriver;
  ro.stage1Options = req.stage1Options;
  ro.noOverlay = req.noOverlay;
  ro.debug = req.debug;
  if (auto t = pm.annotations.get(kStopTimeoutAnnotation)) {
    ro.stopTimeoutSeconds =
        stopTimeout(*t, "annotations[" + std::string(kStopTimeoutAnnotation) + "]");
  }
  std::optional<std::string> metadataUrl;
  if (req.mdsRegister) {
    // With --net=host the port is on the host's loopback, shared with every other pod.
    uint16_t port = hostNet ? freeLoopbackPort() : req.mdsPort;
    ro.mds = MdsRegistration{req.mdsSocket, mds::newToken(), port};
    metadataUrl = mds::metadataUrl(port, ro.mds->token);
  }
  auto podResources = translate::resourcesFromIsolators(pm.isolators, "isolators", report);
  if (auto pids = translate::pidsLimitFromAnnotations(pm.annotations, "annotations")) {
    if (!podResources) podResources = oci::LinuxResources{};
    podResources->pids = oci::LinuxPids{*pids};
  }
  if (podResources) ro.podResources = resourcesJson(*podResources);
  std::optional<std::string> hostsPath, resolvPath, stubHostsPath;
  auto writeEtc = [&](const char* rel, const std::string& content) {
    makeDir(pod.path / "etc");
    writeFileAtomic(pod.path / rel, content, 0644, sync);
    return (runDir / rel).string();
  };
  EtcFile resolv = resolvConf(req.dns);
  if (auto dns = netPlan.declaredDns();
      dns && req.dns.servers.empty() && resolv.kind == EtcFile::Kind::kImage) {
    // rkt's: without --dns, the DNS of the pod's network (rewritten at start from the result).
    resolv = {EtcFile::Kind::kGenerated, net::resolvConfFromDns(*dns)};
    netPlan.resolvConf = true;
  }
  if (resolv.kind == EtcFile::Kind::kHost) resolvPath = "/etc/resolv.conf";
  if (resolv.kind == EtcFile::Kind::kGenerated) {
    resolvPath = writeEtc("etc/resolv.conf", resolv.content);
  }
  EtcFile hosts = hostsFile(req.hostsEntries, ro.hostname);
  if (hosts.kind == EtcFile::Kind::kHost) hostsPath = "/etc/hosts";
  if (hosts.kind == EtcFile::Kind::kGenerated) hostsPath = writeEtc("etc/hosts", hosts.content);
  if (hosts.kind == EtcFile::Kind::kImage &&
      std::any_of(builds.begin(), builds.end(),
                  [](const AppBuild& b) { return needsDefaultHosts(b.image.tree); })) {
    stubHostsPath = writeEtc("etc/hosts", defaultHosts(ro.hostname));
  }
  // --private-users: the pod's ID range, held from now until gc deletes the pod directory (its
  // upper directories and empty volumes hold files of the range until then).
  uint32_t idShift = 0;
  if (req.privateUsers) {
    idmap::RangeRegistry registry(idRangeRegistryDir(dataDir), idmap::HostIds::load());
    idmap::IdRange range = registry.acquire(uuid, *req.privateUsers);
    ro.privateUsers = PrivateUsersRange{range.hostStart(), range.hostStart(), range.count()};
    idShift = range.hostStart();
  }
  std::map<std::string, std::string> sources;
  for (const auto& v : pm.volumes) {
    if (const auto* h = std::get_if<appc::HostVolume>(&v.kind)) {
      if (h->source.empty() || h->source[0] != '/') {
        throw Error(Errc::kUsage,
                    "volume " + quote(v.name.str()) + ": source must be an absolute path");
      }
      sources[v.name.str()] = h->source;
    } else {
      const auto& e = std::get<appc::EmptyVolume>(v.kind);
      makeDir(pod.path / "volumes");
      fs::path dir = pod.path / "volumes" / v.name.str();
      makeDir(dir, 0700);
      // The pod's own directory: in a user namespace, owned by the host IDs the pod's
      // uid/gid map to.
      uid_t uid = e.uid.value_or(0), gid = e.gid.value_or(0);
      if (ro.privateUsers && (uid >= ro.privateUsers->count || gid >= ro.privateUsers->count)) {
        throw Error(Errc::kInvalid, "volume " + quote(v.name.str()) + ": uid " +
                                        std::to_string(uid) + "/gid " + std::to_string(gid) +
                                        " is outside the pod's " +
                                        std::to_string(ro.privateUsers->count) + " IDs");
      }
      if (::chown(dir.c_str(), uid + idShift, gid + idShift) != 0) {
        throwErrno("chown " + quote(dir.string()));
      }
      if (::chmod(dir.c_str(), e.modeBits()) != 0) throwErrno("chmod " + quote(dir.string()));
      sources[v.name.str()] = (runDir / "volumes" / v.name.str()).string();
    }
  }

  // --- apps/<app>/
  // Every app's config.json, checked with the whole pod against the stage1's features (an
  // app's sysctls, its limits: ABI §4) before any of them is written.
  stage1::PodAsk ask = stage1::PodAsk::of(ro);
  ask.netFlag = "--net=" + req.net.text();
  ask.hostname = req.hostname.has_value();
  std::vector<oci::RuntimeSpec> specs;
  for (const auto& b : builds) {
    translate::AppRuntimeInput in{.app = b.app};
    in.volumes = pm.volumes;
    in.volumeSources = sources;
    in.metadataUrl = metadataUrl;
    in.podEnvironment = req.setEnv;
    if (req.inheritEnv) in.inheritedEnvironment = inheritedEnvironment();
    in.hostsFile = hostsPath;
    if (!hostsPath && needsDefaultHosts(b.image.tree)) in.hostsFile = stubHostsPath;
    in.resolvConf = resolvPath;
    in.interactive = req.interactive;
    in.hostNetwork = hostNet;
    in.hostIpc = req.ipc == "parent";
    in.noNewPrivs = req.noNewPrivs;
    in.insecure = req.insecure;
    if (req.insecure.capabilities) in.allCapabilities = boundingCapabilities();
    translate::Report r;
    oci::RuntimeSpec spec = translate::appToRuntime(in, r);
    addSystemdHandover(spec, b, runDir);
    for (const auto& l : r.items()) {
      report.add("apps[" + b.app.name.str() + "]." + l.field, l.kind, l.detail);
    }
    ask.addApp(b.app.name.str(), spec.toJson());
    specs.push_back(std::move(spec));
  }
  ask.apps = builds.size();
  stage1::refuseUnsupported(s1.descriptor(), ask);
  makeDir(pod.path / "apps");
  makeDir(pod.path / "status");
  makeDir(pod.path / "logs");
  for (size_t i = 0; i < builds.size(); ++i) {
    const auto& b = builds[i];
    fs::path appDir = pod.path / "apps" / b.app.name.str();
    makeDir(appDir);
    makeDir(appDir / "rootfs");
    writeFileAtomic(appDir / "config.json", specs[i].dump() + "\n", 0600, sync);
    writeFileAtomic(appDir / "manifest", b.image.manifest.str(true) + "\n", 0600, sync);
    ro.apps.push_back(
        {b.app.name.str(), b.image.record.id, b.image.tree, b.app.readOnlyRootFS.value_or(false)});
  }
  if (req.net.mode == net::NetSpec::Mode::kCni) net::writePlan(pod.path, netPlan, sync);
  writeFileAtomic(pod.path / "pod", pm.str(true) + "\n", 0600, sync);
  writeFileAtomic(pod.path / "runtime.json", json::dump(ro.toJson(), true) + "\n", 0600, sync);
  recordPodStage1(s1, pod.path, sync);
  std::error_code ec;
  fs::create_symlink(s1.dir(), pod.path / "stage1", ec);
  if (ec) throw std::system_error(ec, "cannot link the stage1 into pod " + uuid);
}

}  // namespace

std::string newPodUuid() { return appc::Uuid::v4FromRandom(randomBytes16()).str(); }

PreparedPod prepare(const PodRequest& req, const fs::path& dataDirIn, Dir finalDir) {
  fs::path dataDir = fs::absolute(dataDirIn).lexically_normal();
  // An image stage1 keeps the store's lock shared until fill() recorded it in the pod.
  ChosenStage1 chosen =
      chooseStage1(req.stage1, dataDir, req.fetch, req.stage1Config, req.stage1ImagesDir);
  const Stage1& s1 = chosen.stage1;
  if (finalDir == Dir::kRun) s1.checkCanRun();
  // What the stage1 must do with the pod's network (runtime.json "net"): keep the host's, make
  // a private one, or join the one stage0 makes for the CNI networks.
  std::string netMode = req.net.mode == net::NetSpec::Mode::kHost   ? "host"
                        : req.net.mode == net::NetSpec::Mode::kNone ? "none"
                                                                    : "netns";
  // What the request asks of the stage1 (ABI §4 features), refused before anything exists: no
  // pod, no image fetched. The apps' own asks (sysctls, limits) are checked in fill(), before
  // any of their files is written.
  stage1::PodAsk ask;
  ask.net = netMode;
  ask.netFlag = "--net=" + req.net.text();
  ask.ipc = req.ipc;
  ask.interactive = req.interactive;
  ask.mds = req.mdsRegister;
  ask.privateUsers = req.privateUsers.has_value();
  ask.hostname = req.hostname.has_value();
  ask.logDriver = req.logDriver;
  ask.options = req.stage1Options;
  if (!req.podManifest) ask.apps = req.apps.size();
  stage1::refuseUnsupported(s1.descriptor(), ask);
  // Every network's configuration read and checked before a pod exists.
  net::NetPlan netPlan = net::planNetworks(req.net, req.ports, dataDir, req.netConfigDirs);
  if (req.privateUsers && req.net.mode == net::NetSpec::Mode::kCni) {
    // stage0 makes the network namespace in the host's user namespace: the pod's root could not
    // mount its sysfs nor configure it.
    throw Error(Errc::kUnsupported, "not supported: --private-users with --net=" + req.net.text() +
                                        " (CNI networks); use --net=none or host");
  }
  if (req.privateUsers && req.ipc == "parent") {
    // The host's IPC namespace is not the pod's user namespace's: its root could not mount the
    // namespace's mqueue.
    throw Error(Errc::kUnsupported, "not supported: --private-users with --ipc=parent");
  }
  if (req.apps.empty() && !req.podManifest) throw Error(Errc::kUsage, "no image to run");
  // Usage errors before anything is fetched (fill() writes the files).
  resolvConf(req.dns);
  hostsFile(req.hostsEntries, "localhost");
  if (!req.apps.empty() && req.podManifest) {
    throw Error(Errc::kUsage,
                "--pod-manifest replaces the images and their flags; give one or the other");
  }

  Pods pods(dataDir);
  std::string uuid = newPodUuid();
  Pod pod{uuid, Dir::kEmbryo, pods.pathOf(Dir::kEmbryo, uuid)};
  makeDir(pod.path, 0700);
  PodLock lock = PodLock::create(pod.path);
  // A pod started now need not survive a power loss (it would be garbage after the reboot):
  // its files and moves skip fsync, which a start would otherwise wait for. A prepared pod is
  // meant to be run later, so it is written durably.
  Sync sync = finalDir == Dir::kRun ? Sync::kAtomic : Sync::kDurable;
  pods.move(pod, Dir::kPrepare, sync);

  PreparedPod out{pod, PodLock(), s1, {}};
  try {
    fill(req, pods, pod, s1, netPlan, out.report, sync);
  } catch (...) {
    // Nothing is mounted yet: the half-prepared pod goes at once (gc would, later), and then
    // its ID range.
    try {
      pods.move(pod, Dir::kGarbage);
      removeTree(pod.path);
      if (req.privateUsers) releaseIdRange(dataDir, uuid);
    } catch (const std::exception&) {
    }
    throw;
  }
  pods.move(pod, finalDir, sync);
  if (::utimensat(AT_FDCWD, pod.path.c_str(), nullptr, 0) != 0) {
    throwErrno("set the time of " + quote(pod.path.string()));
  }
  out.pod = pod;
  if (finalDir == Dir::kRun) out.lock = std::move(lock);
  return out;
}

}  // namespace ferry::pod
