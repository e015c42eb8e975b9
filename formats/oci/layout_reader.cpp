#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/oci/annotations.hpp"
#include "formats/oci/layout.hpp"
#include "formats/oci/media_types.hpp"

namespace ferry::oci {

namespace fs = std::filesystem;

namespace {
// Indexes nest; a cycle (an index that lists itself via another) must not loop forever.
constexpr int kMaxIndexDepth = 8;

std::string listOrNone(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += quote(n);
  }
  return out;
}
}  // namespace

LayoutReader::LayoutReader(fs::path dir, const ParseOptions& opts)
    : root_(std::move(dir)), opts_(opts) {
  std::error_code ec;
  fs::file_status st = fs::status(root_, ec);
  if (!fs::exists(st)) {
    throw Error(Errc::kNotFound,
                "cannot open oci-layout " + quote(root_.string()) + ": no such file or directory");
  }
  if (!fs::is_directory(st)) {
    throw Error(Errc::kUnsupported, "cannot open oci-layout " + quote(root_.string()) +
                                        ": not supported: oci-layout in an archive file");
  }
  if (!fs::exists(root_ / "oci-layout")) {
    throw Error(Errc::kInvalid, "cannot open oci-layout " + quote(root_.string()) +
                                    ": no oci-layout file, not an image layout");
  }
  checkLayoutHeader(root_);
  fs::path p = root_ / "index.json";
  index_ = ImageIndex::parse(readFile(p), p.string(), opts_);
}

std::vector<std::string> LayoutReader::refs() const {
  std::vector<std::string> out;
  for (const auto& d : index_.manifests) {
    auto ref = d.annotation(annotation::kRefName);
    if (ref && std::find(out.begin(), out.end(), *ref) == out.end()) out.push_back(*ref);
  }
  return out;
}

Descriptor LayoutReader::resolve(std::optional<std::string_view> ref,
                                 const Platform& platform) const {
  // Entries naming `ref` (or every image entry without one) form a candidate index: several
  // entries may share a ref name, one per platform.
  ImageIndex candidates;
  for (const auto& d : index_.manifests) {
    if (!isManifest(d.mediaType) && !isIndex(d.mediaType)) continue;
    if (ref && d.annotation(annotation::kRefName) != std::optional<std::string>(*ref)) continue;
    candidates.manifests.push_back(d);
  }
  std::string where = "oci-layout " + quote(root_.string());
  if (candidates.manifests.empty()) {
    if (ref) {
      throw Error(Errc::kNotFound, "cannot find ref " + quote(*ref) + " in " + where +
                                       ": available refs: " + listOrNone(refs()));
    }
    throw Error(Errc::kNotFound, "cannot find an image in " + where + ": it is empty");
  }
  if (!ref && candidates.manifests.size() > 1) {
    throw Error(Errc::kNotFound, "cannot choose an image in " + where + ": it holds " +
                                     std::to_string(candidates.manifests.size()) +
                                     " images, name one of the refs: " + listOrNone(refs()));
  }
  Descriptor d = candidates.manifests.size() == 1 ? candidates.manifests[0]
                                                  : selectManifest(candidates, platform);
  for (int depth = 0; isIndex(d.mediaType); ++depth) {
    if (depth == kMaxIndexDepth) {
      throw Error(Errc::kLimit, "cannot resolve image in " + where + ": indexes nest deeper than " +
                                    std::to_string(kMaxIndexDepth));
    }
    d = selectManifest(readIndex(d), platform);
  }
  if (!isManifest(d.mediaType)) {
    throw Error(Errc::kUnsupported, "cannot resolve image in " + where +
                                        ": not supported: media type " + quote(d.mediaType));
  }
  return d;
}

bool LayoutReader::hasBlob(const Digest& d) const {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(root_ / blobPath(d), ec));
}

BlobReader LayoutReader::openBlob(const Descriptor& d) const {
  // The path comes from a validated Digest ("sha256" + hex only), so it stays inside blobs/.
  fs::path p = root_ / blobPath(d.digest);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) {
      throw Error(Errc::kNotFound, "cannot open blob " + d.digest.str() + " in oci-layout " +
                                       quote(root_.string()) + ": missing");
    }
    throwErrno("open " + quote(p.string()));
  }
  UniqueFd owned(fd);
  struct stat st;
  if (::fstat(owned.get(), &st) != 0) throwErrno("stat " + quote(p.string()));
  if (!S_ISREG(st.st_mode)) {
    throw Error(Errc::kSecurity, "cannot open blob " + quote(p.string()) + ": not a regular file");
  }
  return BlobReader(std::move(owned), d.digest, d.size, p.string());
}

std::string LayoutReader::readBlob(const Descriptor& d, uint64_t maxSize) const {
  return openBlob(d).readAll(maxSize);
}

ImageManifest LayoutReader::readManifest(const Descriptor& d) const {
  return ImageManifest::parse(readBlob(d), "image manifest " + d.digest.str(), opts_);
}

ImageIndex LayoutReader::readIndex(const Descriptor& d) const {
  return ImageIndex::parse(readBlob(d), "image index " + d.digest.str(), opts_);
}

ImageConfig LayoutReader::readConfig(const Descriptor& d) const {
  return ImageConfig::parse(readBlob(d), "image config " + d.digest.str(), opts_);
}

}  // namespace ferry::oci
