#include "stage0/fetch/aci_file_cache.hpp"

#include <cerrno>
#include <cstdio>
#include <sstream>

#include "common/fs.hpp"

namespace ferry::fetch {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kVersion = "ferry-aci-file 1";

// Every field that identifies the file's content, in a fixed order.
std::string identity(const struct stat& st) {
  std::ostringstream s;
  s << kVersion << ' ' << st.st_dev << ' ' << st.st_ino << ' ' << st.st_size << ' '
    << st.st_mtim.tv_sec << ' ' << st.st_mtim.tv_nsec << ' ' << st.st_ctim.tv_sec << ' '
    << st.st_ctim.tv_nsec;
  return s.str();
}

bool sameIdentity(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

bool validId(std::string_view id) {
  if (id.size() != 7 + 128 || !id.starts_with("sha512-")) return false;
  for (char c : id.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool validOriginal(std::string_view d) {
  size_t colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == d.size()) return false;
  for (char c : d.substr(colon + 1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return d.find_first_of(" \n") == std::string_view::npos;
}

}  // namespace

AciFileCache::AciFileCache(fs::path dir) : dir_(std::move(dir)) {}

fs::path AciFileCache::entryPath(const struct stat& st) const {
  char name[64];
  std::snprintf(name, sizeof name, "%jx-%jx", static_cast<uintmax_t>(st.st_dev),
                static_cast<uintmax_t>(st.st_ino));
  return dir_ / name;
}

std::optional<AciFileCache::Entry> AciFileCache::lookup(const struct stat& st) const {
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  std::string text;
  try {
    text = readFile(entryPath(st), 4096);
  } catch (const std::exception&) {
    return std::nullopt;  // no entry (or an unreadable one): read the file
  }
  // "IDENTITY\nID\nORIGINAL\n": the whole identity must match, field for field.
  std::string want = identity(st) + "\n";
  if (!text.starts_with(want)) return std::nullopt;
  std::istringstream rest(text.substr(want.size()));
  Entry e;
  std::string extra;
  if (!std::getline(rest, e.imageId) || !std::getline(rest, e.original) || rest.eof() ||
      std::getline(rest, extra)) {
    return std::nullopt;
  }
  if (!validId(e.imageId) || !validOriginal(e.original)) return std::nullopt;
  return e;
}

bool AciFileCache::record(const struct stat& before, const struct stat& after,
                          const struct timespec& clockBefore, const Entry& entry) const {
  if (!S_ISREG(before.st_mode) || !sameIdentity(before, after) || !validId(entry.imageId) ||
      !validOriginal(entry.original)) {
    return false;
  }
  // The change time must be clearly older than the moment the identity was taken.
  auto ns = [](const struct timespec& t) {
    return static_cast<__int128>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  };
  __int128 window = static_cast<__int128>(kRacyWindow.count()) * 1'000'000'000;
  if (ns(before.st_ctim) + window >= ns(clockBefore)) return false;
  try {
    makePrivateDir(dir_);
    writeFileAtomic(entryPath(before),
                    identity(before) + "\n" + entry.imageId + "\n" + entry.original + "\n", 0600,
                    Sync::kAtomic);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace ferry::fetch
