#include "stage0/cli/pod_flags.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <iostream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/idmap.hpp"
#include "common/signals.hpp"
#include "formats/appc/quantity.hpp"
#include "formats/translate/app_runtime.hpp"
#include "formats/translate/privileges.hpp"
#include "formats/translate/ulimit.hpp"

namespace ferry::cli {

namespace {

std::vector<std::string> splitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t c = s.find(',', start);
    out.emplace_back(s.substr(start, c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return out;
}

std::pair<std::string, std::string> keyValue(std::string_view s, std::string_view flag) {
  auto eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw UsageError("--" + std::string(flag) + ": want NAME=VALUE, not " + quote(s));
  }
  return {std::string(s.substr(0, eq)), std::string(s.substr(eq + 1))};
}

// --set-env-file: NAME=VALUE (or export NAME=VALUE) per line; blank lines and lines starting
// with # are skipped.
std::vector<std::pair<std::string, std::string>> envFile(std::string_view path) {
  std::string text = readFile(std::string(path), 1 << 20);
  std::vector<std::pair<std::string, std::string>> out;
  size_t lineNo = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    // A shell's "export NAME=VALUE" (files written for sh and systemd's EnvironmentFile).
    if (line.starts_with("export ") || line.starts_with("export\t")) {
      line.remove_prefix(7);
      while (!line.empty() && (line[0] == ' ' || line[0] == '\t')) line.remove_prefix(1);
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      throw UsageError("--set-env-file: " + std::string(path) + ":" + std::to_string(lineNo) +
                       ": want NAME=VALUE, not " + quote(line));
    }
    out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return out;
}

appc::Isolator isolator(std::string_view flag, const json::Json& j) {
  try {
    return appc::Isolator::fromJson(j, "");
  } catch (const Error& e) {
    throw UsageError("--" + std::string(flag) + ": " + e.what());
  }
}

// A quantity flag's value, checked here so that the error names the flag and the notation.
std::string quantity(std::string_view flag, std::string_view v, const char* examples) {
  try {
    auto q = appc::Quantity::parse(v);
    if (q.negative()) throw Error(Errc::kInvalid, "negative");
  } catch (const Error&) {
    throw UsageError("--" + std::string(flag) + ": not a quantity: " + quote(v) + " (e.g. " +
                     examples + ")");
  }
  return std::string(v);
}

constexpr const char* kMemoryExamples = "64M = 64,000,000 bytes, 64Mi = 64 MiB, 1Gi";
constexpr const char* kCpuExamples = "500m = half a core, 2";

json::Json memoryIsolator(std::string_view flag, std::string_view limit) {
  return {{"name", "resource/memory"},
          {"value", {{"limit", quantity(flag, limit, kMemoryExamples)}}}};
}

json::Json cpuIsolator(std::string_view flag, std::string_view limit) {
  return {{"name", "resource/cpu"}, {"value", {{"limit", quantity(flag, limit, kCpuExamples)}}}};
}

int64_t pidsLimit(std::string_view flag, std::string_view v) {
  try {
    return translate::parsePidsLimit(v);
  } catch (const Error& e) {
    throw UsageError("--" + std::string(flag) + ": " + e.what());
  }
}

std::string capName(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s.starts_with("CAP_") ? s : "CAP_" + s;
}

json::Json boolOrString(const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  return v;
}

// NAME,kind=host|empty,source=,readOnly=,recursive=,mode=,uid=,gid=
appc::Volume parseVolume(std::string_view text) {
  auto parts = splitComma(text);
  json::Json j = json::Json::object();
  j["name"] = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    auto [k, v] = keyValue(parts[i], "volume");
    if (k == "readOnly" || k == "recursive") {
      j[k] = boolOrString(v);
    } else if (k == "uid" || k == "gid") {
      try {
        j[k] = std::stoll(v);
      } catch (const std::exception&) {
        throw UsageError("--volume: " + k + ": not a number: " + quote(v));
      }
    } else if (k == "kind" || k == "source" || k == "mode") {
      j[k] = v;
    } else {
      throw UsageError("--volume: unknown field " + quote(k));
    }
  }
  if (!j.contains("kind")) throw UsageError("--volume " + quote(text) + ": kind= is required");
  try {
    return appc::Volume::fromJson(j, "");
  } catch (const Error& e) {
    throw UsageError("--volume " + quote(text) + ": " + e.what());
  }
}

// mode=retain|remove,errno=NAME,SYSCALL,…
appc::Isolator parseSeccomp(std::string_view text) {
  std::string mode;
  json::Json value = json::Json::object();
  json::Json set = json::Json::array();
  for (const auto& p : splitComma(text)) {
    if (p.starts_with("mode=")) {
      mode = p.substr(5);
    } else if (p.starts_with("errno=")) {
      value["errno"] = p.substr(6);
    } else if (!p.empty()) {
      set.push_back(p);
    }
  }
  if (mode != "retain" && mode != "remove") {
    throw UsageError("--seccomp: want mode=retain or mode=remove, then syscalls");
  }
  value["set"] = set;
  return isolator("seccomp", {{"name", "os/linux/seccomp-" + mode + "-set"}, {"value", value}});
}

translate::NoNewPrivs noNewPrivs(std::string_view v, std::string_view what) {
  auto n = translate::parseNoNewPrivs(v);
  if (!n) throw UsageError(std::string(what) + ": want non-root, all or isolator, not " + quote(v));
  return *n;
}

// One loud line for a pod that runs with protections off (the fetch side says nothing here:
// its checks concern the images, not the pod).
void warnInsecureRun(Context& ctx, const translate::InsecureRun& off) {
  if (!off.any()) return;
  std::string what;
  auto add = [&](bool on, const char* text) {
    if (on) what += (what.empty() ? "" : "; ") + std::string(text);
  };
  add(off.capabilities, "every app gets every capability the host allows");
  add(off.paths, "no /proc or /sys path is masked or read-only");
  add(off.seccomp, "no seccomp filter");
  ctx.err << "ferry: WARNING: --insecure-options weakens this pod's isolation: " << what << "\n";
}

// A word where an image goes that no fetcher could take: no domain (appc), no docker:// or oci:,
// no file — most likely a command meant for the app ("ferry run IMG echo hi").
void checkImageWord(const std::string& word, bool afterImage) {
  if (word.find_first_of("/:.") != std::string::npos || word.starts_with("sha512-")) return;
  std::error_code ec;
  if (std::filesystem::exists(word, ec)) return;
  throw UsageError(
      quote(word) + " is not an image (an appc name has a domain; others are " +
      "docker://…, oci:…, a file or an ID)" +
      (afterImage ? "; arguments for the app go after --: IMAGE -- " + word + " …" : ""));
}

}  // namespace

std::chrono::milliseconds parseDuration(std::string_view text, std::string_view flag) {
  auto bad = [&]() {
    return UsageError("--" + std::string(flag) + ": not a duration: " + quote(text) +
                      " (e.g. 30s, 5m, 1h, 500ms)");
  };
  if (text.empty()) throw bad();
  int64_t total = 0;
  size_t i = 0;
  bool plain = true;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start) throw bad();
    int64_t n = std::stoll(std::string(text.substr(start, i - start)));
    size_t u = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(u, i - u);
    if (unit.empty()) {
      if (i != text.size() || !plain) throw bad();
      total += n * 1000;
      break;
    }
    plain = false;
    if (unit == "ms") {
      total += n;
    } else if (unit == "s") {
      total += n * 1000;
    } else if (unit == "m") {
      total += n * 60000;
    } else if (unit == "h") {
      total += n * 3600000;
    } else {
      throw bad();
    }
  }
  return std::chrono::milliseconds(total);
}

void UuidFile::declare(OptionParser& p) {
  p.value("uuid-file", "FILE", "read the pod's UUID from FILE (run --uuid-file-save) instead",
          [this](std::string_view v) {
            if (v.empty()) throw UsageError("--uuid-file: want a file name");
            path = std::string(v);
          });
}

std::vector<std::string> UuidFile::podRefs(const std::vector<std::string>& positionals,
                                           const std::string& usage) const {
  if (!path) {
    if (positionals.empty()) throw UsageError("no pod given; usage: " + usage);
    return positionals;
  }
  if (!positionals.empty()) {
    throw UsageError("--uuid-file " + quote(*path) + " and a UUID argument: give one of them");
  }
  std::string text;
  try {
    text = readFile(*path, 4096);
  } catch (const std::exception& e) {
    const auto* fe = dynamic_cast<const Error*>(&e);
    throw Error(fe != nullptr ? fe->code() : Errc::kIo, "--uuid-file: " + describe(e, false));
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.pop_back();
  }
  if (text.empty() || text.find_first_of("\n \t") != std::string::npos) {
    throw Error(Errc::kInvalid, "--uuid-file " + quote(*path) + ": want one pod UUID");
  }
  return {text};
}

void printWarnings(Context& ctx, const translate::Report& report) {
  for (const auto& l : report.items()) {
    ctx.err << "ferry: warning: " << l.field << ": " << l.detail << "\n";
  }
}

void addSystemdFlags(OptionParser& p, SystemdFlags& f, bool withUnit, const char* userFlag) {
  if (withUnit) {
    p.optionalValue("unit", "NAME",
                    "run the pod as a transient systemd service (default ferry-<uuid>.service)",
                    [&f](std::string_view v) { f.unit = std::string(v); });
    p.flag(userFlag, "with --unit: on the caller's user bus, not the system bus", &f.user);
  }
  p.value("slice", "SLICE", "the systemd slice of the pod's unit (machine.slice)",
          [&f](std::string_view v) { f.slice = std::string(v); });
  p.value("cgroup-driver", "systemd|cgroupfs",
          "who makes the pod's cgroups: a systemd unit, or ferry in its own cgroup (default "
          "systemd where PID 1 is systemd)",
          [&f](std::string_view v) {
            try {
              f.cgroupDriver = systemd::parseCgroupDriver(v);
            } catch (const Error& e) {
              throw UsageError(e.what());
            }
          });
}

bool parseRunFlags(Context& ctx, const std::vector<std::string>& args, const std::string& usage,
                   const std::string& summary, RunFlags& out) {
  pod::PodRequest& r = out.request;
  std::string policy = "new";
  if (const char* env = std::getenv("FERRY_NO_NEW_PRIVS_FOR"); env != nullptr && *env != '\0') {
    r.noNewPrivs = noNewPrivs(env, "FERRY_NO_NEW_PRIVS_FOR");
  }
  // Segments: a new one starts at an image when the current one has an image or arguments
  // already, and at "---"; "--" gives the rest of its "---" segment to the segment's image as
  // arguments. App flags apply to the segment they are in; pod flags may come anywhere. The
  // flag table below says which flags take a value, so a value is never taken for an image.
  struct Segment {
    pod::AppRequest app;
    bool hasImage = false;
    bool afterSeparator = false;
    bool readOnly = false;
    bool nnp = false;
    json::Json sysctls = json::Json::object();
  };
  std::vector<Segment> segments(1);
  // The app flags' setters write to the current (last) segment.
  auto seg = [&segments]() -> Segment& { return segments.back(); };
  OptionParser p(usage, summary,
                 "Pod flags may come anywhere; app flags apply to the image of their\n"
                 "segment (segments are separated by ---). Arguments after -- go to the app.");
  addGlobalOptions(p, ctx.global);
  // --- per pod
  p.heading("Pod flags");
  p.value("volume", "NAME,kind=host|empty,…", "a pod volume (repeatable)",
          [&](std::string_view v) { r.volumes.push_back(parseVolume(v)); });
  p.value("hostname", "NAME", "the pod's hostname", [&](std::string_view v) { r.hostname = v; });
  p.value("dns", "IP|host|none", "a nameserver for the pod's /etc/resolv.conf (repeatable)",
          [&](std::string_view v) { r.dns.servers.emplace_back(v); });
  p.value("dns-search", "DOMAIN", "a search domain for /etc/resolv.conf (repeatable)",
          [&](std::string_view v) { r.dns.search.emplace_back(v); });
  p.value("dns-opt", "OPTION", "a resolver option for /etc/resolv.conf (repeatable)",
          [&](std::string_view v) { r.dns.options.emplace_back(v); });
  p.value("dns-domain", "DOMAIN", "the domain line of /etc/resolv.conf",
          [&](std::string_view v) { r.dns.domain = std::string(v); });
  p.value("hosts-entry", "IP=HOST|host", "an /etc/hosts entry (repeatable)",
          [&](std::string_view v) { r.hostsEntries.emplace_back(v); });
  p.flag("interactive", "give the (single) app the terminal", &r.interactive);
  p.value("ipc", "auto|private|parent",
          "the pod's IPC namespace: the stage1's choice, one of its own, or the host's",
          [&](std::string_view v) {
            if (v != "auto" && v != "private" && v != "parent") {
              throw UsageError("--ipc: want auto, private or parent, not " + quote(v));
            }
            r.ipc = std::string(v);
          });
  p.value("log-driver", "file|journal",
          "where the apps' output goes: logs/<app>.log (file, the default) or the systemd journal",
          [&](std::string_view v) {
            if (v != "file" && v != "journal") {
              throw UsageError("--log-driver: want file or journal, not " + quote(v));
            }
            r.logDriver = std::string(v);
          });
  p.value("pod-manifest", "FILE", "run this appc pod manifest instead of images and flags",
          [&](std::string_view v) { r.podManifest = std::string(v); });
  p.value("uuid-file-save", "FILE", "write the pod's UUID to FILE",
          [&](std::string_view v) { out.uuidFileSave = std::string(v); });
  addSystemdFlags(p, out.systemd, true, "user-bus");
  p.value("stage1-name", "NAME[:VERSION]",
          "the stage1: installed beside ferry (default ns), else an image of that name",
          [&](std::string_view v) { pod::chooseStage1(r.stage1, pod::Stage1Flag::kName, v); });
  p.value("stage1-path", "FILE.aci|DIR",
          "the stage1: an image file, or a directory holding stage1.json",
          [&](std::string_view v) { pod::chooseStage1(r.stage1, pod::Stage1Flag::kPath, v); });
  p.value("stage1-url", "URL", "the stage1: an image at an http(s)://, file:// or docker:// URL",
          [&](std::string_view v) { pod::chooseStage1(r.stage1, pod::Stage1Flag::kUrl, v); });
  p.value("stage1-hash", "ID", "the stage1: an image in the store, by ID",
          [&](std::string_view v) { pod::chooseStage1(r.stage1, pod::Stage1Flag::kHash, v); });
  p.value("stage1-from-dir", "FILE", "the stage1: an image file of ferry's stage1 images directory",
          [&](std::string_view v) { pod::chooseStage1(r.stage1, pod::Stage1Flag::kFromDir, v); });
  // Options of the stage1 itself (runtime.json stage1Options): stage0 knows no option; the
  // stage1's descriptor says which it takes and their values (checked in prepare).
  p.value("stage1-opt", "NAME=VALUE", "an option for the stage1, if it takes it (repeatable)",
          [&](std::string_view v) {
            auto [name, value] = keyValue(v, "stage1-opt");
            r.stage1Options[name] = value;
          });
  p.value("kvm-accel", "kvm|tcg|auto",
          "the kvm stage1's accelerator (--stage1-opt kvm-accel=…; default auto)",
          [&](std::string_view v) { r.stage1Options["kvm-accel"] = std::string(v); });
  p.flag("mds-register", "register the pod with the metadata service", &r.mdsRegister);
  p.value("mds-socket", "PATH", "the metadata service's socket (/run/ferry/mds.sock)",
          &r.mdsSocket);
  p.value("set-env", "NAME=VALUE", "an environment variable for every app (repeatable)",
          [&](std::string_view v) { r.setEnv.push_back(keyValue(v, "set-env")); });
  p.value("set-env-file", "FILE", "--set-env for each NAME=VALUE line of FILE (# comments)",
          [&](std::string_view v) {
            for (auto& kv : envFile(v)) r.setEnv.push_back(std::move(kv));
          });
  p.flag("inherit-env", "give the apps ferry's environment, under their own", &r.inheritEnv);
  p.flag("no-overlay", "copy each app's rootfs instead of an overlay over the store's tree",
         &r.noOverlay);
  p.optionalValue("private-users", "auto|UID:COUNT",
                  "run the pod in a user namespace: its IDs 0… are host IDs from UID (auto: a "
                  "free range of 65536)",
                  [&](std::string_view v) {
                    try {
                      r.privateUsers = idmap::parsePrivateUsers(v.empty() ? "auto" : v);
                    } catch (const Error& e) {
                      throw UsageError(e.what());
                    }
                  });
  p.optionalValue("net", "default|default-restricted|host|none|NAME[:K=V;…][,…]|all",
                  "the pod's networks (repeatable; a bare --net is default; none when not given)",
                  [&](std::string_view v) {
                    try {
                      r.net.add(v);
                    } catch (const Error& e) {
                      throw UsageError(e.what());
                    }
                  });
  p.value("port", "NAME:[HOSTIP:]HOSTPORT",
          "forward a host port to the image's port NAME (repeatable)", [&](std::string_view v) {
            try {
              r.ports.push_back(net::parsePort(v));
            } catch (const Error& e) {
              throw UsageError(e.what());
            }
          });
  p.value("publish", "[HOSTIP:]HOSTPORT:PODPORT[/tcp|udp]",
          "forward a host port to a port of the pod (repeatable)", [&](std::string_view v) {
            try {
              r.ports.push_back(net::parsePublish(v));
            } catch (const Error& e) {
              throw UsageError(e.what());
            }
          });
  p.value("pull-policy", "never|new|update", "when to fetch an image the store has (new)", &policy);
  p.value("pod-memory", "QUANTITY",
          "memory limit of the whole pod (appc: 256M = 256,000,000 bytes; 256Mi = 256 MiB)",
          [&](std::string_view v) {
            r.podIsolators.push_back(isolator("pod-memory", memoryIsolator("pod-memory", v)));
          });
  p.value("pod-cpu", "QUANTITY", "cpu limit of the whole pod in cores (e.g. 1500m)",
          [&](std::string_view v) {
            r.podIsolators.push_back(isolator("pod-cpu", cpuIsolator("pod-cpu", v)));
          });
  p.value("pod-pids-limit", "N|max", "how many tasks the whole pod may have",
          [&](std::string_view v) { r.podPidsLimit = pidsLimit("pod-pids-limit", v); });
  p.value("no-new-privs-for", "non-root|all|isolator",
          "which apps get no_new_privs without asking (default: $FERRY_NO_NEW_PRIVS_FOR, "
          "else non-root)",
          [&](std::string_view v) { r.noNewPrivs = noNewPrivs(v, "--no-new-privs-for"); });
  p.value("stop-timeout", "DURATION", "from the stop signals to SIGKILL (10s)",
          [&](std::string_view v) {
            auto ms = parseDuration(v, "stop-timeout").count();
            if (ms % 1000 != 0 || ms > 86400000) {
              throw UsageError("--stop-timeout: want whole seconds up to 24h, not " + quote(v));
            }
            r.stopTimeoutSeconds = static_cast<int>(ms / 1000);
          });
  // --- per app
  p.heading("App flags (for the image of their segment)");
  p.value("name", "NAME", "the app's name in the pod",
          [&](std::string_view v) { seg().app.name = v; });
  p.value("exec", "PATH", "the program to run instead of the image's",
          [&](std::string_view v) { seg().app.exec = v; });
  p.value("user", "USER", "user (name, number or /path)",
          [&](std::string_view v) { seg().app.user = v; });
  p.value("group", "GROUP", "group (name, number or /path)",
          [&](std::string_view v) { seg().app.group = v; });
  p.value("supplementary-gids", "GID,…", "supplementary groups", [&](std::string_view v) {
    std::vector<uint32_t> gids;
    for (const auto& g : splitComma(v)) {
      try {
        size_t used = 0;
        unsigned long n = std::stoul(g, &used);
        if (used != g.size() || n > UINT32_MAX) throw std::invalid_argument(g);
        gids.push_back(static_cast<uint32_t>(n));
      } catch (const std::exception&) {
        throw UsageError("--supplementary-gids: not a number: " + quote(g));
      }
    }
    seg().app.supplementaryGids = gids;
  });
  p.value("working-dir", "DIR", "the app's working directory",
          [&](std::string_view v) { seg().app.workingDir = v; });
  p.value("environment", "NAME=VALUE", "an environment variable of the app (repeatable)",
          [&](std::string_view v) { seg().app.environment.push_back(keyValue(v, "environment")); });
  // rkt's --annotation is the same as --user-annotation.
  for (const char* flag : {"user-annotation", "annotation"}) {
    p.value(
        flag, "NAME=VALUE", "an annotation of the app (repeatable)", [&, flag](std::string_view v) {
          auto kv = keyValue(v, flag);
          if (kv.first.starts_with(translate::kReservedAnnotationPrefix)) {
            throw UsageError("--" + std::string(flag) + ": " + quote(kv.first) + ": the prefix " +
                             std::string(translate::kReservedAnnotationPrefix) + " is ferry's own");
          }
          seg().app.userAnnotations.push_back(std::move(kv));
        });
  }
  p.value("signature", "FILE",
          "the detached signature of the app's ACI file or URL (instead of IMAGE.asc)",
          [&](std::string_view v) {
            if (v.empty()) throw UsageError("--signature: want a FILE");
            seg().app.signature = std::string(v);
          });
  p.value("user-label", "NAME=VALUE", "a label of the app (repeatable)",
          [&](std::string_view v) { seg().app.userLabels.push_back(keyValue(v, "user-label")); });
  p.value("mount", "volume=NAME,target=PATH", "mount a pod volume into the app (repeatable)",
          [&](std::string_view v) {
            pod::MountRequest m;
            for (const auto& part : splitComma(v)) {
              auto [k, val] = keyValue(part, "mount");
              if (k == "volume") {
                m.volume = val;
              } else if (k == "target") {
                m.target = val;
              } else {
                throw UsageError("--mount: unknown field " + quote(k));
              }
            }
            if (m.volume.empty() || m.target.empty()) {
              throw UsageError("--mount: want volume=NAME,target=PATH");
            }
            seg().app.mounts.push_back(m);
          });
  p.flag("readonly-rootfs", "mount the app's root filesystem read-only",
         [&](bool v) { seg().readOnly = v; });
  p.value("memory", "QUANTITY", "memory limit (appc: 64M = 64,000,000 bytes; 64Mi = 64 MiB)",
          [&](std::string_view v) {
            seg().app.isolators.push_back(isolator("memory", memoryIsolator("memory", v)));
          });
  p.value("cpu", "QUANTITY", "cpu limit in cores (e.g. 500m, 2)", [&](std::string_view v) {
    seg().app.isolators.push_back(isolator("cpu", cpuIsolator("cpu", v)));
  });
  p.value(
      "cpu-shares", "N", "the app's relative cpu weight (2 to 262144; 1024 is the default)",
      [&](std::string_view v) {
        int n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < 2 || n > 262144) {
          throw UsageError("--cpu-shares: want a number from 2 to 262144, not " + quote(v));
        }
        seg().app.isolators.push_back(
            isolator("cpu-shares", {{"name", "os/linux/cpu-shares"}, {"value", n}}));
      });
  // rkt's spelling is --oom-score-adj; --oom-score-adjust stays.
  for (const char* flag : {"oom-score-adj", "oom-score-adjust"}) {
    p.value(flag, "N", "the app's oom_score_adj (-1000 to 1000)", [&, flag](std::string_view v) {
      int n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
        throw UsageError("--" + std::string(flag) + ": not a number: " + quote(v));
      }
      seg().app.isolators.push_back(
          isolator(flag, {{"name", "os/linux/oom-score-adj"}, {"value", n}}));
    });
  }
  p.value("pids-limit", "N|max", "how many tasks the app may have",
          [&](std::string_view v) { seg().app.pidsLimit = pidsLimit("pids-limit", v); });
  p.value("stop-signal", "SIGNAL",
          "what a stop sends the app (the image's StopSignal, else SIGTERM)",
          [&](std::string_view v) {
            auto sig = parseSignal(v);
            if (!sig) throw UsageError("--stop-signal: not a signal: " + quote(v));
            seg().app.stopSignal = signalName(*sig);
          });
  p.value("caps-retain", "CAP,…", "keep only these capabilities", [&](std::string_view v) {
    json::Json set = json::Json::array();
    for (const auto& c : splitComma(v)) set.push_back(capName(c));
    seg().app.isolators.push_back(isolator(
        "caps-retain", {{"name", "os/linux/capabilities-retain-set"}, {"value", {{"set", set}}}}));
  });
  p.value("caps-remove", "CAP,…", "remove these capabilities", [&](std::string_view v) {
    json::Json set = json::Json::array();
    for (const auto& c : splitComma(v)) set.push_back(capName(c));
    seg().app.isolators.push_back(isolator(
        "caps-remove", {{"name", "os/linux/capabilities-remove-set"}, {"value", {{"set", set}}}}));
  });
  p.value("seccomp", "mode=retain|remove,[errno=E,]SYSCALL,…", "a seccomp filter",
          [&](std::string_view v) { seg().app.isolators.push_back(parseSeccomp(v)); });
  p.flag("no-new-privileges", "set no_new_privs for the app", [&](bool v) { seg().nnp = v; });
  p.value("sysctl", "KEY=VALUE|KEY",
          "set a namespaced sysctl, or let the image set KEY (KEY.* for a prefix; repeatable)",
          [&](std::string_view v) {
            auto eq = v.find('=');
            std::string key(v.substr(0, eq));
            if (key.empty()) throw UsageError("--sysctl: want KEY=VALUE or KEY, not " + quote(v));
            seg().app.sysctlGrants.push_back(key);
            if (eq != std::string_view::npos) {
              if (key.back() == '*') {
                throw UsageError("--sysctl " + quote(v) + ": a pattern takes no value");
              }
              seg().sysctls[key] = std::string(v.substr(eq + 1));
            }
          });
  p.value("ulimit", "TYPE=SOFT[:HARD]", "a resource limit, e.g. nofile=1024:2048 (repeatable)",
          [&](std::string_view v) {
            try {
              seg().app.ulimits.push_back(translate::Ulimit::parse(v));
            } catch (const Error& e) {
              throw UsageError("--ulimit: " + std::string(e.what()));
            }
          });
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "---") {
      segments.emplace_back().afterSeparator = true;
    } else if (a == "--") {
      for (++i; i < args.size() && args[i] != "---"; ++i) {
        OptionParser::checkPositional(args[i]);
        seg().app.args.push_back(args[i]);
      }
      --i;
    } else if (p.parseFlag(args, i)) {
      if (p.helpRequested()) {
        ctx.out << p.helpText();
        return false;
      }
    } else {
      OptionParser::checkPositional(a);
      checkImageWord(a, seg().hasImage);
      if (seg().hasImage || !seg().app.args.empty()) segments.emplace_back();
      seg().app.image = a;
      seg().hasImage = true;
    }
  }
  for (auto& sg : segments) {
    pod::AppRequest& app = sg.app;
    if (sg.readOnly) app.readOnlyRootfs = true;
    if (!sg.sysctls.empty()) {
      app.isolators.push_back(
          isolator("sysctl", {{"name", "os/unix/sysctl"}, {"value", sg.sysctls}}));
    }
    if (sg.nnp) {
      app.isolators.push_back(
          isolator("no-new-privileges", {{"name", "os/linux/no-new-privileges"}, {"value", true}}));
    }
    if (!sg.hasImage) {
      bool any = app.name || app.exec || app.user || app.group || app.workingDir ||
                 !app.environment.empty() || !app.mounts.empty() || !app.isolators.empty() ||
                 sg.readOnly || app.supplementaryGids || !app.args.empty() ||
                 !app.ulimits.empty() || !app.userAnnotations.empty() || !app.userLabels.empty() ||
                 app.pidsLimit || app.stopSignal || !app.sysctlGrants.empty();
      if (any) throw UsageError("app flags without an image; usage: " + usage);
      if (sg.afterSeparator) throw UsageError("--- must be followed by an image; usage: " + usage);
      continue;
    }
    r.apps.push_back(std::move(app));
  }
  if (r.apps.empty() && !r.podManifest) throw UsageError("no image given; usage: " + usage);
  p.finish();
  r.fetch = fetchOptions(ctx.global, policy);
  r.stage1Config = ctx.global.config().stage1;
  r.stage1ImagesDir = ctx.global.config().paths.stage1Images;
  r.netConfigDirs = ctx.global.config().netDirs;
  r.insecure = {insecure(ctx.global, "capabilities"), insecure(ctx.global, "paths"),
                insecure(ctx.global, "seccomp")};
  warnInsecureRun(ctx, r.insecure);
  r.debug = ctx.global.debug;
  return true;
}

}  // namespace ferry::cli
