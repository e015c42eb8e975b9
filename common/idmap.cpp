#include "common/idmap.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <nlohmann/json.hpp>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::idmap {

namespace fs = std::filesystem;

namespace {

// The kernel's (uid_t)-1 means "no ID"; a map may reach up to the ID before it.
constexpr uint64_t kIdLimit = 0xFFFFFFFFull;

std::optional<uint32_t> parseId(std::string_view s) {
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> splitColons(std::string_view line) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t c = line.find(':');
    out.push_back(line.substr(0, c));
    if (c == std::string_view::npos) return out;
    line.remove_prefix(c + 1);
  }
}

template <typename F>
void eachLine(const fs::path& file, F&& f) {
  std::string data;
  try {
    data = readFile(file, 16 << 20);
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::no_such_file_or_directory) return;
    throw;
  }
  std::string_view rest = data;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    f(splitColons(line));
  }
}

// name:x:ID:… (passwd, group): the ID, one entry each.
void loadIds(const fs::path& file, std::string_view kind, std::vector<HostIds::Entry>& out) {
  eachLine(file, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 3) return;
    std::optional<uint32_t> id = parseId(f[2]);
    if (!id || *id == kIdLimit) return;
    out.push_back({IdRange::make(*id, 1), std::string(kind) + " " + std::string(f[0]) + " (" +
                                              std::to_string(*id) + ") of " + file.string()});
  });
}

// name:START:COUNT (subuid, subgid).
void loadRanges(const fs::path& file, std::vector<HostIds::Entry>& out) {
  eachLine(file, [&](const std::vector<std::string_view>& f) {
    if (f.size() != 3) return;
    std::optional<uint32_t> start = parseId(f[1]);
    std::optional<uint32_t> count = parseId(f[2]);
    if (!start || !count || *count == 0 || *start + uint64_t{*count} > kIdLimit) return;
    IdRange r = IdRange::make(*start, *count);
    out.push_back(
        {r, "range " + r.describe() + " of " + std::string(f[0]) + " in " + file.string()});
  });
}

bool validOwner(std::string_view owner) {
  if (owner.empty() || owner.size() > 128 || owner.front() == '-' || owner == "lock") return false;
  for (char c : owner) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

void checkOwner(std::string_view owner) {
  if (!validOwner(owner)) {
    throw Error(Errc::kInvalid,
                "cannot record an ID range for " + quote(owner) + ": not a valid owner name");
  }
}

// flock(2) on $dir/lock for the life of the object.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) : fd_(openFile(dir / "lock", O_RDWR | O_CREAT, 0600)) {
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throwErrno("lock " + quote((dir / "lock").string()));
    }
  }

 private:
  UniqueFd fd_;  // closing it unlocks
};

void ensureDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throwErrno("create " + quote(dir.string()));
  }
}

Holding readHolding(const fs::path& file, std::string owner) {
  try {
    nlohmann::json j = nlohmann::json::parse(readFile(file, 4096));
    IdRange r = IdRange::make(j.at("start").get<uint32_t>(), j.at("count").get<uint32_t>());
    return Holding{std::move(owner), r, j.at("auto").get<bool>()};
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::kInvalid,
                "cannot read the ID range record " + quote(file.string()) + ": " + e.what());
  }
}

}  // namespace

namespace {

std::optional<std::string> rangeProblem(uint32_t start, uint32_t count) {
  if (count == 0) return "a count of 0";
  if (uint64_t{start} + count > kIdLimit) return "it reaches past ID 4294967294";
  return std::nullopt;
}

}  // namespace

IdRange IdRange::make(uint32_t hostStart, uint32_t count) {
  if (std::optional<std::string> p = rangeProblem(hostStart, count)) {
    throw Error(Errc::kInvalid, "invalid ID range " + std::to_string(hostStart) + ":" +
                                    std::to_string(count) + ": " + *p);
  }
  return IdRange(hostStart, count);
}

std::string IdRange::mapLine() const {
  return "0 " + std::to_string(start_) + " " + std::to_string(count_) + "\n";
}

std::string IdRange::describe() const {
  return std::to_string(start_) + ":" + std::to_string(count_);
}

PrivateUsers parsePrivateUsers(std::string_view value) {
  if (value == "auto") return AutoRange{};
  size_t colon = value.find(':');
  std::optional<uint32_t> start, count;
  if (colon != std::string_view::npos) {
    start = parseId(value.substr(0, colon));
    count = parseId(value.substr(colon + 1));
  }
  std::optional<std::string> problem = "expected auto or UID:COUNT (decimal)";
  if (start && count) problem = rangeProblem(*start, *count);
  if (problem) {
    throw Error(Errc::kInvalid, "invalid --private-users value " + quote(value) + ": " + *problem);
  }
  return IdRange::make(*start, *count);
}

HostIds HostIds::load(const fs::path& etc) {
  HostIds h;
  loadIds(etc / "passwd", "user", h.uids);
  loadRanges(etc / "subuid", h.uids);
  loadIds(etc / "group", "group", h.gids);
  loadRanges(etc / "subgid", h.gids);
  return h;
}

std::optional<std::string> HostIds::conflict(const IdRange& range) const {
  for (const Entry& e : uids) {
    if (e.range.overlaps(range)) return "it overlaps " + e.what;
  }
  for (const Entry& e : gids) {
    if (e.range.overlaps(range)) return "it overlaps " + e.what;
  }
  return std::nullopt;
}

RangeRegistry::RangeRegistry(fs::path dir, HostIds host)
    : dir_(std::move(dir)), host_(std::move(host)) {}

IdRange RangeRegistry::acquire(std::string_view owner, const PrivateUsers& request) {
  checkOwner(owner);
  ensureDir(dir_);
  DirLock lock(dir_);
  std::vector<Holding> held = list();
  const std::string what = "cannot allocate an ID range for " + quote(owner);

  for (const Holding& h : held) {
    if (h.owner != owner) continue;
    bool same = std::holds_alternative<AutoRange>(request)
                    ? h.automatic
                    : !h.automatic && std::get<IdRange>(request) == h.range;
    if (same) return h.range;
    throw Error(Errc::kInvalid, what + ": it holds " + h.range.describe() + " already");
  }

  std::optional<IdRange> chosen;
  if (std::holds_alternative<AutoRange>(request)) {
    for (uint64_t start = kAutoFirst; start + kAutoCount <= kAutoLimit; start += kAutoStep) {
      IdRange c = IdRange::make(static_cast<uint32_t>(start), kAutoCount);
      if (host_.conflict(c)) continue;
      bool taken = false;
      for (const Holding& h : held) taken = taken || h.range.overlaps(c);
      if (!taken) {
        chosen = c;
        break;
      }
    }
    if (!chosen) throw Error(Errc::kLimit, what + ": every range ferry picks from is taken");
  } else {
    IdRange r = std::get<IdRange>(request);
    if (r.contains(0)) {
      throw Error(Errc::kInvalid, what + ": " + r.describe() + " includes the host's root");
    }
    if (std::optional<std::string> c = host_.conflict(r)) {
      throw Error(Errc::kInvalid, what + ": " + r.describe() + ": " + *c);
    }
    for (const Holding& h : held) {
      if (h.automatic && h.range.overlaps(r)) {
        throw Error(Errc::kInvalid, what + ": " + r.describe() + " overlaps the range " +
                                        h.range.describe() + " of pod " + h.owner);
      }
    }
    chosen = r;
  }

  nlohmann::json j = {{"start", chosen->hostStart()},
                      {"count", chosen->count()},
                      {"auto", std::holds_alternative<AutoRange>(request)}};
  writeFileAtomic(dir_ / std::string(owner), j.dump() + "\n", 0600, Sync::kDurable);
  return *chosen;
}

void RangeRegistry::release(std::string_view owner) {
  checkOwner(owner);
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return;
  DirLock lock(dir_);
  fs::path file = dir_ / std::string(owner);
  if (::unlink(file.c_str()) != 0) {
    if (errno == ENOENT) return;
    throwErrno("remove " + quote(file.string()));
  }
  syncDir(dir_);
}

std::optional<Holding> RangeRegistry::find(std::string_view owner) const {
  checkOwner(owner);
  fs::path file = dir_ / std::string(owner);
  if (::access(file.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throwErrno("read " + quote(file.string()));
  }
  return readHolding(file, std::string(owner));
}

std::vector<Holding> RangeRegistry::list() const {
  std::vector<Holding> out;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    throw std::system_error(ec, "cannot list " + quote(dir_.string()));
  }
  for (const fs::directory_entry& e : it) {
    std::string name = e.path().filename().string();
    if (name == "lock" || !validOwner(name)) continue;  // the lock, temp files of writes
    out.push_back(readHolding(e.path(), name));
  }
  return out;
}

}  // namespace ferry::idmap
