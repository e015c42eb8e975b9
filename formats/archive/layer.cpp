#include "formats/archive/layer.hpp"

#include <optional>
#include <set>
#include <unordered_map>

#include "common/error.hpp"

namespace ferry::archive {

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What the layers above say about a path.
enum : uint8_t {
  kGiven = 1,        // an entry for this path was passed on
  kNonDir = 2,       // … and it is not a directory: everything below is hidden
  kWhitedOut = 4,    // the path and everything below are deleted
  kOpaque = 8,       // everything strictly below is hidden
  kImpliedDir = 16,  // a directory by implication: something below it was passed on
};

using PathFlags = std::unordered_map<std::string, uint8_t, StringHash, std::equal_to<>>;

uint8_t flagsOf(const PathFlags& m, std::string_view p) {
  auto it = m.find(p);
  return it == m.end() ? 0 : it->second;
}

bool isMarkerName(std::string_view base) { return base.starts_with(kWhiteoutPrefix); }

}  // namespace

bool isWhiteout(std::string_view path) { return isMarkerName(baseName(path)); }

bool isOpaque(std::string_view path) { return baseName(path) == kOpaqueWhiteout; }

std::string whiteoutTarget(std::string_view path) {
  std::string_view parent = parentPath(path);
  if (isOpaque(path)) return std::string(parent);
  std::string_view name = baseName(path).substr(kWhiteoutPrefix.size());
  return parent.empty() ? std::string(name) : std::string(parent) + "/" + std::string(name);
}

Entry whiteoutEntry(std::string_view deletedPath) {
  std::string_view parent = parentPath(deletedPath);
  std::string name = std::string(kWhiteoutPrefix) + std::string(baseName(deletedPath));
  return fileEntry(parent.empty() ? name : std::string(parent) + "/" + name, 0, 0);
}

Entry opaqueEntry(std::string_view directory) {
  std::string name(kOpaqueWhiteout);
  return fileEntry(directory.empty() ? name : std::string(directory) + "/" + name, 0, 0);
}

std::vector<ReadResult> flattenLayers(const std::vector<std::filesystem::path>& layers,
                                      LayerSink& sink, const ReaderOptions& options) {
  std::vector<ReadResult> results(layers.size());
  PathFlags above;  // accumulated from the layers already processed (higher ones)

  auto hidden = [&](std::string_view path) {
    if (flagsOf(above, path) & (kGiven | kWhitedOut)) return true;
    for (std::string_view a = parentPath(path);; a = parentPath(a)) {
      if (flagsOf(above, a) & (kNonDir | kWhitedOut | kOpaque)) return true;
      if (a.empty()) return false;
    }
  };

  for (size_t i = layers.size(); i-- > 0;) {
    Reader reader(layers[i], options);
    PathFlags mine;  // this layer's contribution, merged into `above` after it
    Entry e;
    while (reader.next(e)) {
      std::string_view base = baseName(e.path);
      if (isMarkerName(base)) {
        if (base == kOpaqueWhiteout) {
          mine[std::string(parentPath(e.path))] |= kOpaque;
        } else if (!base.starts_with(".wh..wh.")) {
          mine[whiteoutTarget(e.path)] |= kWhitedOut;
        }
        continue;
      }
      uint8_t& f = mine[e.path];
      if (f & kGiven) {
        throw reader.error(Errc::kUnsupported, e.path,
                           "path appears twice in one layer (not supported when flattening)");
      }
      // An entry below a symlink (or file) of its own layer would be written through it.
      for (std::string_view a = parentPath(e.path); !a.empty(); a = parentPath(a)) {
        if (flagsOf(mine, a) & kNonDir) {
          throw reader.error(Errc::kSecurity, e.path,
                             "written through " + quote(a) + ", which is not a directory");
        }
      }
      if (hidden(e.path)) continue;
      // A higher layer put something below this path, so it is a directory there: a lower
      // non-directory here would make extractors fail (or write through it); a lower
      // directory still gives its metadata.
      if (e.type != Type::kDir && (flagsOf(above, e.path) & kImpliedDir)) continue;
      if (e.type == Type::kHardlink) {
        if (hidden(e.linkTarget)) {
          throw reader.error(
              Errc::kUnsupported, e.path,
              "hardlink target " + quote(e.linkTarget) + " is shadowed by a higher layer");
        }
        if (!(flagsOf(mine, e.linkTarget) & kGiven)) {
          throw reader.error(Errc::kUnsupported, e.path,
                             "hardlink target " + quote(e.linkTarget) +
                                 " is not an earlier entry of the same layer");
        }
      }
      f |= kGiven;
      if (e.type != Type::kDir) f |= kNonDir;
      for (std::string_view a = parentPath(e.path); !a.empty(); a = parentPath(a)) {
        uint8_t& af = mine[std::string(a)];
        if (af & kImpliedDir) break;
        af |= kImpliedDir;
      }
      sink.entry(e, reader);
    }
    results[i] = reader.finish();
    for (auto& [path, flags] : mine) above[path] |= flags;
  }
  return results;
}

namespace {

// What checkLayer() refuses, one entry at a time (applyLayer() runs it too, so a render refuses
// at least what a fetch's check refuses, whatever the extractor finds on disk).
class EntryCheck {
 public:
  explicit EntryCheck(bool allowDevices) : allowDevices_(allowDevices) {}

  void check(const Entry& e, const Reader& layer) {
    if (auto link = throughSymlink(e.path)) {
      throw layer.error(Errc::kSecurity, e.path, "path goes through symlink " + quote(*link));
    }
    switch (e.type) {
      case Type::kChar:
      case Type::kBlock:
        if (!allowDevices_) {
          throw layer.error(Errc::kSecurity, e.path,
                            std::string(typeName(e.type)) + "s are not allowed in images");
        }
        break;
      case Type::kHardlink:
        if (auto link = throughSymlink(e.linkTarget)) {
          throw layer.error(
              Errc::kSecurity, e.path,
              "hard link target " + quote(e.linkTarget) + " goes through symlink " + quote(*link));
        }
        break;
      default:
        break;
    }
    if (e.type == Type::kSymlink) {
      symlinks_.insert(e.path);
    } else if (auto it = symlinks_.find(e.path); it != symlinks_.end()) {
      symlinks_.erase(it);
    }
  }

 private:
  std::optional<std::string_view> throughSymlink(std::string_view path) const {
    for (std::string_view p = parentPath(path); !p.empty(); p = parentPath(p)) {
      if (symlinks_.contains(p)) return p;
    }
    return std::nullopt;
  }

  bool allowDevices_;
  // Symlinks this layer made, and not replaced since by another type of entry.
  std::set<std::string, std::less<>> symlinks_;
};

}  // namespace

ReadResult checkLayer(Reader& layer, bool allowDevices) {
  EntryCheck check(allowDevices);
  Entry e;
  while (layer.next(e)) check.check(e, layer);
  return layer.finish();
}

ExtractStats applyLayer(Reader& layer, const std::filesystem::path& dir,
                        const ExtractOptions& options) {
  Extractor x(dir, options, Extractor::Target::kExisting, layer.name());
  std::set<std::string, std::less<>> mine;  // paths this layer wrote: whiteouts spare them
  EntryCheck check(options.allowDevices);
  Entry e;
  while (layer.next(e)) {
    check.check(e, layer);
    std::string_view base = baseName(e.path);
    if (isMarkerName(base)) {
      std::optional<std::string> rel = stripPathPrefix(e.path, options.stripPrefix);
      if (!rel) throw x.error(Errc::kSecurity, e.path, "outside " + quote(options.stripPrefix));
      if (base == kOpaqueWhiteout) {
        x.clearDirectory(whiteoutTarget(*rel), mine);
      } else if (!base.starts_with(".wh..wh.")) {
        std::string target = whiteoutTarget(*rel);
        if (!mine.contains(target)) x.remove(target);
      }
      continue;
    }
    x.add(e, layer);
    if (std::optional<std::string> rel = stripPathPrefix(e.path, options.stripPrefix)) {
      // The entry and its implied parents belong to this layer.
      for (std::string_view p = *rel; !p.empty(); p = parentPath(p)) {
        if (!mine.emplace(p).second) break;
      }
    }
  }
  ExtractStats stats = x.commit();
  stats.read = layer.finish();
  return stats;
}

}  // namespace ferry::archive
