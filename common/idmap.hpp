// ID ranges for pods in a user namespace (`--private-users`), and who holds which.
//
// An IdRange is `count` host IDs from `hostStart`; a pod in a user namespace sees them as its
// IDs 0…count-1, for users and groups alike (one range maps both, as systemd-nspawn and rkt do).
// PrivateUsers is what a user asked for: `auto` (ferry picks a free range) or `UID:COUNT`.
//
// RangeRegistry keeps, under the data directory, one record per pod that holds a range:
//   $dir/userns/lock        flock(2) held exclusively while a range is chosen or released
//   $dir/userns/<owner>     {"start":N,"count":N,"auto":bool}, written atomically
// so two `ferry run`s choosing at once never get the same range, and a range stays taken until
// `ferry gc` releases it (its files in the pod's upper directories still belong to it).
//
// How `auto` chooses (systemd-nspawn's `pick`, without its randomness): the lowest 65536-ID
// range starting at 0x80000 + k·0x10000 (below 0x6FFF0000) that overlaps no record and no ID
// the host already uses: no uid of /etc/passwd, gid of /etc/group, and no range delegated in
// /etc/subuid or /etc/subgid — a pod sharing host IDs with a user, or with a user's rootless
// containers, could read and write their files after an escape. An explicit `UID:COUNT` is
// refused when it overlaps any of those host IDs, includes host ID 0, or overlaps a range an
// `auto` pod holds; it may overlap another explicit range (the operator chose to share it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ferry::idmap {

inline constexpr uint32_t kAutoFirst = 0x80000;
inline constexpr uint32_t kAutoStep = 0x10000;
inline constexpr uint32_t kAutoLimit = 0x6FFF0000;  // no auto range reaches beyond it
inline constexpr uint32_t kAutoCount = 0x10000;

class IdRange {
 public:
  // Refuses (Error{kInvalid}) a count of 0 and a range reaching past 4294967294: (uid_t)-1 is
  // "no ID" to the kernel and can never be mapped.
  static IdRange make(uint32_t hostStart, uint32_t count);

  uint32_t hostStart() const { return start_; }
  uint32_t count() const { return count_; }
  uint64_t hostEnd() const { return uint64_t{start_} + count_; }  // one past the last
  bool overlaps(const IdRange& o) const { return start_ < o.hostEnd() && o.start_ < hostEnd(); }
  bool contains(uint32_t hostId) const { return hostId >= start_ && hostId < hostEnd(); }
  // The line for /proc/PID/uid_map and gid_map: "0 START COUNT\n".
  std::string mapLine() const;
  std::string describe() const;  // "START:COUNT"
  bool operator==(const IdRange&) const = default;

 private:
  IdRange(uint32_t start, uint32_t count) : start_(start), count_(count) {}
  uint32_t start_;
  uint32_t count_;
};

struct AutoRange {
  bool operator==(const AutoRange&) const = default;
};
using PrivateUsers = std::variant<AutoRange, IdRange>;

// "auto" or "UID:COUNT" (decimal); anything else is Error{kInvalid} naming the value.
PrivateUsers parsePrivateUsers(std::string_view value);

// The IDs the host already gives out, from the files of an /etc (a parameter for tests).
struct HostIds {
  struct Entry {
    IdRange range;
    std::string what;  // "user alice (uid 1000)", "/etc/subuid range 100000:65536 of alice"
  };
  std::vector<Entry> uids;  // users' uids and /etc/subuid ranges
  std::vector<Entry> gids;  // groups' gids and /etc/subgid ranges
  // Missing files are empty; a malformed line is skipped (the files are the host's, not ours).
  static HostIds load(const std::filesystem::path& etc = "/etc");
  // What of the host's overlaps `range` (as uids or as gids), or nullopt.
  std::optional<std::string> conflict(const IdRange& range) const;
};

struct Holding {
  std::string owner;
  IdRange range;
  bool automatic;
};

class RangeRegistry {
 public:
  // `dir` is $dataDir/userns; created (0700) on first use.
  RangeRegistry(std::filesystem::path dir, HostIds host);

  // Chooses (auto) or checks (explicit) a range for `owner` and records it, all under the lock.
  // `owner` is a pod UUID or another name of [A-Za-z0-9-]. An owner that already holds a range
  // gets it again when the request allows it (a retried prepare), and is refused otherwise.
  // Throws Error{kInvalid} with the reason when an explicit range is refused, Error{kLimit}
  // when no auto range is free.
  IdRange acquire(std::string_view owner, const PrivateUsers& request);
  // Forgets the owner's range; nothing held is fine.
  void release(std::string_view owner);
  std::optional<Holding> find(std::string_view owner) const;
  std::vector<Holding> list() const;

 private:
  std::filesystem::path dir_;
  HostIds host_;
};

}  // namespace ferry::idmap
