// The user namespace and idmapped mounts on the real kernel: root only (skipped otherwise, with
// the reason). Each test runs in its own process (ctest), which first moves into a private
// mount namespace, so every mount made here dies with it.
#include "common/userns.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/idmap.hpp"

namespace ferry::userns {
namespace {

namespace fs = std::filesystem;
using idmap::IdRange;

const IdRange kRange = IdRange::make(0x6FFE0000, 0x10000);

class UsernsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (user namespaces with host ID maps)";
  }
};

// Runs `body` in a child process that joined the user namespace (and became its root, when
// asked), and returns what the body returned, or "error: …".
std::string inUserns(int usernsFd, bool becomeRoot, const std::function<std::string()>& body) {
  int p[2];
  if (::pipe(p) != 0) return "error: pipe";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    try {
      if (::setns(usernsFd, CLONE_NEWUSER) != 0) throwErrno("setns");
      if (becomeRoot && (::setresgid(0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 ||
                         ::setresuid(0, 0, 0) != 0)) {
        throwErrno("become the namespace's root");
      }
      out = body();
    } catch (const std::exception& e) {
      out = std::string("error: ") + e.what();
    }
    [[maybe_unused]] ssize_t n = ::write(p[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

std::string ownerOf(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return "error: stat " + p.string();
  return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
}

std::string ids(uint32_t uid, uint32_t gid) {
  return std::to_string(uid) + ":" + std::to_string(gid);
}

// "0 START COUNT" of a uid_map/gid_map, spaces normalised.
std::string mapOf(const std::string& text) {
  std::istringstream in(text);
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

TEST_F(UsernsTest, ProcessesThatJoinSeeTheMapAndRunAsTheRangeOnTheHost) {
  UniqueFd ns = makeUserns(kRange);
  const std::string want = "0 " + std::to_string(kRange.hostStart()) + " 65536";

  int ready[2], gate[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(gate), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    ::close(gate[1]);
    bool ok = ::setns(ns.get(), CLONE_NEWUSER) == 0 && ::setresgid(0, 0, 0) == 0 &&
              ::setgroups(0, nullptr) == 0 && ::setresuid(0, 0, 0) == 0 && ::getuid() == 0;
    std::string report =
        ok ? mapOf(readFile("/proc/self/uid_map")) + "|" + mapOf(readFile("/proc/self/gid_map"))
           : std::string("error: ") + std::strerror(errno);
    [[maybe_unused]] ssize_t n = ::write(ready[1], report.data(), report.size());
    ::close(ready[1]);
    char c;
    n = ::read(gate[0], &c, 1);
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(gate[0]);
  std::string report;
  char buf[256];
  ssize_t n;
  while ((n = ::read(ready[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  ::close(ready[0]);

  // Seen from the host: the child's map, and its uid is the range's first host uid.
  std::string hostView = mapOf(readFile("/proc/" + std::to_string(pid) + "/uid_map"));
  std::string status = readFile("/proc/" + std::to_string(pid) + "/status");
  ::close(gate[1]);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);

  EXPECT_EQ(report, want + "|" + want);
  EXPECT_EQ(hostView, want);
  std::string uidLine = "\nUid:\t" + std::to_string(kRange.hostStart()) + "\t";
  EXPECT_NE(status.find(uidLine), std::string::npos) << status;
  std::string gidLine = "\nGid:\t" + std::to_string(kRange.hostStart()) + "\t";
  EXPECT_NE(status.find(gidLine), std::string::npos) << status;
}

TEST_F(UsernsTest, EachCallMakesItsOwnNamespaceAndLeavesNoProcess) {
  UniqueFd a = makeUserns(kRange);
  UniqueFd b = makeUserns(IdRange::make(0x6FFD0000, 10));
  struct stat sa {
  }, sb{};
  ASSERT_EQ(::fstat(a.get(), &sa), 0);
  ASSERT_EQ(::fstat(b.get(), &sb), 0);
  EXPECT_NE(sa.st_ino, sb.st_ino);
  // The helpers were reaped: this process has no child left.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  std::string map = inUserns(b.get(), false, [] { return mapOf(readFile("/proc/self/gid_map")); });
  EXPECT_EQ(map, "0 " + std::to_string(0x6FFD0000) + " 10");
}

// mkdtemp's 0700 would stop the namespace's root (an unprivileged host uid) on the way in.
std::unique_ptr<TempDir> traversableTempDir() {
  auto dir = std::make_unique<TempDir>(fs::temp_directory_path(), "ferry-userns-test-");
  fs::permissions(dir->path(),
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  return dir;
}

// A tree with files of the pod's root, of a pod user, and of an ID beyond the range.
void populate(const fs::path& dir) {
  fs::create_directories(dir / "sub");
  writeFileAtomic(dir / "root-file", "r");
  writeFileAtomic(dir / "sub/user-file", "u");
  writeFileAtomic(dir / "outsider", "o");
  ASSERT_EQ(::chown((dir / "sub/user-file").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::chown((dir / "outsider").c_str(), 70000, 70000), 0);  // beyond 65536
}

TEST_F(UsernsTest, IdmappedMountShowsTheTreeThroughTheMap) {
  std::unique_ptr<TempDir> dir = traversableTempDir();
  const fs::path tmpfs = dir->path() / "tmpfs", view = dir->path() / "view";
  fs::create_directories(tmpfs);
  fs::create_directories(view);
  ASSERT_EQ(::mount("tmpfs", tmpfs.c_str(), "tmpfs", 0, "mode=0755"), 0);
  populate(tmpfs);
  UniqueFd ns = makeUserns(kRange);
  EXPECT_EQ(idmapUnsupported(tmpfs, ns.get()), std::nullopt);
  idmappedBind(tmpfs, view, ns.get());

  const uint32_t s = kRange.hostStart();
  // Outside: stored uid N is host uid start+N; an ID the map lacks is the overflow ID.
  EXPECT_EQ(ownerOf(view / "root-file"), ids(s, s));
  EXPECT_EQ(ownerOf(view / "sub/user-file"), ids(s + 1000, s + 1001));
  EXPECT_EQ(ownerOf(view / "outsider"), ids(65534, 65534));
  EXPECT_EQ(ownerOf(tmpfs / "root-file"), ids(0, 0));  // the tree itself is unchanged

  // Inside: the stored IDs again.
  std::string inside = inUserns(ns.get(), true, [&] {
    return ownerOf(view / "root-file") + " " + ownerOf(view / "sub/user-file");
  });
  EXPECT_EQ(inside, "0:0 1000:1001");

  // What the namespace's root creates through the mount is stored as 0; through the plain tree
  // (not idmapped) it cannot write at all: the tree is host root's.
  std::string wrote = inUserns(ns.get(), true, [&] {
    writeAll(openFile(view / "new", O_WRONLY | O_CREAT | O_EXCL, 0644).get(), "n", 1, "new");
    bool plain = ::open((tmpfs / "denied").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644) >= 0;
    return std::string(plain ? "plain tree writable" : "ok");
  });
  EXPECT_EQ(wrote, "ok");
  EXPECT_EQ(ownerOf(tmpfs / "new"), ids(0, 0));
  EXPECT_EQ(ownerOf(view / "new"), ids(s, s));
  EXPECT_FALSE(fs::exists(tmpfs / "denied"));
  ASSERT_EQ(::umount2(view.c_str(), MNT_DETACH), 0);
  ASSERT_EQ(::umount2(tmpfs.c_str(), MNT_DETACH), 0);
}

TEST_F(UsernsTest, ProbeTellsWhichFilesystemsCanBeIdmapped) {
  UniqueFd ns = makeUserns(kRange);
  TempDir dir(fs::temp_directory_path(), "ferry-userns-test-");
  EXPECT_EQ(idmapUnsupported(dir.path(), ns.get()), std::nullopt);  // ext4 (the store's) here
  const fs::path proc = dir.path() / "proc";
  fs::create_directories(proc);
  ASSERT_EQ(::mount("proc", proc.c_str(), "proc", 0, nullptr), 0);
  std::optional<std::string> why = idmapUnsupported(proc, ns.get());
  ASSERT_TRUE(why);  // procfs has no idmapped mounts
  EXPECT_NE(why->find("does not support idmapped mounts"), std::string::npos) << *why;
  EXPECT_THROW(idmappedTree(proc, ns.get()), std::system_error);
  ASSERT_EQ(::umount2(proc.c_str(), MNT_DETACH), 0);
}

// The pod's layout: the store's tree (owned by 0…) as an idmapped lower layer, upper and work
// owned by the mapped root, the overlay mounted by host root.
TEST_F(UsernsTest, OverlayOverAnIdmappedLower) {
  std::unique_ptr<TempDir> dir = traversableTempDir();
  const fs::path tree = dir->path() / "tree", lower = dir->path() / "lower",
                 upper = dir->path() / "upper", work = dir->path() / "work",
                 rootfs = dir->path() / "rootfs";
  populate(tree);
  for (const fs::path& p : {lower, upper, work, rootfs}) fs::create_directories(p);
  const uint32_t s = kRange.hostStart();
  for (const fs::path& p : {upper, work}) ASSERT_EQ(::chown(p.c_str(), s, s), 0);

  UniqueFd ns = makeUserns(kRange);
  idmappedBind(tree, lower, ns.get());
  std::string opts =
      "lowerdir=" + lower.string() + ",upperdir=" + upper.string() + ",workdir=" + work.string();
  ASSERT_EQ(::mount("overlay", rootfs.c_str(), "overlay", 0, opts.c_str()), 0)
      << std::strerror(errno);
  // Overlayfs holds its own clone of the lower layer: the idmapped mount can go.
  ASSERT_EQ(::umount2(lower.c_str(), MNT_DETACH), 0);

  EXPECT_EQ(ownerOf(rootfs / "root-file"), ids(s, s));
  EXPECT_EQ(ownerOf(rootfs / "sub/user-file"), ids(s + 1000, s + 1001));

  std::string inside = inUserns(ns.get(), true, [&] {
    std::string seen = ownerOf(rootfs / "root-file") + " " + ownerOf(rootfs / "sub/user-file");
    writeAll(openFile(rootfs / "created", O_WRONLY | O_CREAT | O_EXCL, 0644).get(), "c", 1, "c");
    writeAll(openFile(rootfs / "root-file", O_WRONLY | O_TRUNC).get(), "R", 1, "root-file");
    // A pod user's file, changed by that user: copy-up keeps its owner.
    if (::setresuid(1000, 1000, 1000) != 0) throwErrno("setresuid 1000");
    writeAll(openFile(rootfs / "sub/user-file", O_WRONLY | O_APPEND).get(), "2", 1, "user-file");
    return seen + " " + ownerOf(rootfs / "created");
  });
  EXPECT_EQ(inside, "0:0 1000:1001 0:0");

  // The writes landed in upper with the mapped host IDs; the store's tree is untouched.
  EXPECT_EQ(ownerOf(upper / "created"), ids(s, s));
  EXPECT_EQ(ownerOf(upper / "root-file"), ids(s, s));
  EXPECT_EQ(ownerOf(upper / "sub/user-file"), ids(s + 1000, s + 1001));
  EXPECT_EQ(readFile(upper / "root-file"), "R");
  EXPECT_EQ(readFile(upper / "sub/user-file"), "u2");
  EXPECT_EQ(readFile(tree / "root-file"), "r");
  EXPECT_EQ(readFile(tree / "sub/user-file"), "u");
  EXPECT_EQ(ownerOf(tree / "root-file"), ids(0, 0));
  EXPECT_FALSE(fs::exists(tree / "created"));
  ASSERT_EQ(::umount2(rootfs.c_str(), MNT_DETACH), 0);
}

// What the ns stage1 will do (docs/private-users.md): the pod's first process is cloned into a
// new user and mount namespace; the parent maps its IDs, idmaps the store's tree through that
// process's user namespace and hands it over as a detached mount; the child, now the
// namespace's root, attaches it and mounts the overlay itself (userxattr: trusted.* xattrs are
// host root's).
TEST_F(UsernsTest, PodProcessMountsAnOverlayOverAnIdmappedTreeItWasHanded) {
  std::unique_ptr<TempDir> dir = traversableTempDir();
  const fs::path tree = dir->path() / "tree", app = dir->path() / "app";
  populate(tree);
  for (const char* d : {"lower", "upper", "work", "rootfs"}) fs::create_directories(app / d);
  fs::permissions(app, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  const uint32_t s = kRange.hostStart();
  for (const char* d : {"upper", "work"}) ASSERT_EQ(::chown((app / d).c_str(), s, s), 0);

  int sp[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
  UniqueFd parentEnd(sp[0]), childEnd(sp[1]);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    parentEnd.reset();
    std::string out;
    try {
      if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) throwErrno("unshare");
      if (::write(childEnd.get(), "u", 1) != 1) throwErrno("report");
      // The tree arrives as SCM_RIGHTS once the maps are written.
      char byte;
      iovec iov{&byte, 1};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      if (::recvmsg(childEnd.get(), &msg, MSG_CMSG_CLOEXEC) != 1) throwErrno("receive the tree");
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      if (c == nullptr || c->cmsg_type != SCM_RIGHTS) throw Error(Errc::kIo, "no tree received");
      int raw;
      std::memcpy(&raw, CMSG_DATA(c), sizeof raw);
      UniqueFd treeFd(raw);
      if (::setresgid(0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 || ::setresuid(0, 0, 0) != 0)
        throwErrno("become the namespace's root");
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) throwErrno("rprivate");
      attachTree(treeFd.get(), app / "lower");
      std::string opts = "lowerdir=" + (app / "lower").string() +
                         ",upperdir=" + (app / "upper").string() +
                         ",workdir=" + (app / "work").string() + ",userxattr";
      if (::mount("overlay", (app / "rootfs").c_str(), "overlay", 0, opts.c_str()) != 0)
        throwErrno("mount the overlay in the user namespace");
      if (::umount2((app / "lower").c_str(), MNT_DETACH) != 0) throwErrno("detach the lower");
      writeAll(openFile(app / "rootfs/created", O_WRONLY | O_CREAT | O_EXCL, 0644).get(), "c", 1,
               "created");
      writeAll(openFile(app / "rootfs/root-file", O_WRONLY | O_TRUNC).get(), "R", 1, "root-file");
      out = ownerOf(app / "rootfs/root-file") + " " + ownerOf(app / "rootfs/sub/user-file") + " " +
            ownerOf(app / "rootfs/created");
    } catch (const std::exception& e) {
      out = std::string("error: ") + e.what();
    }
    [[maybe_unused]] ssize_t n = ::write(childEnd.get(), out.data(), out.size());
    ::_exit(0);
  }
  childEnd.reset();
  char byte = 0;
  ASSERT_EQ(::read(parentEnd.get(), &byte, 1), 1);
  ASSERT_EQ(byte, 'u');
  mapIds(pid, kRange);
  UniqueFd ns = openFile("/proc/" + std::to_string(pid) + "/ns/user", O_RDONLY);
  UniqueFd handed = idmappedTree(tree, ns.get());
  {
    char one = 't';
    iovec iov{&one, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int raw = handed.get();
    std::memcpy(CMSG_DATA(c), &raw, sizeof raw);
    ASSERT_EQ(::sendmsg(parentEnd.get(), &msg, 0), 1) << std::strerror(errno);
  }
  handed.reset();
  char buf[4096];
  ssize_t n = ::read(parentEnd.get(), buf, sizeof buf);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "0:0 1000:1001 0:0");
  // Written through the pod's overlay: in upper, as the mapped root; the tree is untouched.
  EXPECT_EQ(ownerOf(app / "upper/created"), ids(s, s));
  EXPECT_EQ(ownerOf(app / "upper/root-file"), ids(s, s));
  EXPECT_EQ(readFile(app / "upper/root-file"), "R");
  EXPECT_EQ(readFile(tree / "root-file"), "r");
  EXPECT_EQ(ownerOf(tree / "root-file"), ids(0, 0));
}

}  // namespace
}  // namespace ferry::userns
