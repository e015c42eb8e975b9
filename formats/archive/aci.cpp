#include "formats/archive/aci.hpp"

#include <set>

#include "common/error.hpp"

namespace ferry::archive {

namespace {

constexpr std::string_view kManifest = "manifest";
constexpr std::string_view kRootfs = "rootfs";

class ExtractingVisitor : public AciVisitor {
 public:
  explicit ExtractingVisitor(Extractor& x) : x_(x) {}
  void manifest(const std::string&) override {}
  void entry(const Entry& e, Reader& data) override { x_.add(e, data); }

 private:
  Extractor& x_;
};

}  // namespace

// The nearest ancestor of `path` that an earlier entry made a non-directory (a symlink, most
// dangerously): an entry below it would be written through it by a naive extractor.
std::optional<std::string_view> nonDirectoryAncestor(
    std::string_view path, const std::set<std::string, std::less<>>& nonDirs) {
  for (std::string_view p = parentPath(path); !p.empty(); p = parentPath(p)) {
    if (nonDirs.count(p) != 0) return p;
  }
  return std::nullopt;
}

AciInfo readAci(Reader& reader, AciVisitor& visitor, uint64_t maxManifestSize) {
  AciInfo info;
  bool haveManifest = false;
  std::set<std::string, std::less<>> seen;
  std::set<std::string, std::less<>> nonDirs;
  Entry e;
  while (reader.next(e)) {
    if (!seen.insert(e.path).second) throw reader.error(Errc::kSecurity, e.path, "duplicate entry");
    if (auto p = nonDirectoryAncestor(e.path, nonDirs)) {
      throw reader.error(Errc::kSecurity, e.path,
                         "written through " + quote(*p) + ", which is not a directory");
    }
    if (e.type == Type::kHardlink) {
      if (auto p = nonDirectoryAncestor(e.linkTarget, nonDirs)) {
        throw reader.error(
            Errc::kSecurity, e.path,
            "hardlink target goes through " + quote(*p) + ", which is not a directory");
      }
    }
    if (e.type != Type::kDir) nonDirs.insert(e.path);
    if (e.path == kManifest) {
      if (e.type != Type::kFile) {
        throw reader.error(
            Errc::kInvalid, e.path,
            "manifest is a " + std::string(typeName(e.type)) + ", not a regular file");
      }
      if (e.size > maxManifestSize) {
        throw reader.error(Errc::kLimit, e.path,
                           "manifest is larger than " + std::to_string(maxManifestSize) + " bytes");
      }
      info.manifest.resize(e.size);
      size_t n = reader.read(info.manifest.data(), info.manifest.size());
      if (n != e.size) throw reader.error(Errc::kInvalid, e.path, "short manifest");
      haveManifest = true;
      visitor.manifest(info.manifest);
      continue;
    }
    if (e.path == kRootfs) {
      if (e.type != Type::kDir) {
        throw reader.error(Errc::kInvalid, e.path, "rootfs is not a directory");
      }
      continue;
    }
    std::optional<std::string> rel = stripPathPrefix(e.path, kRootfs);
    if (!rel) throw reader.error(Errc::kSecurity, e.path, "outside rootfs");
    Entry inner = e;
    inner.path = std::move(*rel);
    if (e.type == Type::kHardlink) {
      std::optional<std::string> target = stripPathPrefix(e.linkTarget, kRootfs);
      if (!target || target->empty()) {
        throw reader.error(Errc::kSecurity, e.path,
                           "hardlink target " + quote(e.linkTarget) + " is outside rootfs");
      }
      inner.linkTarget = std::move(*target);
    }
    visitor.entry(inner, reader);
  }
  if (!haveManifest) throw reader.error(Errc::kInvalid, "", "no manifest");
  info.read = reader.finish();
  if (!info.read.uncompressedDigest ||
      info.read.uncompressedDigest->algorithm() != DigestAlgorithm::kSha512) {
    throw reader.error(Errc::kInvalid, "", "reader does not compute a sha512 digest");
  }
  info.imageId = "sha512-" + info.read.uncompressedDigest->hex();
  return info;
}

AciInfo readAci(const std::filesystem::path& path, AciVisitor& visitor, AciReadOptions options) {
  options.reader.uncompressedDigest = DigestAlgorithm::kSha512;
  Reader reader(path, options.reader);
  return readAci(reader, visitor, options.maxManifestSize);
}

AciInfo extractAci(const std::filesystem::path& path, const std::filesystem::path& target,
                   ExtractOptions options, AciReadOptions readOptions) {
  options.rejectDuplicates = true;
  options.stripPrefix.clear();  // readAci already strips rootfs/
  readOptions.reader.uncompressedDigest = DigestAlgorithm::kSha512;
  Reader reader(path, readOptions.reader);
  Extractor x(target, options, Extractor::Target::kFresh, path.string());
  ExtractingVisitor v(x);
  AciInfo info = readAci(reader, v, readOptions.maxManifestSize);
  x.commit();
  return info;
}

WriterOptions AciWriter::adjust(WriterOptions o) {
  o.uncompressedDigest = DigestAlgorithm::kSha512;
  return o;
}

AciWriter::AciWriter(int fd, std::string_view manifest, WriterOptions options, Entry rootfsDir,
                     int64_t manifestMtime)
    : writer_(fd, adjust(std::move(options))) {
  Entry m = fileEntry(std::string(kManifest), manifest.size(), 0644);
  m.mtimeSec = manifestMtime;
  writer_.add(m);
  writer_.write(manifest.data(), manifest.size());
  rootfsDir.path = kRootfs;
  rootfsDir.type = Type::kDir;
  rootfsDir.size = 0;
  writer_.add(rootfsDir);
}

void AciWriter::add(const Entry& e) {
  Entry full = e;
  full.path = std::string(kRootfs) + "/" + e.path;
  if (e.type == Type::kHardlink) full.linkTarget = std::string(kRootfs) + "/" + e.linkTarget;
  writer_.add(full);
}

void AciWriter::write(const void* data, size_t size) { writer_.write(data, size); }
void AciWriter::copyData(Reader& reader) { writer_.copyData(reader); }

AciWriteResult AciWriter::finish() {
  AciWriteResult r;
  r.write = writer_.finish();
  r.imageId = "sha512-" + r.write.uncompressedDigest->hex();
  return r;
}

}  // namespace ferry::archive
