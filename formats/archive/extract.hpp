// Secure extraction of tar entries into a directory.
//
// Semantics (the contract the hostile-archive tests check):
// - Nothing is ever created outside the target. Every path is resolved component by component
//   with openat(O_NOFOLLOW|O_DIRECTORY) from a descriptor of the target, never as a string, so
//   an entry whose parent goes through a symlink (even one the archive created a moment ago) is
//   refused with Error{kSecurity}. Absolute names and ".." never get here (the Reader refuses
//   them). Symlinks themselves are created verbatim: their targets only mean something inside
//   the container, and ferry never follows them while extracting.
// - Hardlinks must point at an existing non-directory inside the target, reached without
//   symlinks; a target outside `stripPrefix` is Error{kSecurity}.
// - Character and block devices are Error{kSecurity} unless allowDevices. FIFOs are allowed by
//   default (they cannot reach outside the tree; some base images ship /dev/initctl-like
//   fifos); allowFifos = false refuses them.
// - Entries outside `stripPrefix` (when set, e.g. "rootfs") are Error{kSecurity}. The prefix
//   directory itself is the target and its own metadata is not applied.
// - Duplicates are Error{kSecurity} when rejectDuplicates (ACIs); otherwise the last one wins
//   (tar semantics): an existing non-directory, or a directory replaced by a non-directory, is
//   removed first; two directories merge and the later metadata wins.
// - Parents missing from the archive are created (0755, root-owned, archive time untouched).
// - Restored: mode (incl. setuid/setgid/sticky, set after chown), owner (by default only when
//   running as root), mtime with nanoseconds (directories after their children, at commit),
//   xattrs on files and directories (not on symlinks, devices or fifos). atime is set equal
//   to mtime.
// - Bounds: maxEntrySize, maxTotalBytes (sum of file sizes), maxEntries → Error{kLimit}.
// - On any error the extractor removes what it created: a fresh target is removed entirely, an
//   existing empty target is emptied. When applying onto an existing tree (OCI layers over
//   lower layers), nothing is rolled back: render into a scratch directory and discard it.
// Every error names the entry: cannot extract "x.tar": entry "a/b": path goes through symlink "a"
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/archive/entry.hpp"
#include "formats/archive/reader.hpp"

namespace ferry::archive {

class Trash;

struct ExtractOptions {
  std::string stripPrefix = "";  // normalized, e.g. "rootfs"; empty: extract everything
  bool allowDevices = false;
  bool allowFifos = true;
  bool rejectDuplicates = false;
  std::optional<bool> restoreOwners = std::nullopt;  // unset: when the effective uid is 0
  bool restoreXattrs = true;
  bool ignoreXattrErrors = false;  // skip xattrs the filesystem refuses (ENOTSUP, EPERM)
  uint64_t maxEntrySize = uint64_t{64} << 30;
  uint64_t maxTotalBytes = uint64_t{256} << 30;
  uint64_t maxEntries = 10'000'000;
  // Where removed files with data and removed directories go instead of an inline unlink
  // (trash.hpp: deleted on a thread of their own); null: unlinked at once.
  Trash* trash = nullptr;
  // Starts each written file's writeback at once (sync_file_range, SYNC_FILE_RANGE_WRITE),
  // for a tree synced as a whole at its end: the device writes while later files are made.
  bool startWriteback = false;
};

struct ExtractStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  ReadResult read;  // filled by extract(): digests of the whole stream
};

// Applies entries one at a time; the building block of extract(), extractAci() and
// applyLayer().
class Extractor {
 public:
  enum class Target {
    kFresh,     // target must not exist (it is created) or be an empty directory; rollback
    kExisting,  // target is an existing tree to apply onto; no rollback
  };
  Extractor(const std::filesystem::path& target, ExtractOptions options,
            Target mode = Target::kFresh, std::string archiveName = "archive");
  ~Extractor();  // without commit(): rollback (kFresh)
  Extractor(const Extractor&) = delete;
  Extractor& operator=(const Extractor&) = delete;

  // Extracts one entry; `e.path` (and a hardlink's target) are relative to the archive and go
  // through stripPrefix. Regular file data is read from `data`.
  void add(const Entry& e, Reader& data);
  // Removes `path` (relative to the target) if present, recursively (whiteouts).
  void remove(std::string_view path);
  // Removes every child of directory `path`, if it is one (opaque whiteouts), except those
  // `keep` names: a kept directory is cleared recursively, a kept non-directory stays.
  void clearDirectory(std::string_view path, const std::set<std::string, std::less<>>& keep = {});
  // Applies deferred directory modes and times; disarms the rollback.
  ExtractStats commit();

  const std::filesystem::path& target() const { return target_; }
  // Error{code} naming the extraction and the entry.
  Error error(Errc code, std::string_view entry, std::string_view cause) const;

 private:
  // A directory open below the target, shared with the cache of open directories (emptying the
  // cache does not close one in use). `newGid` is the group a file created in it gets: the
  // directory's when it is setgid, else ours; with a default ACL a new file's mode is not its
  // creation mode less the umask.
  struct OpenDir {
    UniqueFd fd;
    gid_t newGid = 0;
    bool defaultAcl = false;
    int get() const { return fd.get(); }
  };
  using DirRef = std::shared_ptr<const OpenDir>;
  DirRef openDir(std::string_view path, bool create, std::string_view entry);
  DirRef describeDir(UniqueFd fd) const;
  // Whether a file created in `parent` needs a chown to get the entry's owner.
  bool needsChown(const Entry& e, const OpenDir& parent) const;
  void removeAt(int dirfd, const std::string& name, std::string_view entry);
  void applyXattrs(int fd, const Entry& e);
  void rollback() noexcept;

  std::filesystem::path target_;
  ExtractOptions options_;
  Target mode_;
  std::string archiveName_;
  DirRef root_;
  bool createdRoot_ = false;
  bool committed_ = false;
  bool owners_ = false;
  uid_t euid_ = 0;
  gid_t egid_ = 0;
  std::optional<mode_t> umask_;  // when known, a file is created with its final mode
  ExtractStats stats_;
  std::set<std::string> seen_;
  struct DirMeta {
    uint32_t mode;
    int64_t sec;
    uint32_t nsec;
  };
  std::map<std::string, DirMeta> dirs_;  // applied at commit, deepest first
  // Directories opened (component by component, without symlinks) and their descriptors, so
  // that the next entry below one starts there; emptied whenever anything is removed.
  std::map<std::string, DirRef, std::less<>> dirCache_;
  void cacheDir(std::string_view path, const DirRef& dir);
  void forgetDirs() { dirCache_.clear(); }
};

// Extracts every entry of `reader` into `target` (Extractor::Target::kFresh), then drains the
// reader (so its digests are complete, returned in ExtractStats::read) and commits.
ExtractStats extract(Reader& reader, const std::filesystem::path& target,
                     const ExtractOptions& options = {});

// Maps an archive path into the tree below `prefix` ("" when the path is the prefix itself);
// nullopt when it lies outside.
std::optional<std::string> stripPathPrefix(std::string_view path, std::string_view prefix);

}  // namespace ferry::archive
