// The pod init's private root (stage1/ns/private_root.hpp), built for real in a child of the test
// in a mount namespace of its own: what it holds, and the mount points it refuses to make where a
// host's tree is (a missing one inside a host directory, a symlink on the way), whichever way the
// tmpfs's own directories are made.
#include "stage1/ns/private_root.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ferry::stage1 {
namespace {

namespace fs = std::filesystem;

// A detached, empty tmpfs (as the parent hands a bind source to a pod with a user namespace).
int detachedTmpfs() {
  int fs = static_cast<int>(::syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
  if (fs < 0 || ::syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return -1;
  }
  int mnt = static_cast<int>(::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0));
  ::close(fs);
  return mnt;
}

struct Outcome {
  int status = -1;   // the child's exit status: 0 built and checked, 1 a check failed, 2 Error
  Errc code{};       // the Error's, when status is 2
  std::string text;  // the Error's message, or which check failed
};

class PrivateRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (a mount namespace, mounts)";
    std::random_device rd;
    base_ = fs::temp_directory_path() /
            ("ferry-prtest-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000));
    fs::create_directories(base_ / "pod");
    fs::create_directories(base_ / "host" / "sub");
  }
  void TearDown() override {
    std::error_code ec;
    if (!base_.empty()) fs::remove_all(base_, ec);
  }

  // In a child with a mount namespace of its own (the pod directory its working directory, as
  // the ns stage1 has it): prep fills the plan, enterPrivateRoot builds the root, then check
  // runs in it (an empty string: all is well).
  Outcome build(const std::function<void(PrivateRootPlan&)>& prep,
                const std::function<std::string()>& check) {
    int pipe[2];
    if (::pipe2(pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(pipe[0]);
      auto report = [&](int status, Errc code, const std::string& text) {
        int c = static_cast<int>(code);
        (void)!::write(pipe[1], &c, sizeof c);
        (void)!::write(pipe[1], text.data(), text.size());
        ::_exit(status);
      };
      if (::unshare(CLONE_NEWNS) != 0 ||
          ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          ::chdir((base_ / "pod").c_str()) != 0) {
        report(3, Errc{}, "cannot set up the mount namespace");
      }
      try {
        PrivateRootPlan plan;
        plan.podDir = base_ / "pod";
        prep(plan);
        enterPrivateRoot(plan);
        std::string failed = check();
        report(failed.empty() ? 0 : 1, Errc{}, failed);
      } catch (const Error& e) {
        report(2, e.code(), e.what());
      } catch (const std::exception& e) {
        report(3, Errc{}, e.what());
      }
    }
    ::close(pipe[1]);
    Outcome out;
    int c = 0;
    if (::read(pipe[0], &c, sizeof c) == static_cast<ssize_t>(sizeof c)) out.code = Errc(c);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipe[0], buf, sizeof buf)) > 0) out.text.append(buf, static_cast<size_t>(n));
    ::close(pipe[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
  }

  fs::path base_;
};

std::string expectDir(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "no directory " + p.string();
  return "";
}

// A host tree, a cgroup-like directory inside it, a device node and the binaries' kind of file
// mount: each at its host path, in a root of nothing else; the host tree is the host's.
TEST_F(PrivateRoot, HoldsWhatThePlanLists) {
  ::close(::open((base_ / "host" / "sub" / "mark").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ::close(::open((base_ / "bin").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0755));
  fs::path host = base_ / "host";
  fs::path bin = base_ / "bin";
  Outcome o = build(
      [&](PrivateRootPlan& plan) {
        plan.sources.push_back(host);
        plan.cgroups.push_back(host / "sub");
        plan.binaries.push_back(bin);
        plan.devices.emplace_back("/dev/null");
      },
      [&]() -> std::string {
        for (const fs::path& d : {host / "sub", base_ / "pod"}) {
          if (std::string e = expectDir(d); !e.empty()) return e;
        }
        if (::access((host / "sub" / "mark").c_str(), F_OK) != 0) return "the host tree is not";
        if (::access("/proc/self/status", F_OK) != 0) return "no /proc";
        struct stat st;
        if (::stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode)) return "no /dev/null";
        if (::stat(bin.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "no binary";
        if (::open(bin.c_str(), O_WRONLY | O_CLOEXEC) >= 0 || errno != EROFS) {
          return "the binary is writable";
        }
        // Nothing else: the root holds the first components of those paths only.
        std::string top = base_.relative_path().begin()->string();
        for (const auto& e : fs::directory_iterator("/")) {
          std::string n = e.path().filename();
          if (n != "dev" && n != "proc" && n != top) return "/ holds " + n;
        }
        char cwd[4096];
        if (::getcwd(cwd, sizeof cwd) == nullptr || base_ / "pod" != cwd) return "cwd elsewhere";
        return "";
      });
  EXPECT_EQ(o.status, 0) << o.text;
  // Nothing was made on the host.
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(host)) names.push_back(e.path().string());
  EXPECT_EQ(names,
            (std::vector<std::string>{(host / "sub").string(), (host / "sub" / "mark").string()}));
}

// A mount point that the host's tree lacks is never made in it: the handed tree at host/ is an
// empty tmpfs, where host/sub (a directory on the host, so an entry of the plan) is missing.
TEST_F(PrivateRoot, RefusesToCreateInAHostTree) {
  fs::path host = base_ / "host";
  Outcome o = build(
      [&](PrivateRootPlan& plan) {
        int tree = detachedTmpfs();
        if (tree < 0) throw std::runtime_error("no detached tmpfs");
        plan.sources.push_back(host);
        plan.handed[host] = tree;
        plan.cgroups.push_back(host / "sub");
      },
      [] { return std::string("built"); });
  EXPECT_EQ(o.status, 2) << o.text;
  EXPECT_EQ(o.code, Errc::kIo) << o.text;
  EXPECT_NE(o.text.find("inside a host directory"), std::string::npos) << o.text;
}

// A symlink on the way to a mount point, in a host's tree, is refused: host/sub is one there.
TEST_F(PrivateRoot, RefusesASymlinkOnTheWay) {
  fs::path host = base_ / "host";
  fs::create_directories(host / "sub" / "deeper");
  for (const fs::path& at : {host / "sub", host / "sub" / "deeper"}) {
    Outcome o = build(
        [&](PrivateRootPlan& plan) {
          int tree = detachedTmpfs();
          if (tree < 0 || ::symlinkat("/etc", tree, "sub") != 0) {
            throw std::runtime_error("no detached tmpfs with a symlink");
          }
          plan.sources.push_back(host);
          plan.handed[host] = tree;
          plan.cgroups.push_back(at);
        },
        [] { return std::string("built"); });
    EXPECT_EQ(o.status, 2) << at << ": " << o.text;
    EXPECT_EQ(o.code, Errc::kSecurity) << at << ": " << o.text;
    EXPECT_NE(o.text.find("a symlink"), std::string::npos) << at << ": " << o.text;
  }
}

}  // namespace
}  // namespace ferry::stage1
