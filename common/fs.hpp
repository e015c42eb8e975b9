// Files and descriptors: the RAII owners and the few file operations every layer needs.
//
// UniqueFd owns one descriptor (O_CLOEXEC always). writeFileAtomic writes a temp file beside
// the target, fsyncs it and renames it into place, so a reader sees the old or the new file,
// never half of one. TempDir removes its tree unless released.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ferry {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC; throws std::system_error naming the path.
UniqueFd openFile(const std::filesystem::path& path, int flags, mode_t mode = 0644);

// Reads a whole file, refusing files larger than maxSize (Error{kLimit}).
std::string readFile(const std::filesystem::path& path, uint64_t maxSize = 64 << 20);

// Writes all bytes; retries on EINTR and short writes.
void writeAll(int fd, const void* data, size_t size, std::string_view what);
// Reads up to size bytes (fewer only at end of file).
size_t readFull(int fd, void* data, size_t size, std::string_view what);

// How far a write goes before it returns. kDurable: the file and the rename are fsynced (they
// survive a power loss). kAtomic: readers see the old or the new file, never half of one, but
// a machine crash may lose the write — for files whose loss is harmless, such as those of a pod
// being started (a pod whose start did not finish is garbage after a reboot anyway).
enum class Sync { kDurable, kAtomic };

void writeFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode = 0644,
                     Sync sync = Sync::kDurable);

// A directory only its owner may enter (0700): created so, or, when it exists (made by an older
// ferry with 0755), its group and other bits cleared. Error when the path is not a directory.
void makePrivateDir(const std::filesystem::path& dir);
// mkdir -p, the last directory with `mode` when it is created here (an existing one is left as
// it is): ferry's data directory is created 0700.
void makeDirs(const std::filesystem::path& dir, mode_t mode);

// fsync of a directory, so that a rename inside it is durable.
void syncDir(const std::filesystem::path& dir);

class TempDir {
 public:
  // Creates a fresh directory named prefix + random suffix inside parent.
  explicit TempDir(const std::filesystem::path& parent, std::string_view prefix = "tmp-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path release();

 private:
  std::filesystem::path path_;
};

// Removes a path and everything under it, without following symlinks; missing is fine.
void removeTree(const std::filesystem::path& path);

// A field of /proc/self/mountinfo (a mount point or root) decoded: the kernel writes space, tab,
// newline and backslash as \ooo; any other byte, and a backslash not followed by such an escape,
// stands for itself.
std::string unescapeMountinfo(std::string_view field);

// The components of a path, without empty ones and "." ("/a//./b/" → a, b); ".." is kept.
// Views into `path`.
std::vector<std::string_view> pathComponents(std::string_view path);

}  // namespace ferry
