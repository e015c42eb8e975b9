// Preparing a pod: from images and command-line settings to a pod directory a stage1 can run
// (stage1/ABI.md §1–§3).
//
// prepare() resolves the stage1 first (so an unsupported request fails before anything is
// fetched), creates the pod in embryo/ with its lock held, moves it to prepare/, fetches every
// image (pull policy new, any transport), renders each rootfs through the tree store, reifies
// the pod manifest (every image by ID, app sections merged from the image and the flags, every
// mount point satisfied by a volume; what an image asks beyond appc's defaults checked against
// what the operator granted, translate/privileges.hpp), generates each app's config.json with
// translate::appToRuntime, writes runtime.json, and finally moves the pod to prepared/ (lock
// released) or run/ (lock kept for the stage1). Anything ferry cannot apply as asked is in the
// returned report: the CLI prints it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/idmap.hpp"
#include "formats/appc/pod_manifest.hpp"
#include "formats/translate/privileges.hpp"
#include "formats/translate/report.hpp"
#include "formats/translate/ulimit.hpp"
#include "stage0/fetch/fetch.hpp"
#include "stage0/net/networks.hpp"
#include "stage0/pod/etc_files.hpp"
#include "stage0/pod/pods.hpp"
#include "stage0/pod/stage1.hpp"
#include "stage0/pod/stage1_choice.hpp"

namespace ferry::pod {

struct MountRequest {
  std::string volume;
  std::string target;  // an absolute path, or the name of one of the image's mount points
};

// One app of `ferry run IMAGE [flags]`; unset fields keep the image's values.
struct AppRequest {
  std::string image;
  std::optional<std::string> signature;  // --signature: the image's, instead of IMAGE.asc
  std::optional<std::string> name;
  std::optional<std::string> exec;
  std::vector<std::string> args;  // after `--`
  std::optional<std::string> user, group, workingDir;
  std::optional<std::vector<uint32_t>> supplementaryGids;
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<MountRequest> mounts;
  std::optional<bool> readOnlyRootfs;
  // Replace the image's isolators of the same kind (a capability or seccomp set replaces both
  // the image's retain and remove sets of that family).
  appc::Isolators isolators;
  // --ulimit: recorded as app annotations dev.ferry.ulimit.<type> (formats/translate/ulimit.hpp).
  std::vector<translate::Ulimit> ulimits;
  // --pids-limit: the app annotation dev.ferry.pids-limit (translate::kPidsMax for "max").
  std::optional<int64_t> pidsLimit;
  // --user-annotation, --user-label: the app's userAnnotations and userLabels (replacing the
  // image's of the same name); user annotations also become config.json annotations.
  std::vector<std::pair<std::string, std::string>> userAnnotations, userLabels;
  // --stop-signal: the app annotation dev.ferry.stop-signal (else the image's StopSignal).
  std::optional<std::string> stopSignal;
  // --sysctl KEY[=VALUE]: every key named (the image may set it; translate::ImageGrants). The
  // values are an os/unix/sysctl isolator in `isolators`, merged key by key with the image's.
  std::vector<std::string> sysctlGrants;
};

struct PodRequest {
  std::vector<AppRequest> apps;
  std::optional<std::filesystem::path> podManifest;  // instead of apps
  std::vector<appc::Volume> volumes;
  // --pod-memory, --pod-cpu: the pod manifest's isolators (replacing its own of the same kind);
  // --pod-pids-limit: its dev.ferry.pids-limit annotation. Limits of the pod's cgroup.
  appc::Isolators podIsolators;
  std::optional<int64_t> podPidsLimit;
  // --stop-timeout: the pod manifest's annotation dev.ferry.stop-timeout (seconds from a stop
  // signal to SIGKILL; runtime.json's stopTimeoutSeconds, default 10).
  std::optional<int> stopTimeoutSeconds;
  std::optional<std::string> hostname;
  DnsRequest dns;                         // --dns, --dns-search, --dns-opt, --dns-domain
  std::vector<std::string> hostsEntries;  // "host", or IP=HOSTNAME
  bool interactive = false;
  std::string ipc = "auto";        // --ipc: auto | private | parent (runtime.json ipc)
  std::string logDriver = "file";  // --log-driver: file | journal (runtime.json logDriver)
  // --stage1-opt NAME=VALUE, --kvm-accel: runtime.json stage1Options, which the stage1's
  // descriptor must declare (features.options).
  std::map<std::string, std::string> stage1Options;
  bool noOverlay = false;  // --no-overlay: runtime.json's noOverlay
  // --private-users: the pod in a user namespace (docs/private-users.md); only a stage1 with the
  // feature privateUsers takes it, and none has it yet.
  std::optional<idmap::PrivateUsers> privateUsers;
  bool inheritEnv = false;  // --inherit-env: ferry's environment under every app's
  // --net (stage0/net/networks.hpp); not given: a private namespace with loopback only.
  net::NetSpec net;
  std::vector<std::filesystem::path> netConfigDirs;  // config::Config::netDirs
  // --port NAME:[HOSTIP:]HOSTPORT (the image's port NAME), --publish HOSTPORT:PODPORT[/proto].
  std::vector<net::PortRequest> ports;
  std::vector<std::pair<std::string, std::string>> setEnv;
  // --stage1-name, -path, -url, -hash, -from-dir (at most one; none: the configured default).
  std::optional<Stage1Choice> stage1;
  // The configuration's default stage1 (stage1.d) and stage1 images directory (paths.d).
  Stage1Config stage1Config;
  std::optional<std::filesystem::path> stage1ImagesDir;
  bool mdsRegister = false;
  std::string mdsSocket = "/run/ferry/mds.sock";
  uint16_t mdsPort = 2375;
  fetch::FetchOptions fetch;
  // --insecure-options=capabilities,paths,seccomp: for every app, whatever its images ask.
  translate::InsecureRun insecure;
  // --no-new-privs (FERRY_NO_NEW_PRIVS): which apps get no_new_privs beside the isolator's.
  translate::NoNewPrivs noNewPrivs = translate::NoNewPrivs::kNonRoot;
  bool debug = false;
};

struct PreparedPod {
  Pod pod;
  PodLock lock;  // held when the pod went to run/
  Stage1 stage1;
  translate::Report report;
};

// finalDir: Dir::kPrepared (lock released) or Dir::kRun (lock kept).
PreparedPod prepare(const PodRequest& request, const std::filesystem::path& dataDir, Dir finalDir);

// A fresh random version 4 UUID.
std::string newPodUuid();

}  // namespace ferry::pod
