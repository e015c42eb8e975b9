#include "stage0/pod/stage1.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage0/pod/phase.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

namespace {

// argv for execv: the strings must outlive the call.
std::vector<char*> argvOf(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// An entrypoint to execute: its directory and file name apart, made before any fork.
struct EntrypointFile {
  std::string dir;
  std::string name;
};

EntrypointFile entrypointFile(const fs::path& path) {
  return {path.parent_path().string(), path.filename().string()};
}

void say(const char* a, const char* b = "") noexcept {
  (void)!::write(2, a, std::strlen(a));
  (void)!::write(2, b, std::strlen(b));
}

// In a child after fork or just before exec: no allocation from here on. The entrypoint runs
// from a read-only clone of its directory (a detached mount: open_tree, then mount_setattr), so
// that its /proc/<pid>/exe — and that of every process it forks into the pod without an exec,
// as the ns stage1 does with the pod init — can never be opened for writing (stage1/ABI.md §4).
// argv[0] keeps the entrypoint's own path: the kernel names the file "/<name>" inside the clone.
// Where the kernel or the caller's privileges allow no clone (not root), the file runs as it is.
[[noreturn]] void chdirAndExec(const char* podDir, const EntrypointFile& file,
                               char** argv) noexcept {
  if (::chdir(podDir) != 0) {
    say("ferry: cannot enter the pod directory\n");
    ::_exit(254);
  }
  int tree = static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, file.dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (tree >= 0) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0) {
      ::syscall(SYS_execveat, tree, file.name.c_str(), argv, environ, 0);
    }
    ::close(tree);
  } else if (errno != EPERM && errno != ENOSYS) {
    say("ferry: cannot make a read-only clone of ", file.dir.c_str());
    say(": ", std::strerror(errno));
    say("\n");
    ::_exit(254);
  }
  ::execv(argv[0], argv);
  say("ferry: cannot execute the stage1 entrypoint: ", argv[0]);
  say("\n");
  ::_exit(254);
}

}  // namespace

Stage1 Stage1::load(const fs::path& dir) {
  Stage1 s;
  s.d_ = stage1::Descriptor::load(dir);
  return s;
}

std::vector<fs::path> Stage1::searchDirs() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  fs::path bin = exe.parent_path();
  return {(bin / ".." / "libexec" / "ferry" / "stage1").lexically_normal(),
          (bin / ".." / "lib" / "ferry" / "stage1").lexically_normal()};
}

std::vector<fs::path> Stage1::imageDirs() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  fs::path bin = exe.parent_path();
  return {(bin / ".." / "libexec" / "ferry" / "stage1-images").lexically_normal(),
          (bin / ".." / "lib" / "ferry" / "stage1-images").lexically_normal()};
}

std::optional<Stage1> Stage1::findInstalled(std::string_view n) {
  if (n.empty() || n.find('/') != std::string_view::npos || n == "." || n == "..") {
    return std::nullopt;
  }
  for (const auto& d : searchDirs()) {
    std::error_code ec;
    if (fs::is_regular_file(d / n / "stage1.json", ec)) return load(d / n);
  }
  return std::nullopt;
}

Stage1 Stage1::resolve(const std::optional<fs::path>& path,
                       const std::optional<std::string>& name) {
  if (path) return load(fs::absolute(*path));
  std::string n = name.value_or(std::string(kDefaultStage1));
  if (n.empty() || n.find('/') != std::string::npos || n == "." || n == "..") {
    throw Error(Errc::kUsage, "--stage1-name: " + quote(n) + " is not a stage1 name");
  }
  if (auto s1 = findInstalled(n)) return std::move(*s1);
  std::string tried;
  for (const auto& d : searchDirs()) tried += (tried.empty() ? "" : ", ") + quote((d / n).string());
  throw Error(Errc::kNotFound, "no stage1 named " + quote(n) + " (looked in " + tried +
                                   "); give one with --stage1-path");
}

Stage1 Stage1::fromImage(const fs::path& rootfs, const std::string& imageId) {
  std::error_code ec;
  if (!fs::is_regular_file(rootfs / "stage1.json", ec)) {
    throw Error(Errc::kInvalid,
                "image " + imageId + " is not a stage1: its rootfs has no stage1.json");
  }
  Stage1 s;
  try {
    s = load(rootfs);
  } catch (const Error& e) {
    throw Error(e.code(), "image " + imageId + " is not a usable stage1: " + e.what());
  }
  s.image_ = imageId;
  return s;
}

bool Stage1::hasEntrypoint(std::string_view name) const { return d_.hasEntrypoint(name); }

fs::path Stage1::entrypoint(std::string_view name) const {
  auto it = d_.entrypoints.find(name);
  if (it == d_.entrypoints.end()) {
    throw Error(Errc::kUnsupported, "not supported: stage1 " + quote(d_.name) + " has no " +
                                        std::string(name) + " entrypoint");
  }
  return d_.dir / it->second;
}

bool Stage1::supportsNet(std::string_view mode) const { return d_.supportsNet(mode); }

bool Stage1::supportsInteractive() const { return d_.feature(stage1::feature::kInteractive); }

bool Stage1::supportsMds() const { return d_.feature(stage1::feature::kMds); }

bool Stage1::supportsPrivateUsers() const { return d_.feature(stage1::feature::kPrivateUsers); }

bool Stage1::needsRoot() const { return d_.feature(stage1::feature::kRoot); }

void Stage1::checkCanRun() const {
  uid_t euid = ::geteuid();
  if (needsRoot() && euid != 0) {
    throw Error(Errc::kUnsupported, "not supported: stage1 " + quote(d_.name) +
                                        " runs pods as root only (ferry runs as uid " +
                                        std::to_string(euid) + ")");
  }
}

std::optional<std::string> Stage1::installedName() const {
  std::string n = d_.dir.filename().string();
  for (const auto& d : searchDirs()) {
    std::error_code ec;
    fs::path candidate = fs::canonical(d / n, ec);
    if (!ec && candidate == d_.dir) return n;
  }
  return std::nullopt;
}

std::string Stage1::identity() const {
  // What each file is (device, inode) and its last change (size, mtime, ctime): a write, a
  // replacement, a rename or a chmod changes one of them, and a stat costs nothing where hashing
  // a stage1's binaries (megabytes) would cost every stop and enter.
  Hasher h(DigestAlgorithm::kSha256);
  auto add = [&](const std::string& label, const fs::path& file) {
    struct stat st;
    if (::lstat(file.c_str(), &st) != 0) throwErrno("stat " + quote(file.string()));
    std::string line =
        label + ' ' + std::to_string(st.st_dev) + ' ' + std::to_string(st.st_ino) + ' ' +
        std::to_string(st.st_mode) + ' ' + std::to_string(st.st_size) + ' ' +
        std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + ' ' +
        std::to_string(st.st_ctim.tv_sec) + '.' + std::to_string(st.st_ctim.tv_nsec) + '\n';
    h.update(line);
  };
  add("stage1.json", d_.dir / stage1::kDescriptorFile);
  for (const auto& [name, rel] : d_.entrypoints)
    add("entrypoints." + name + "=" + rel, d_.dir / rel);
  return "sha256:" + h.finishHex();
}

namespace {

constexpr const char* kStage1Ref = "stage1-ref";

}  // namespace

void recordPodStage1(const Stage1& s1, const fs::path& podDir, Sync sync) {
  json::Json ref = json::Json::object();
  if (auto name = s1.installedName(); name && !s1.image()) {
    ref["name"] = *name;
  } else {
    if (s1.image()) ref["image"] = *s1.image();
    ref["path"] = s1.dir().string();
    ref["identity"] = s1.identity();
  }
  writeFileAtomic(podDir / kStage1Ref, json::dump(ref) + "\n", 0600, sync);
}

std::optional<fs::path> recordedStage1Path(const fs::path& podDir) {
  fs::path file = podDir / kStage1Ref;
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  json::Json ref = json::parse(readFile(file, 1 << 16), file.string());
  if (!ref.is_object() || !ref.contains("path") || !ref["path"].is_string()) return std::nullopt;
  return fs::path(ref["path"].get<std::string>());
}

Stage1 podStage1(const Pod& pod) {
  fs::path file = pod.path / kStage1Ref;
  std::string refused = "cannot use the stage1 of pod " + pod.uuid + ": ";
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    // A pod of an older ferry: its link, when it leads to an installed stage1 (only those are
    // trusted without a record).
    fs::path target = fs::canonical(pod.path / "stage1", ec);
    if (ec) throw Error(Errc::kNotFound, refused + "its stage1 is gone");
    Stage1 s1 = Stage1::load(target);
    if (!s1.installedName()) {
      throw Error(Errc::kInvalid, refused + "its stage1 link leads to " + quote(target.string()) +
                                      ", not to a stage1 installed beside ferry");
    }
    return s1;
  }
  json::Json ref = json::parse(readFile(file, 1 << 16), file.string());
  try {
    json::asObject(ref, "");
    if (ref.contains("name")) {
      std::string name = json::asString(ref["name"], "name");
      try {
        return Stage1::resolve(std::nullopt, name);
      } catch (const Error& e) {
        throw Error(Errc::kNotFound, refused + e.what());
      }
    }
    if (!ref.contains("path")) json::fail("path", "missing");
    if (!ref.contains("identity")) json::fail("identity", "missing");
    fs::path dir = json::asString(ref["path"], "path");
    std::string identity = json::asString(ref["identity"], "identity");
    if (!fs::exists(dir / "stage1.json", ec)) {
      throw Error(Errc::kNotFound, refused + quote(dir.string()) + " is gone");
    }
    Stage1 s1 = Stage1::load(dir);
    if (ref.contains("image")) s1.image_ = json::asString(ref["image"], "image");
    if (s1.identity() != identity) {
      throw Error(Errc::kInvalid, refused + "the stage1 at " + quote(dir.string()) +
                                      " changed since the pod was prepared");
    }
    return s1;
  } catch (const Error& e) {
    if (e.code() == Errc::kNotFound || std::string_view(e.what()).starts_with(refused)) throw;
    throw Error(e.code(), refused + quote(file.string()) + ": " + e.what());
  }
}

void execRun(const Stage1& s1, const Pod& pod, PodLock& lock, bool debug) {
  int fd = lock.inheritable();
  std::vector<std::string> args = {s1.entrypoint("run").string(), "--uuid", pod.uuid, "--lock-fd",
                                   std::to_string(fd)};
  if (debug) args.push_back("--debug");
  auto argv = argvOf(args);
  std::string dir = pod.path.string();
  EntrypointFile file = entrypointFile(args[0]);
  phase(debug, "exec of the stage1's run entrypoint");
  chdirAndExec(dir.c_str(), file, argv.data());
}

int runEntrypoint(const Stage1& s1, std::string_view entry, const Pod& pod,
                  const std::vector<std::string>& extra) {
  std::vector<std::string> args = {s1.entrypoint(entry).string()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto argv = argvOf(args);
  std::string dir = pod.path.string();
  EntrypointFile file = entrypointFile(args[0]);
  pid_t pid = ::fork();
  if (pid < 0) throwErrno("fork for the stage1 " + std::string(entry) + " entrypoint");
  if (pid == 0) chdirAndExec(dir.c_str(), file, argv.data());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throwErrno("wait for the stage1 " + std::string(entry) + " entrypoint");
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

void execEntrypoint(const Stage1& s1, std::string_view entry, const Pod& pod,
                    const std::vector<std::string>& extra) {
  std::vector<std::string> args = {s1.entrypoint(entry).string()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto argv = argvOf(args);
  std::string dir = pod.path.string();
  EntrypointFile file = entrypointFile(args[0]);
  chdirAndExec(dir.c_str(), file, argv.data());
}

void Stage1Cleaner::cleanup(const Pod& pod) {
  std::optional<Stage1> s1;
  try {
    s1 = podStage1(pod);
  } catch (const Error& e) {
    // The pod's stage1 is gone (or never got there: an aborted prepare). One that is not the
    // stage1 the pod was prepared with is refused: the error says so.
    if (e.code() != Errc::kNotFound) throw;
  }
  if (s1) {
    // ABI §4: `gc --uuid UUID`; debug_ only adds ferry's own account of it.
    if (debug_)
      std::fprintf(stderr, "ferry: running the gc entrypoint of pod %s\n", pod.uuid.c_str());
    std::vector<std::string> args = {"--uuid", pod.uuid};
    int rc = runEntrypoint(*s1, "gc", pod, args);
    if (rc != 0) {
      throw Error(Errc::kIo, "the gc entrypoint of stage1 " + quote(s1->name()) +
                                 " failed on pod " + pod.uuid + " (exit status " +
                                 std::to_string(rc) + ")");
    }
    return;
  }
  for (const auto& m : mountsBelow(pod.path)) {
    if (::umount2(m.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      throwErrno("unmount " + quote(m.string()));
    }
  }
}

}  // namespace ferry::pod
