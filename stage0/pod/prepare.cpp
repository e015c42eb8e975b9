#include "stage0/pod/prepare.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <set>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/idmap.hpp"
#include "common/mds_client.hpp"
#include "formats/appc/uuid.hpp"
#include "formats/translate/app_runtime.hpp"
#include "formats/translate/keys.hpp"
#include "formats/translate/ulimit.hpp"
#include "stage0/net/pod_network.hpp"
#include "stage0/pod/app_merge.hpp"
#include "stage0/pod/etc_files.hpp"
#include "stage0/pod/image_resolve.hpp"
#include "stage0/pod/info.hpp"
#include "stage0/pod/phase.hpp"
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

json::Json resourcesJson(const oci::LinuxResources& r) {
  oci::RuntimeSpec s;
  s.linuxConfig = oci::Linux{};
  s.linuxConfig->resources = r;
  return s.toJson()["linux"]["resources"];
}

// The pod's apps, each with its image resolved (fetched when the store lacks it), and the pod
// manifest they make.
struct PodApps {
  appc::PodManifest pm;
  std::vector<AppBuild> builds;
};

// --pod-manifest FILE: its apps as written, each image found by ID (an OCI image by the appc ID
// of its manifest) or fetched by name; an app without an app section takes its image's.
PodApps appsFromManifest(const PodRequest& req, store::Store& store, translate::Report& report) {
  PodApps out;
  appc::PodManifest& pm = out.pm;
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
    out.builds.push_back({ra, std::move(img)});
  }
  for (const auto& v : req.volumes) {
    if (!pm.findVolume(v.name.str())) pm.volumes.push_back(v);
  }
  return out;
}

// IMAGE [flags] …: one app per image, its section merged from the image and its flags.
PodApps appsFromFlags(const PodRequest& req, store::Store& store, translate::Report& report) {
  PodApps out;
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
    out.builds.push_back({std::move(ra), std::move(img)});
  }
  out.pm.volumes = req.volumes;
  return out;
}

// The pod-wide settings of the manifest (isolators, annotations), each app's stop signal and
// mount points, and every check that needs the whole pod — before any file is written.
void completePod(const PodRequest& req, PodApps& apps, translate::Report& report) {
  appc::PodManifest& pm = apps.pm;
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
  for (auto& b : apps.builds) {
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
  for (const auto& b : apps.builds) pm.apps.push_back(b.app);
  for (const auto& b : apps.builds) {
    checkRlimits(b.app);
    checkOomScoreAdj(b.app);
  }
  for (const auto& b : apps.builds) {
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
  if (req.interactive && apps.builds.size() != 1) {
    throw Error(Errc::kUsage, "--interactive needs exactly one app");
  }
}

// --port NAME: the port the image of an app declares under that name (appc: the pod manifest's
// ports).
void resolveNamedPorts(net::NetPlan& netPlan, PodApps& apps) {
  for (auto& p : netPlan.ports) {
    if (p.name.empty()) continue;
    const appc::Port* found = nullptr;
    for (const auto& b : apps.builds) {
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
    apps.pm.ports.push_back(ep);
  }
}

// runtime.json's pod-wide settings (ABI §3) but the apps; `metadataUrl` is set with
// --mds-register.
RuntimeOptions podOptions(const PodRequest& req, const std::string& uuid, const fs::path& runDir,
                          const appc::PodManifest& pm, translate::Report& report,
                          std::optional<std::string>& metadataUrl) {
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
  ro.interactive = req.interactive;
  ro.logDriver = req.logDriver;
  ro.stage1Options = req.stage1Options;
  ro.noOverlay = req.noOverlay;
  ro.debug = req.debug;
  if (auto t = pm.annotations.get(kStopTimeoutAnnotation)) {
    ro.stopTimeoutSeconds =
        stopTimeout(*t, "annotations[" + std::string(kStopTimeoutAnnotation) + "]");
  }
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
  return ro;
}

// The pod's /etc/hosts and /etc/resolv.conf as the apps get them (etc_files.hpp): a path in the
// pod directory (written now) or the host's; none for what the image keeps.
struct EtcPaths {
  std::optional<std::string> hosts, resolv;
  std::optional<std::string> stubHosts;  // the defaults, for an app whose image has no hosts
};

EtcPaths writeEtcFiles(const PodRequest& req, const Pod& pod, const fs::path& runDir,
                       net::NetPlan& netPlan, const std::string& hostname,
                       const std::vector<AppBuild>& builds, Sync sync) {
  EtcPaths out;
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
  if (resolv.kind == EtcFile::Kind::kHost) out.resolv = "/etc/resolv.conf";
  if (resolv.kind == EtcFile::Kind::kGenerated) {
    out.resolv = writeEtc("etc/resolv.conf", resolv.content);
  }
  EtcFile hosts = hostsFile(req.hostsEntries, hostname);
  if (hosts.kind == EtcFile::Kind::kHost) out.hosts = "/etc/hosts";
  if (hosts.kind == EtcFile::Kind::kGenerated) out.hosts = writeEtc("etc/hosts", hosts.content);
  if (hosts.kind == EtcFile::Kind::kImage &&
      std::any_of(builds.begin(), builds.end(),
                  [](const AppBuild& b) { return needsDefaultHosts(b.image.tree); })) {
    out.stubHosts = writeEtc("etc/hosts", defaultHosts(hostname));
  }
  return out;
}

// --private-users: the pod's ID range, held from now until gc deletes the pod directory (its
// upper directories and empty volumes hold files of the range until then). The shift of the
// pod's IDs on the host, 0 without.
uint32_t acquireIdRange(const PodRequest& req, const fs::path& dataDir, const std::string& uuid,
                        RuntimeOptions& ro) {
  if (!req.privateUsers) return 0;
  idmap::RangeRegistry registry(idRangeRegistryDir(dataDir), idmap::HostIds::load());
  idmap::IdRange range = registry.acquire(uuid, *req.privateUsers);
  ro.privateUsers = PrivateUsersRange{range.hostStart(), range.hostStart(), range.count()};
  return range.hostStart();
}

// Each volume's source as the stage1 mounts it: a host volume's path, or the empty volume's
// directory made now in the pod (volumes/<name>, its owner and mode as the manifest says).
std::map<std::string, std::string> makeVolumes(const appc::PodManifest& pm, const Pod& pod,
                                               const fs::path& runDir, const RuntimeOptions& ro,
                                               uint32_t idShift) {
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
  return sources;
}

// Every app's config.json, checked with the whole pod against the stage1's features (an app's
// sysctls, its limits: ABI §4) before any of them is written.
std::vector<oci::RuntimeSpec> appSpecs(const PodRequest& req, const PodApps& apps,
                                       const RuntimeOptions& ro, const EtcPaths& etc,
                                       const std::map<std::string, std::string>& sources,
                                       const std::optional<std::string>& metadataUrl,
                                       const fs::path& runDir, const Stage1& s1,
                                       translate::Report& report) {
  stage1::PodAsk ask = stage1::PodAsk::of(ro);
  ask.netFlag = "--net=" + req.net.text();
  ask.hostname = req.hostname.has_value();
  std::vector<oci::RuntimeSpec> specs;
  for (const auto& b : apps.builds) {
    translate::AppRuntimeInput in{.app = b.app};
    in.volumes = apps.pm.volumes;
    in.volumeSources = sources;
    in.metadataUrl = metadataUrl;
    in.podEnvironment = req.setEnv;
    if (req.inheritEnv) in.inheritedEnvironment = inheritedEnvironment();
    in.hostsFile = etc.hosts;
    if (!etc.hosts && needsDefaultHosts(b.image.tree)) in.hostsFile = etc.stubHosts;
    in.resolvConf = etc.resolv;
    in.interactive = req.interactive;
    in.hostNetwork = req.net.mode == net::NetSpec::Mode::kHost;
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
  ask.apps = apps.builds.size();
  stage1::refuseUnsupported(s1.descriptor(), ask);
  return specs;
}

// Writes everything of the pod directory (in prepare/), step by step: the apps and their images,
// the pod-wide settings, /etc files, the ID range, volumes, each app's config.json, then the
// files the stage1 reads (ABI §1–§3).
void fill(const PodRequest& req, const Pods& pods, const Pod& pod, const Stage1& s1,
          net::NetPlan netPlan, translate::Report& report, Sync sync) {
  const std::string& uuid = pod.uuid;
  fs::path dataDir = pods.root().parent_path();
  fs::path runDir = pods.pathOf(Dir::kRun, uuid);  // where the pod's files are when it runs

  store::Store store = store::Store::open(dataDir);
  store.deferCheckpoints();  // a start never waits for the index's checkpoint
  // Held until runtime.json names the trees: an `image gc` in between would not see them.
  store::LockHold storeHold = store.lockShared();
  phase(req.debug, "the store opened");
  PodApps apps =
      req.podManifest ? appsFromManifest(req, store, report) : appsFromFlags(req, store, report);
  completePod(req, apps, report);
  phase(req.debug, "images resolved, their trees found");

  resolveNamedPorts(netPlan, apps);
  std::optional<std::string> metadataUrl;
  RuntimeOptions ro = podOptions(req, uuid, runDir, apps.pm, report, metadataUrl);
  EtcPaths etc = writeEtcFiles(req, pod, runDir, netPlan, ro.hostname, apps.builds, sync);
  uint32_t idShift = acquireIdRange(req, dataDir, uuid, ro);
  auto sources = makeVolumes(apps.pm, pod, runDir, ro, idShift);
  auto specs = appSpecs(req, apps, ro, etc, sources, metadataUrl, runDir, s1, report);
  phase(req.debug, "config.json of every app built");

  makeDir(pod.path / "apps");
  makeDir(pod.path / "status");
  makeDir(pod.path / "logs");
  for (size_t i = 0; i < apps.builds.size(); ++i) {
    const auto& b = apps.builds[i];
    fs::path appDir = pod.path / "apps" / b.app.name.str();
    makeDir(appDir);
    makeDir(appDir / "rootfs");
    writeFileAtomic(appDir / "config.json", specs[i].dump() + "\n", 0600, sync);
    writeFileAtomic(appDir / "manifest", b.image.manifest.str(true) + "\n", 0600, sync);
    ro.apps.push_back(
        {b.app.name.str(), b.image.record.id, b.image.tree, b.app.readOnlyRootFS.value_or(false)});
  }
  if (req.net.mode == net::NetSpec::Mode::kCni) net::writePlan(pod.path, netPlan, sync);
  writeFileAtomic(pod.path / "pod", apps.pm.str(true) + "\n", 0600, sync);
  writeFileAtomic(pod.path / "runtime.json", json::dump(ro.toJson(), true) + "\n", 0600, sync);
  recordPodStage1(s1, pod.path, sync);
  std::error_code ec;
  fs::create_symlink(s1.dir(), pod.path / "stage1", ec);
  if (ec) throw std::system_error(ec, "cannot link the stage1 into pod " + uuid);
  phase(req.debug, "the pod's files written");
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
  phase(req.debug, "stage1 " + s1.name() + " chosen");
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
  phase(req.debug, "pod " + uuid + " prepared");
  return out;
}

}  // namespace ferry::pod
