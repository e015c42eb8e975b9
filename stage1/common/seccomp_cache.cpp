#include "stage1/common/seccomp_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/resources.hpp"
#include "stage2/seccomp_filter.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

// A directory of root's that only root may write, opened without following a symlink; created
// (0700) when missing. Throws otherwise.
UniqueFd openPrivateDirAt(int parent, const char* name, const std::string& shown) {
  if (::mkdirat(parent, name, 0700) != 0 && errno != EEXIST) {
    throwErrno("create directory " + quote(shown));
  }
  UniqueFd fd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throwErrno("open directory " + quote(shown));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(shown));
  if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw Error(Errc::kSecurity, quote(shown) + " is not root's alone to write");
  }
  return fd;
}

// Whether `name` in the cache is a complete entry for `key` (the header's key and size: the
// checksum is stage2's to verify).
bool entryMatches(int dir, const std::string& name, const stage2::SeccompKey& key) {
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
      (st.st_mode & 077) != 0) {
    return false;
  }
  char head[stage2::kSeccompCacheHeaderSize];
  ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
  return n == static_cast<ssize_t>(sizeof head) &&
         stage2::seccompCacheHeaderMatches(std::string_view(head, sizeof head),
                                           static_cast<uint64_t>(st.st_size), key);
}

// `bytes` written beside `name` and renamed over it. Throws.
void storeEntry(int dir, const std::string& name, const std::string& shownDir,
                const std::string& bytes) {
  std::string tmp = ".tmp-" + std::to_string(::getpid()) + "-" + name;
  std::string shown = shownDir + "/" + tmp;
  UniqueFd fd(
      ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) throwErrno("create " + quote(shown));
  try {
    if (::fchmod(fd.get(), 0600) != 0) throwErrno("chmod " + quote(shown));
    writeAll(fd.get(), bytes.data(), bytes.size(), shown);
    if (::fsync(fd.get()) != 0) throwErrno("sync " + quote(shown));
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
      throwErrno("rename " + quote(shown) + " to " + quote(name));
    }
  } catch (...) {
    ::unlinkat(dir, tmp.c_str(), 0);
    throw;
  }
}

}  // namespace

std::optional<fs::path> seccompCacheDir(const fs::path& podDir) {
  fs::path state = podDir.parent_path();
  fs::path pods = state.parent_path();
  if (podDir.filename().empty() || state.filename() != "run" || pods.filename() != "pods") {
    return std::nullopt;
  }
  return pods.parent_path() / "cache" / "seccomp";
}

std::vector<std::string> provideSeccompFilters(const fs::path& podDir, const RuntimeOptions& rt) {
  std::vector<std::string> lines;
  if (rt.privateUsers) return lines;
  std::optional<fs::path> cacheDir = seccompCacheDir(podDir);
  if (!cacheDir) {
    lines.push_back("seccomp filters: no cache for a pod directory outside pods/run/");
    return lines;
  }
  UniqueFd dir;
  for (const RuntimeApp& app : rt.apps) {
    fs::path appDir = podDir / podfile::kApps / app.name;
    std::string what = app.name + ": seccomp filter ";
    try {
      std::optional<oci::RuntimeSpec> spec;
      try {
        spec = oci::RuntimeSpec::fromJson(appConfigJson(podDir, app.name));
      } catch (const std::exception&) {
        lines.push_back(what + "left to stage2 (config.json does not parse: stage2 says why)");
        continue;
      }
      if (!spec->linuxConfig || !spec->linuxConfig->seccomp) continue;
      const oci::Seccomp& seccomp = *spec->linuxConfig->seccomp;
      stage2::SeccompKey key = stage2::seccompCacheKey(seccomp);
      std::string name = toHex(key) + ".bpf";
      if (!dir) {
        UniqueFd cache = openPrivateDirAt(AT_FDCWD, cacheDir->parent_path().c_str(),
                                          cacheDir->parent_path().string());
        dir = openPrivateDirAt(cache.get(), "seccomp", cacheDir->string());
      }
      bool compiled = false;
      if (!entryMatches(dir.get(), name, key)) {
        std::string bytes;
        try {
          bytes = stage2::encodeSeccompCache(key, stage2::SeccompFilter(seccomp).program());
        } catch (const std::exception& e) {
          // The filter does not compile: stage2 fails the app with the reason.
          lines.push_back(what + "left to stage2 (" + e.what() + ")");
          continue;
        }
        storeEntry(dir.get(), name, cacheDir->string(), bytes);
        compiled = true;
      }
      fs::path link = appDir / stage2::kSeccompCacheFile;
      if (::unlink(link.c_str()) != 0 && errno != ENOENT)
        throwErrno("remove " + quote(link.string()));
      if (::linkat(dir.get(), name.c_str(), AT_FDCWD, link.c_str(), 0) != 0) {
        if (errno == EXDEV || errno == EMLINK) {
          lines.push_back(what + "left to stage2 (cannot link " + name + ": " +
                          std::strerror(errno) + ")");
          continue;
        }
        throwErrno("link " + quote((*cacheDir / name).string()) + " to " + quote(link.string()));
      }
      lines.push_back(what + (compiled ? "compiled into the cache, linked: " : "linked: ") + name);
    } catch (const std::exception& e) {
      // Said even without --debug: the cache is broken (permissions, space), every start pays
      // for it. The app's filter is compiled by stage2 all the same.
      std::fprintf(stderr, "ferry-stage1 run: warning: %s%s\n", what.c_str(), e.what());
      lines.push_back(what + "left to stage2");
    }
  }
  return lines;
}

}  // namespace ferry::stage1
