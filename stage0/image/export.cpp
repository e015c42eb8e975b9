#include "stage0/image/export.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/appc/names.hpp"
#include "formats/oci/layout.hpp"

namespace ferry::image {

namespace fs = std::filesystem;

namespace {

const store::BlobRef* findRole(const store::ImageRecord& r, store::BlobRole role) {
  for (const auto& b : r.blobs) {
    if (b.role == role) return &b;
  }
  return nullptr;
}

bool hasOciBlobs(const store::ImageRecord& r) {
  return findRole(r, store::BlobRole::kManifest) != nullptr;
}

void refuseExisting(const fs::path& file, bool overwrite) {
  std::error_code ec;
  if (!overwrite && fs::exists(fs::symlink_status(file, ec))) {
    throw Error(Errc::kInvalid,
                "cannot export to " + quote(file.string()) + ": it exists (use --overwrite)");
  }
}

// A blob of the store, verified as it is read, into a new file beside `file`, renamed over it.
void writeBlobFile(const store::Store& store, const Digest& d, const fs::path& file) {
  fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + file.filename().string() + ".tmp-XXXXXX")).string();
  int raw = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (raw < 0) throwErrno("create a temporary file in " + quote(dir.string()));
  UniqueFd fd(raw);
  try {
    oci::BlobReader in = store.openBlob(d);
    std::string buf(1 << 20, '\0');
    for (size_t n; (n = in.read(buf.data(), buf.size())) > 0;) {
      writeAll(fd.get(), buf.data(), n, tmp);
    }
    if (::fchmod(fd.get(), 0644) != 0) throwErrno("chmod " + quote(tmp));
    if (::fsync(fd.get()) != 0) throwErrno("sync " + quote(tmp));
    if (::rename(tmp.c_str(), file.c_str()) != 0) throwErrno("rename to " + quote(file.string()));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  syncDir(dir);
}

// The image's OCI blobs into the layout at `dir` (created or opened), named `ref`. With `link`
// (a scratch layout inside the store), blobs are hard links to the store's files.
oci::Descriptor writeLayout(const store::Store& store, const store::ImageRecord& r,
                            const fs::path& dir, const std::string& ref, bool link) {
  oci::LayoutWriter layout(dir);
  std::optional<oci::Descriptor> manifest;
  for (const auto& b : r.blobs) {
    if (b.role != store::BlobRole::kManifest && b.role != store::BlobRole::kConfig &&
        b.role != store::BlobRole::kLayer) {
      continue;
    }
    if (b.role == store::BlobRole::kManifest) manifest.emplace(b.mediaType, b.digest, b.size);
    fs::path to = dir / oci::blobPath(b.digest);
    std::error_code ec;
    if (fs::exists(to, ec)) continue;  // the layout holds it (written by this very scheme)
    if (link) {
      fs::create_directories(to.parent_path());
      if (::link(store.blobPath(b.digest).c_str(), to.c_str()) == 0) continue;
    }
    oci::BlobReader in = store.openBlob(b.digest);
    oci::BlobWriter out = layout.newBlob(b.digest, b.size);
    std::string buf(1 << 20, '\0');
    for (size_t n; (n = in.read(buf.data(), buf.size())) > 0;) out.write(buf.data(), n);
    out.commit();
  }
  if (!manifest) throw Error(Errc::kInvalid, "image " + r.id + " has no OCI manifest");
  layout.tag(*manifest, ref);
  return *manifest;
}

// The tag to name an OCI export by when none is given: the newest the image got, or "latest".
std::string defaultRef(const store::ImageRecord& r) {
  for (auto it = r.names.rbegin(); it != r.names.rend(); ++it) {
    if (!it->tag.empty()) return it->tag;
  }
  return "latest";
}

ExportResult toAci(store::Store& store, const store::ImageRecord& r, const fs::path& file,
                   bool overwrite) {
  refuseExisting(file, overwrite);
  ExportResult result;
  result.destination = file.string();
  const store::BlobRef* aci = findRole(r, store::BlobRole::kAci);
  if (aci != nullptr) {
    const store::BlobRef* original = findRole(r, store::BlobRole::kOriginal);
    writeBlobFile(store, (original != nullptr ? original : aci)->digest, file);
    result.id = "sha512-" + aci->digest.hex();
    return result;
  }
  // An OCI image: translated now, from a scratch layout of hard links inside the store.
  TempDir scratch(store.casDir() / "tmp", "export-");
  std::string ref = defaultRef(r);
  writeLayout(store, r, scratch.path() / "layout", ref, true);
  convert::Options o{convert::OciLayoutRef{scratch.path() / "layout", ref}, convert::AciFile{file}};
  auto name = appc::AcName::sanitize(
      r.name.starts_with("oci:") ? fs::path(r.name).filename().string() : r.name);
  if (name) o.name = name->str();
  ExportResult converted = convert::convertImage(o);
  converted.destination = file.string();
  return converted;
}

ExportResult toOci(store::Store& store, const store::ImageRecord& r,
                   const convert::OciLayoutRef& dst) {
  ExportResult result;
  if (hasOciBlobs(r)) {
    std::string ref = dst.ref.value_or(defaultRef(r));
    oci::Descriptor d = writeLayout(store, r, dst.dir, ref, false);
    result.destination = "oci:" + dst.dir.string() + ":" + ref;
    result.id = d.digest.str();
    return result;
  }
  // An appc image: translated now. Its dependencies are looked up among every ACI of the
  // store, offered to the converter as a directory of links named <id>.aci.
  const store::BlobRef* aci = findRole(r, store::BlobRole::kAci);
  if (aci == nullptr)
    throw Error(Errc::kInvalid, "image " + r.id + " has neither ACI nor manifest");
  TempDir deps(store.casDir() / "tmp", "export-");
  for (const auto& other : store.listImages()) {
    const store::BlobRef* a = findRole(other, store::BlobRole::kAci);
    if (a == nullptr || other.id == r.id) continue;
    fs::create_symlink(store.blobPath(a->digest), deps.path() / (a->digest.hex() + ".aci"));
  }
  convert::Options o{convert::AciFile{store.blobPath(aci->digest)}, dst};
  o.dependencyDirs = {deps.path()};
  return convert::convertImage(o);
}

}  // namespace

ExportResult exportImage(store::Store& store, const store::ImageRecord& image,
                         const ExportOptions& options) {
  auto hold = store.lockShared();
  try {
    if (const auto* f = std::get_if<convert::AciFile>(&options.destination)) {
      return toAci(store, image, f->path, options.overwrite);
    }
    return toOci(store, image, std::get<convert::OciLayoutRef>(options.destination));
  } catch (const Error& e) {
    if (std::string_view(e.what()).rfind("cannot ", 0) == 0) throw;
    throw Error(e.code(), "cannot export image " + image.id + " to " +
                              convert::describe(options.destination) + ": " + e.what());
  }
}

}  // namespace ferry::image
