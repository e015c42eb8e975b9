#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage2/exec.hpp"
#include "stage2/in_root.hpp"

namespace ferry::stage2 {
namespace {

namespace fs = std::filesystem;

TEST(Exec, RlimitNames) {
  EXPECT_EQ(rlimitResource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  EXPECT_EQ(rlimitResource("RLIMIT_CORE"), RLIMIT_CORE);
  EXPECT_EQ(rlimitResource("RLIMIT_RTTIME"), RLIMIT_RTTIME);
  EXPECT_EQ(rlimitResource("RLIMIT_FLY"), std::nullopt);
  // Every name the runtime-spec allows is known here.
  for (const char* n : {"RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
                        "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NPROC",
                        "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_SIGPENDING", "RLIMIT_STACK"}) {
    EXPECT_TRUE(oci::isRlimit(n) && rlimitResource(n)) << n;
  }
}

TEST(Exec, EnvValueTakesTheLast) {
  std::vector<std::string> env = {"PATH=/a", "PATHX=/x", "FOO=1", "PATH=/b:/c"};
  EXPECT_EQ(envValue(env, "PATH"), "/b:/c");
  EXPECT_EQ(envValue(env, "PAT"), std::nullopt);
  EXPECT_EQ(envValue(env, "BAR"), std::nullopt);
}

TEST(Exec, FindExecutableSearchesPathInOrder) {
  TempDir dir(fs::temp_directory_path(), "stage2-exec-");
  fs::create_directories(dir.path() / "a");
  fs::create_directories(dir.path() / "b");
  fs::create_directories(dir.path() / "c/tool");          // a directory is not a candidate
  std::ofstream(dir.path() / "a/tool") << "#!/bin/sh\n";  // not executable
  std::ofstream(dir.path() / "b/tool") << "#!/bin/sh\n";
  fs::permissions(dir.path() / "b/tool", fs::perms::owner_all);
  std::string a = (dir.path() / "a").string(), b = (dir.path() / "b").string(),
              c = (dir.path() / "c").string();
  // Root passes access(X_OK) for any file with an x bit: a/tool has none.
  EXPECT_EQ(findExecutable("tool", c + ":" + a + ":" + b), b + "/tool");
  EXPECT_EQ(findExecutable("./tool", c), "./tool");
  EXPECT_EQ(findExecutable("/bin/x", ""), "/bin/x");
  try {
    findExecutable("tool", c + ":" + a);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
    EXPECT_NE(std::string(e.what()).find("cannot find \"tool\" in PATH"), std::string::npos);
  }
}

TEST(InRoot, CleanRelative) {
  EXPECT_EQ(cleanRelative("/a//b/./c/"), "a/b/c");
  EXPECT_EQ(cleanRelative("/"), "");
  EXPECT_EQ(cleanRelative("dev"), "dev");
}

TEST(InRoot, CreateAndResolveStayInside) {
  TempDir dir(fs::temp_directory_path(), "stage2-inroot-");
  fs::create_directories(dir.path() / "root");
  fs::create_directories(dir.path() / "outside");
  fs::create_directory_symlink("/", dir.path() / "root/vol");
  fs::create_directory_symlink("../../outside", dir.path() / "root/up");
  UniqueFd root(open((dir.path() / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  fs::create_directories(dir.path() / "root/outside");
  createInRoot(root.get(), "/vol/x/y", true);
  createInRoot(root.get(), "/up/file", false);
  EXPECT_TRUE(fs::is_directory(dir.path() / "root/x/y"));
  EXPECT_TRUE(fs::is_regular_file(dir.path() / "root/outside/file"));
  EXPECT_TRUE(fs::is_empty(dir.path() / "outside"));
  // A dangling symlink is not followed into creating its target: an error.
  fs::create_directory_symlink("/nowhere", dir.path() / "root/dangling");
  EXPECT_THROW(createInRoot(root.get(), "/dangling/x", true), std::system_error);
  EXPECT_FALSE(fs::exists(dir.path() / "root/nowhere"));
  EXPECT_THROW(createInRoot(root.get(), "/a/../b", true), std::system_error);
  EXPECT_FALSE(openInRoot(root.get(), "/vol", O_PATH, Follow::kNoSymlinks));
  EXPECT_EQ(errno, ELOOP);
}

}  // namespace
}  // namespace ferry::stage2
