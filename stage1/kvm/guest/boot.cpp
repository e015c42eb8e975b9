// The guest /init's boot steps (init.cpp runs them in order): mounts, the kernel modules, the
// channel port, the guest's pod directory, the initramfs's own binaries and the pod's cgroups.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/cgroup_devices.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/pod_userns.hpp"
#include "stage1/common/resources.hpp"
#include "stage1/kvm/channel.hpp"
#include "stage1/kvm/guest/guest.hpp"

namespace ferry::kvm::guest {

void mountOrThrow(const char* src, const fs::path& dst, const char* type, unsigned long flags,
                  const char* data) {
  std::error_code ec;
  fs::create_directories(dst, ec);
  if (::mount(src, dst.c_str(), type, flags, data) != 0) {
    throwErrno(std::string("mount ") + (type ? type : src) + " on " + quote(dst.string()));
  }
}

void loadModules(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throwErrno("open " + quote(f.string()));
    if (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST) {
      throwErrno("load module " + quote(f.string()));
    }
  }
}

// The virtio-serial port named kChannelName (devtmpfs makes /dev/vportNpM once the driver
// found it: waits up to 20 s).
int openChannel() {
  for (int i = 0; i < 2000; ++i) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/class/virtio-ports", ec)) {
      std::ifstream in(e.path() / "name");
      std::string name;
      std::getline(in, name);
      if (name != kvm::kChannelName) continue;
      fs::path dev = fs::path("/dev") / e.path().filename();
      int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (fd >= 0) return fd;
    }
    ::usleep(10000);
  }
  throw Error(Errc::kNotFound, "cannot find the channel port " + std::string(kvm::kChannelName));
}

namespace {

// The apps' rootfs under the guest's pod directory `dst`, each bound on itself without the
// share's nosuid (nodev kept): an image's setuid programs work in the guest as on ns, whose
// overlay is mounted without it (no_new_privs, stage2's, decides as there). Everything else of
// the share stays nosuid: its volumes and bind sources may be nosuid mounts on the host, which
// virtiofs and 9p do not show the guest.
void allowSetuidInRootfs(const fs::path& dst) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dst / "apps", ec)) {
    fs::path rootfs = e.path() / "rootfs";
    struct stat st;
    if (::lstat(rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    mountOrThrow(rootfs.c_str(), rootfs, nullptr, MS_BIND | MS_REC, nullptr);
    mountOrThrow(nullptr, rootfs, nullptr, MS_BIND | MS_REMOUNT | MS_NODEV, nullptr);
  }
}

}  // namespace

// The guest's pod directory: a tmpfs at `pod` holding the share's entries the pod init and
// stage2 read or write, bound from the share (mounted under /root).
void makePodDir(const fs::path& root, const fs::path& pod) {
  fs::path src = "/podsrc";
  mountOrThrow((root / pod.relative_path()).c_str(), src, nullptr, MS_BIND | MS_REC);
  fs::path dst = root / pod.relative_path();
  mountOrThrow("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700");
  for (const char* name : {"runtime.json", "pod", "apps", "status", "logs", "etc", "volumes"}) {
    struct stat st;
    if (::lstat((src / name).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      fs::create_directory(dst / name);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd f(::open((dst / name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    } else {
      continue;
    }
    mountOrThrow((src / name).c_str(), dst / name, nullptr, MS_BIND | MS_REC);
  }
  ::umount2(src.c_str(), MNT_DETACH);
  allowSetuidInRootfs(dst);
}

// ferry.bin=1 (the pod init and stage2 are the stage1's own): the initramfs's copies of
// ferry-init and ferry-stage2 (kOwnBin, read-only) bound over the share's at their host paths,
// so that the pod init finds ferry-stage2 beside itself as it would: what starts each app is
// read from the guest's memory, not page by page over virtiofs or 9p.
void ownBinaries(const fs::path& root, const fs::path& init) {
  const fs::path own = kOwnBin;
  for (const auto& [from, to] :
       {std::pair{own / "ferry-init", init},
        std::pair{own / "ferry-stage2", init.parent_path() / "ferry-stage2"}}) {
    fs::path dst = root / to.relative_path();
    if (::mount(from.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        ::mount(nullptr, dst.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID,
                nullptr) != 0) {
      throwErrno("bind " + quote(from.string()) + " over " + quote(dst.string()));
    }
  }
}

// The ns stage1's cgroups, in the guest's cgroup2: the pod cgroup with its device rules and
// limits, init/ and app-<name>/ with theirs; cgroups.json in the guest's pod directory.
Cgroups makeCgroups(const fs::path& podDir, const stage1::RuntimeOptions& rt) {
  std::vector<stage1::AppCgroupConfig> appConfigs;
  for (const auto& app : rt.apps) appConfigs.push_back(stage1::appCgroupConfig(podDir, app.name));
  stage1::ResourcesConfig podResources = stage1::podResourcesOf(podDir, rt);
  cgroup::DevicePolicy devices = stage1::podDevicePolicy(podResources, appConfigs);
  cgroup::Layout layout = cgroup::Layout::detect();
  Cgroups c;
  c.pod = cgroup::Group::place(layout, stage1::podCgroupName(rt.uuid));
  stage1::writeCgroupsJson(podDir, c.pod);
  c.pod.make();
  cgroup::applyDevicePolicy(c.pod, devices);
  c.pod.apply(podResources.limits);
  c.init = c.pod.limitable().createChild(cgroup::kInitCgroupName);
  std::vector<cgroup::Group> apps;
  for (const auto& app : rt.apps) {
    apps.push_back(c.pod.limitable().createChild(cgroup::appCgroupName(app.name)));
  }
  c.pod.delegate();
  for (size_t i = 0; i < apps.size(); ++i) apps[i].apply(appConfigs[i].limits);
  c.joinFiles = c.init.procsFiles();
  if (rt.privateUsers) {
    // The init (the namespace's root, guest uid START) moves its children from init/ into the
    // app cgroups: the cgroup.procs files of those and of their common parent are its own.
    cgroup::Group podLimitable = c.pod.limitable();
    std::vector<const cgroup::Group*> movers = {&podLimitable, &c.init};
    for (const cgroup::Group& g : apps) movers.push_back(&g);
    stage1::chownProcsFiles(movers, rt.privateUsers->uid, rt.privateUsers->gid);
  }
  return c;
}

// privateUsers: the guest's pod directory (the tmpfs makePodDir made, and the cgroups.json
// written into it) as sharePodDir leaves the host's: root:START 01730, cgroups.json root:START
// 0640; the entries bound from the share have their host owners already.
void sharePodDirInGuest(const fs::path& podDir, const stage1::PrivateUsers& users) {
  for (const auto& [file, mode] :
       {std::pair{podDir, 01730}, std::pair{podDir / "cgroups.json", 0640}}) {
    if (::chown(file.c_str(), 0, users.gid) != 0 || ::chmod(file.c_str(), mode) != 0) {
      throwErrno("give the pod's user namespace " + quote(file.string()));
    }
  }
}

}  // namespace ferry::kvm::guest
