// ACI files already verified: `ferry run app.aci` without reading app.aci again.
//
// After a local ACI file was read, checked and committed to the store, its identity — device,
// inode, size, modification and change times, to the nanosecond — is recorded with the image ID
// under cas/aci-files/ (one small file per device and inode, root's alone like the rest of the
// store). A later fetch of a file with exactly that identity returns the ID without reading the
// file. Any change gives another identity: writing (even the same size, even with the
// modification time put back) moves the change time, which no caller can set; a file renamed
// over the path is another inode, or a reused inode with a newer change time.
//
// Two rules keep a changed file from ever matching:
// - the identity is taken with fstat on the descriptor the check read, before and after the
//   read; it is recorded only when both are equal (nothing wrote during the read);
// - it is recorded only when the change time lies more than kRacyWindow before the clock read
//   before the first fstat: the kernel stamps change times from a coarse clock, so a write in
//   the same tick as the last one could leave the change time as it was (git's "racy clean"
//   case). A file changed so recently is simply read again next time.
// Only fetches without signature checks use it (--insecure-options=image): with signatures
// every fetch verifies again, since trust can change without the file changing.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace ferry::fetch {

class AciFileCache {
 public:
  static constexpr std::chrono::seconds kRacyWindow{2};

  // `dir` is cas/aci-files (created 0700 on the first record).
  explicit AciFileCache(std::filesystem::path dir);

  struct Entry {
    std::string imageId;
    // The digest of the file's bytes: the store keeps the file last fetched as the image's
    // original (for a byte-identical export), so a hit also needs the image to keep this one.
    std::string original;
  };

  // What was recorded for a file with exactly this identity, or nullopt.
  std::optional<Entry> lookup(const struct stat& st) const;

  // Records `entry` for the file when `before` and `after` (fstat of the descriptor that was
  // read, taken before and after reading it) are the same identity and its change time is more
  // than kRacyWindow before `clockBefore` (CLOCK_REALTIME read before `before`). Returns whether
  // it recorded. Failures to write are ignored: the cache only saves time.
  bool record(const struct stat& before, const struct stat& after,
              const struct timespec& clockBefore, const Entry& entry) const;

 private:
  std::filesystem::path entryPath(const struct stat& st) const;
  std::filesystem::path dir_;
};

}  // namespace ferry::fetch
