#include <sys/stat.h>

#include <cerrno>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/oci/annotations.hpp"
#include "formats/oci/json_util.hpp"
#include "formats/oci/layout.hpp"
#include "formats/oci/media_types.hpp"

namespace ferry::oci {

namespace fs = std::filesystem;

namespace {

std::string layoutHeader() {
  json::Json j = json::Json::object();
  j["imageLayoutVersion"] = kLayoutVersion;
  return json::dump(j);
}

}  // namespace

void checkLayoutHeader(const fs::path& root) {
  fs::path p = root / "oci-layout";
  std::string text = readFile(p, 1 << 20);
  json::Json j = json::parse(text, p.string());
  json::Object o(j, "");
  std::string version = o.string("imageLayoutVersion");
  o.ignoreRest();  // image-layout.md: the file MAY include additional fields
  if (version != kLayoutVersion) {
    throw Error(Errc::kUnsupported, "cannot open oci-layout " + quote(root.string()) +
                                        ": not supported: imageLayoutVersion " + quote(version));
  }
}

LayoutWriter::LayoutWriter(fs::path dir) : root_(std::move(dir)) {
  if (::mkdir(root_.c_str(), 0755) != 0 && errno != EEXIST) {
    throwErrno("create oci-layout directory " + quote(root_.string()));
  }
  if (!fs::is_directory(root_)) {
    throw Error(Errc::kUnsupported, "cannot open oci-layout " + quote(root_.string()) +
                                        ": not supported: not a directory");
  }
  if (fs::exists(root_ / "oci-layout")) {
    checkLayoutHeader(root_);
    if (!fs::exists(root_ / "index.json")) {
      throw Error(Errc::kInvalid,
                  "cannot open oci-layout " + quote(root_.string()) + ": index.json is missing");
    }
    fs::create_directories(root_ / "blobs");
    return;
  }
  if (!fs::is_empty(root_)) {
    throw Error(Errc::kInvalid, "cannot create oci-layout in " + quote(root_.string()) +
                                    ": the directory is not empty and not an oci-layout");
  }
  // The marker file last, so that a crash leaves a directory nobody mistakes for a layout.
  fs::create_directories(root_ / "blobs");
  ImageIndex empty;
  empty.mediaType = std::string(media::kImageIndex);
  writeFileAtomic(root_ / "index.json", empty.dump());
  writeFileAtomic(root_ / "oci-layout", layoutHeader());
}

BlobWriter LayoutWriter::newBlob(std::optional<Digest> expected,
                                 std::optional<int64_t> expectedSize) const {
  return BlobWriter(root_, std::move(expected), expectedSize);
}

Descriptor LayoutWriter::putBlob(std::string_view data, std::string mediaType) const {
  BlobWriter w = newBlob();
  w.write(data);
  return w.commit().descriptor(std::move(mediaType));
}

ImageIndex LayoutWriter::index() const {
  fs::path p = root_ / "index.json";
  return ImageIndex::parse(readFile(p), p.string());
}

void LayoutWriter::tag(const Descriptor& manifest, std::string_view ref) const {
  if (ref.empty()) throw Error(Errc::kInvalid, "cannot tag image: empty ref name");
  ImageIndex idx = index();
  std::vector<Descriptor> kept;
  for (auto& d : idx.manifests) {
    if (d.annotation(annotation::kRefName) != std::optional<std::string>(ref)) {
      kept.push_back(std::move(d));
    }
  }
  Descriptor entry = manifest;
  entry.annotations[std::string(annotation::kRefName)] = std::string(ref);
  kept.push_back(std::move(entry));
  idx.manifests = std::move(kept);
  writeFileAtomic(root_ / "index.json", idx.dump());
}

}  // namespace ferry::oci
