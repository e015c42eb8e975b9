// The compiled-filter file of a bundle (stage2/seccomp_filter.hpp, stage1/ABI.md §3
// "apps/<app>/seccomp.bpf"): what its header must hold to be loaded, and, with the real kernel,
// that the program loaded is the file's only when the file is exactly this spec's.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage2/seccomp_filter.hpp"

namespace ferry::stage2 {
namespace {

namespace fs = std::filesystem;

oci::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                         std::optional<uint32_t> errnoRet = std::nullopt) {
  oci::SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.errnoRet = errnoRet;
  return s;
}

// mkdir refused with ENOTSUP (and a name libseccomp does not know, which it skips).
oci::Seccomp denyMkdir() {
  oci::Seccomp spec;
  spec.defaultAction = "SCMP_ACT_ALLOW";
  spec.syscalls = {rule({"mkdir", "mkdirat", "no_such_syscall_anywhere"}, "SCMP_ACT_ERRNO", 95)};
  return spec;
}

// getppid refused: a filter that lets mkdir through.
oci::Seccomp denyGetppid() {
  oci::Seccomp spec;
  spec.defaultAction = "SCMP_ACT_ALLOW";
  spec.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", 95)};
  return spec;
}

TEST(SeccompCache, RoundTrip) {
  oci::Seccomp spec = denyMkdir();
  SeccompProgram p = SeccompFilter(spec).program();
  ASSERT_FALSE(p.instructions.empty());
  EXPECT_EQ(p.skipped, std::vector<std::string>{"no_such_syscall_anywhere"});
  SeccompKey key = seccompCacheKey(spec);
  std::string file = encodeSeccompCache(key, p);
  EXPECT_EQ(file.size(), kSeccompCacheHeaderSize + p.skipped[0].size() + 1 +
                             p.instructions.size() * sizeof(sock_filter));
  EXPECT_TRUE(seccompCacheHeaderMatches(file.substr(0, kSeccompCacheHeaderSize), file.size(), key));
  std::string why;
  std::optional<SeccompProgram> back = decodeSeccompCache(file, key, why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->skipped, p.skipped);
  ASSERT_EQ(back->instructions.size(), p.instructions.size());
  EXPECT_EQ(std::memcmp(back->instructions.data(), p.instructions.data(),
                        p.instructions.size() * sizeof(sock_filter)),
            0);
}

TEST(SeccompCache, KeyIsTheWholeFilterText) {
  oci::Seccomp spec = denyMkdir();
  SeccompKey key = seccompCacheKey(spec);
  EXPECT_EQ(seccompCacheKey(denyMkdir()), key);
  // The same object written otherwise in config.json reads back to the same key.
  std::string a = R"({"ociVersion":"1.0.2","linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW",
    "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":95}]}}})";
  std::string b = R"({"linux": {"seccomp": {"syscalls": [{"errnoRet": 95, "action":
    "SCMP_ACT_ERRNO", "names": ["mkdir"]}], "defaultAction": "SCMP_ACT_ALLOW"}},
    "ociVersion": "1.0.2"})";
  EXPECT_EQ(seccompCacheKey(*oci::RuntimeSpec::parse(a, "a").linuxConfig->seccomp),
            seccompCacheKey(*oci::RuntimeSpec::parse(b, "b").linuxConfig->seccomp));
  // Any change of what decides the program changes it.
  std::vector<oci::Seccomp> others(6, spec);
  others[0].syscalls[0].errnoRet = 1;
  others[1].syscalls[0].names[0] = "rmdir";
  others[2].defaultAction = "SCMP_ACT_LOG";
  others[3].architectures = {"SCMP_ARCH_X86_64"};
  others[4].flags = {"SECCOMP_FILTER_FLAG_LOG"};
  others[5].syscalls.push_back(rule({"getpid"}, "SCMP_ACT_ERRNO"));
  for (const oci::Seccomp& o : others) EXPECT_NE(seccompCacheKey(o), key);
}

TEST(SeccompCache, DecodeRefusesWhatIsNotExactlyThisKeysFile) {
  oci::Seccomp spec = denyMkdir();
  SeccompKey key = seccompCacheKey(spec);
  const std::string good = encodeSeccompCache(key, SeccompFilter(spec).program());
  std::string why;
  ASSERT_TRUE(decodeSeccompCache(good, key, why)) << why;
  // Truncated anywhere, or with a byte more.
  for (size_t n : {size_t{0}, size_t{7}, kSeccompCacheHeaderSize - 1, kSeccompCacheHeaderSize,
                   good.size() - 8, good.size() - 1}) {
    EXPECT_FALSE(decodeSeccompCache(good.substr(0, n), key, why)) << n;
    EXPECT_FALSE(seccompCacheHeaderMatches(good.substr(0, kSeccompCacheHeaderSize), n, key)) << n;
  }
  EXPECT_FALSE(decodeSeccompCache(good + '\0', key, why));
  // Another key: the file of another filter.
  SeccompKey other = seccompCacheKey(denyGetppid());
  EXPECT_FALSE(decodeSeccompCache(good, other, why));
  EXPECT_NE(why.find("another filter"), std::string::npos) << why;
  EXPECT_FALSE(
      seccompCacheHeaderMatches(good.substr(0, kSeccompCacheHeaderSize), good.size(), other));
  // Any byte changed: magic, version, count, lengths, key, checksum, names, instructions.
  for (size_t at = 0; at < good.size(); ++at) {
    if (at >= 20 && at < 24) continue;  // reserved
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    EXPECT_FALSE(decodeSeccompCache(bad, key, why)) << "byte " << at;
  }
}

// In a child: spec's program as AppProcess gets it (the file, or compiled), loaded with
// no_new_privs; then mkdir. Its errno (0: made).
int mkdirErrnoUnder(const oci::Seccomp& spec, const fs::path& file, const fs::path& dir,
                    bool* fromCache) {
  int pipeFd[2];
  if (::pipe(pipeFd) != 0) throwErrno("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipeFd[0]);
    int result = 250;
    try {
      bool cached = false;
      SeccompProgram p = seccompProgramFor(spec, file, &cached);
      char c = cached ? 'c' : 'n';
      if (::write(pipeFd[1], &c, 1) != 1) ::_exit(251);
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(252);
      loadSeccompProgram(p);
      result = ::mkdir((dir / "made").c_str(), 0700) == 0 ? 0 : errno;
    } catch (...) {
      ::_exit(253);
    }
    ::_exit(result);
  }
  ::close(pipeFd[1]);
  char c = 0;
  EXPECT_EQ(::read(pipeFd[0], &c, 1), 1);
  ::close(pipeFd[0]);
  *fromCache = c == 'c';
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::rmdir((dir / "made").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class SeccompCacheLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the file must be root's";
    dir_ = fs::temp_directory_path() / ("seccomp-cache-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ::chmod(dir_.c_str(), 0755);
    file_ = dir_ / "seccomp.bpf";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void write(const std::string& bytes, mode_t mode = 0600) {
    fs::remove(file_);
    writeFileAtomic(file_, bytes, mode);
    ::chmod(file_.c_str(), mode);
  }
  int mkdirErrno(const oci::Seccomp& spec) { return mkdirErrnoUnder(spec, file_, dir_, &cached_); }

  fs::path dir_, file_;
  bool cached_ = false;
};

TEST_F(SeccompCacheLoad, OnlyThisSpecsFileIsLoaded) {
  oci::Seccomp spec = denyMkdir();
  SeccompKey key = seccompCacheKey(spec);
  // No file: compiled, mkdir refused.
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
  // Its own file: loaded, the same filter.
  write(encodeSeccompCache(key, SeccompFilter(spec).program()));
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_TRUE(cached_);
  // The control: another filter's program filed under this key is loaded as it is (mkdir made),
  // so the cases below would show a file loaded when it must not be.
  SeccompProgram lax = SeccompFilter(denyGetppid()).program();
  write(encodeSeccompCache(key, lax));
  EXPECT_EQ(mkdirErrno(spec), 0);
  EXPECT_TRUE(cached_);
  // Another filter's file under its own key: compiled.
  write(encodeSeccompCache(seccompCacheKey(denyGetppid()), lax));
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
  // Truncated, or its body changed: compiled.
  std::string laxFile = encodeSeccompCache(key, lax);
  write(laxFile.substr(0, laxFile.size() - 8));
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
  std::string flipped = laxFile;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);
  write(flipped);
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
  // Writable by others than root, or not root's, or a symlink to a good file: compiled.
  write(laxFile, 0620);
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
  write(laxFile);
  ASSERT_EQ(::chown(file_.c_str(), 1, 1), 0);
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
  fs::path target = dir_ / "target.bpf";
  writeFileAtomic(target, laxFile, 0600);
  fs::remove(file_);
  fs::create_symlink(target, file_);
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
  // A good file in a directory others may write, or that is not root's (as the bundle's
  // directory reads in a user namespace): compiled.
  write(laxFile);
  EXPECT_EQ(mkdirErrno(spec), 0);  // the control again: loaded
  EXPECT_TRUE(cached_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0775), 0);
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chown(dir_.c_str(), 1, 1), 0);
  EXPECT_EQ(mkdirErrno(spec), 95);
  EXPECT_FALSE(cached_);
}

TEST_F(SeccompCacheLoad, FlagsComeFromTheSpec) {
  oci::Seccomp spec = denyMkdir();
  spec.flags = {"SECCOMP_FILTER_FLAG_LOG"};
  SeccompProgram compiled = SeccompFilter(spec).program();
  EXPECT_EQ(compiled.flags, unsigned{SECCOMP_FILTER_FLAG_LOG});
  write(encodeSeccompCache(seccompCacheKey(spec), compiled));
  bool cached = false;
  SeccompProgram p = seccompProgramFor(spec, file_, &cached);
  EXPECT_TRUE(cached);
  EXPECT_EQ(p.flags, unsigned{SECCOMP_FILTER_FLAG_LOG});
  spec.flags = {"SECCOMP_FILTER_FLAG_NEW_LISTENER"};
  EXPECT_THROW(seccompLoadFlags(spec), Error);
}

}  // namespace
}  // namespace ferry::stage2
