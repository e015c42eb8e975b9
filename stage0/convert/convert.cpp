#include "stage0/convert/convert.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/appc/image_manifest.hpp"
#include "formats/archive/aci.hpp"
#include "formats/archive/layer.hpp"
#include "formats/archive/writer.hpp"
#include "formats/oci/annotations.hpp"
#include "formats/oci/layout.hpp"
#include "formats/oci/media_types.hpp"
#include "formats/translate/aci_to_oci.hpp"
#include "formats/translate/oci_to_aci.hpp"
#include "stage0/convert/render.hpp"
#include "stage0/convert/sorted_tree.hpp"
#include "stage0/version.hpp"

namespace ferry::convert {

namespace fs = std::filesystem;

Location parseLocation(std::string_view arg) {
  if (arg.empty()) throw Error(Errc::kInvalid, "empty image location");
  if (arg.rfind("oci:", 0) == 0) {
    std::string_view rest = arg.substr(4);
    OciLayoutRef loc;
    // The ref follows the last colon, unless that colon belongs to the directory.
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
      loc.dir = std::string(rest.substr(0, colon));
      if (colon + 1 < rest.size()) loc.ref = std::string(rest.substr(colon + 1));
    } else {
      loc.dir = std::string(rest);
    }
    if (loc.dir.empty()) throw Error(Errc::kInvalid, "oci: location without a directory");
    return loc;
  }
  return AciFile{fs::path(arg)};
}

std::string describe(const Location& loc) {
  if (const auto* a = std::get_if<AciFile>(&loc)) return a->path.string();
  const auto& o = std::get<OciLayoutRef>(loc);
  return "oci:" + o.dir.string() + (o.ref ? ":" + *o.ref : "");
}

namespace {

// A temporary file beside its final place; renamed into place by commit(), removed otherwise.
class PendingFile {
 public:
  explicit PendingFile(const fs::path& dir, std::string_view prefix) {
    tmp_ = (dir / (std::string(prefix) + "XXXXXX")).string();
    int fd = ::mkostemp(tmp_.data(), O_CLOEXEC);
    if (fd < 0) throwErrno("create a temporary file in " + quote(dir.string()));
    fd_.reset(fd);
  }
  ~PendingFile() {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  int fd() const { return fd_.get(); }
  void rewind() {
    if (::ftruncate(fd_.get(), 0) != 0 || ::lseek(fd_.get(), 0, SEEK_SET) != 0) {
      throwErrno("truncate " + quote(tmp_));
    }
  }
  void commit(const fs::path& to, mode_t mode) {
    if (::fchmod(fd_.get(), mode) != 0) throwErrno("chmod " + quote(tmp_));
    if (::fsync(fd_.get()) != 0) throwErrno("sync " + quote(tmp_));
    // A bare file name ("app.aci") has no parent path: the directory is the working directory.
    fs::path dir = fs::absolute(to).parent_path();
    fs::create_directories(dir);
    if (::rename(tmp_.c_str(), to.c_str()) != 0) throwErrno("rename to " + quote(to.string()));
    tmp_.clear();
    syncDir(dir);
  }

 private:
  std::string tmp_;
  UniqueFd fd_;
};

archive::WriterOptions writerOptions(const Options& o, std::string name) {
  archive::WriterOptions w;
  w.compression = o.compression;
  w.level = o.level;
  w.workers = o.compression == archive::Compression::kNone ? 0 : 2;
  w.name = std::move(name);
  return w;
}

std::string_view layerMediaType(archive::Compression c) {
  switch (c) {
    case archive::Compression::kGzip:
      return oci::media::kLayerTarGzip;
    case archive::Compression::kZstd:
      return oci::media::kLayerTarZstd;
    default:
      return oci::media::kLayerTar;
  }
}

// Removes a directory this conversion created if the conversion fails.
class CreatedDir {
 public:
  // Creates the missing parents of `dir`; remembers the top-most directory that was missing.
  explicit CreatedDir(const fs::path& dir) {
    fs::path abs = fs::absolute(dir).lexically_normal();
    for (fs::path p = abs; !p.empty() && !fs::exists(p); p = p.parent_path()) {
      dir_ = p;
      created_ = true;
      if (p == p.parent_path()) break;
    }
    if (abs.has_parent_path()) fs::create_directories(abs.parent_path());
  }
  ~CreatedDir() {
    if (created_ && !kept_) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  void keep() { kept_ = true; }

 private:
  fs::path dir_;
  bool created_ = false;
  bool kept_ = false;
};

Result aciToOci(const AciFile& src, const OciLayoutRef& dst, const Options& o) {
  CreatedDir created(dst.dir);
  oci::LayoutWriter layout(dst.dir);
  PendingFile layer(layout.root(), ".ferry-layer-");
  auto w = std::make_unique<archive::Writer>(layer.fd(), writerOptions(o, "layer"));

  // One pass for the common case: the image's own files straight into the layer.
  struct Visitor : archive::AciVisitor {
    archive::Writer* w;
    void manifest(const std::string&) override {}
    void entry(const archive::Entry& e, archive::Reader& r) override {
      w->add(e);
      if (e.type == archive::Type::kFile) w->copyData(r);
    }
  } v;
  v.w = w.get();
  archive::AciInfo info = archive::readAci(src.path, v);
  auto manifest =
      appc::ImageManifest::parse(info.manifest, "manifest of " + quote(src.path.string()));

  Result result;
  if (!manifest.dependencies.empty() || !manifest.pathWhitelist.empty()) {
    // Dependencies or a whitelist: render again, now that the manifest is known.
    w.reset();
    layer.rewind();
    w = std::make_unique<archive::Writer>(layer.fd(), writerOptions(o, "layer"));
    auto images = resolveDependencies({src.path, manifest, info.imageId, 0}, o.dependencyDirs);
    renderImages(images, [&](const archive::Entry& e, archive::Reader& r) {
      w->add(e);
      if (e.type == archive::Type::kFile) w->copyData(r);
    });
  }
  archive::WriteResult written = w->finish();
  w.reset();
  layer.commit(layout.root() / oci::blobPath(*written.compressedDigest), 0644);

  oci::ImageConfig config = translate::aciToOci(manifest, result.report);
  config.rootfs.diffIds = {*written.uncompressedDigest};
  oci::HistoryEntry h;
  h.created = config.created;
  h.createdBy = "ferry image convert (appc image " + manifest.name.str() + ", " +
                info.imageId.substr(0, 19) + ")";
  config.history = {h};
  oci::Descriptor configDesc = layout.putBlob(config.dump(), std::string(oci::media::kImageConfig));

  oci::ImageManifest m(configDesc);
  m.mediaType = std::string(oci::media::kImageManifest);
  m.layers.emplace_back(std::string(layerMediaType(o.compression)), *written.compressedDigest,
                        static_cast<int64_t>(written.compressedSize));
  if (auto version = manifest.labels.get("version")) {
    m.annotations[std::string(oci::annotation::kVersion)] = std::string(*version);
  }
  m.annotations[std::string(oci::annotation::kTitle)] = manifest.name.str();
  oci::Descriptor manifestDesc = layout.putBlob(m.dump(), std::string(oci::media::kImageManifest));
  std::string ref =
      dst.ref.value_or(std::string(manifest.labels.get("version").value_or("latest")));
  layout.tag(manifestDesc, ref);
  created.keep();
  result.destination = "oci:" + dst.dir.string() + ":" + ref;
  result.id = manifestDesc.digest.str();
  return result;
}

// The ACI name for an OCI image that does not carry one: from the layout directory's name.
std::string defaultName(const OciLayoutRef& src) {
  std::string base = fs::absolute(src.dir).lexically_normal().filename().string();
  if (base.empty()) base = "image";
  auto name = appc::AcName::sanitize(base);
  return name ? name->str() : "image";
}

Result ociToAci(const OciLayoutRef& src, const AciFile& dst, const Options& o) {
  oci::LayoutReader layout(src.dir);
  oci::Descriptor desc =
      layout.resolve(src.ref ? std::optional<std::string_view>(*src.ref) : std::nullopt);
  oci::ImageManifest manifest = layout.readManifest(desc);
  oci::ImageConfig config = layout.readConfig(manifest.config);
  if (manifest.layers.size() != config.rootfs.diffIds.size()) {
    throw Error(Errc::kInvalid, "cannot convert " + describe(src) + ": the manifest has " +
                                    std::to_string(manifest.layers.size()) +
                                    " layers but the config " +
                                    std::to_string(config.rootfs.diffIds.size()) + " diff_ids");
  }
  std::vector<fs::path> layers;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const auto& l = manifest.layers[i];
    if (!oci::isLayer(l.mediaType)) {
      throw Error(Errc::kUnsupported, "not supported: layers[" + std::to_string(i) +
                                          "] has media type " + quote(l.mediaType));
    }
    layers.push_back(layout.root() / oci::blobPath(l.digest));
  }

  fs::path dir = dst.path.has_parent_path() ? dst.path.parent_path() : fs::path(".");
  PendingFile out(dir, "." + dst.path.filename().string() + ".tmp-");
  archive::WriterOptions wo = writerOptions(o, dst.path.string());
  wo.uncompressedDigest = DigestAlgorithm::kSha512;
  archive::Writer w(out.fd(), wo);

  SortedTree tree(dir);
  archive::ReaderOptions ro;
  ro.compressedDigest = DigestAlgorithm::kSha256;
  ro.uncompressedDigest = DigestAlgorithm::kSha256;
  std::vector<archive::ReadResult> reads = archive::flattenLayers(layers, tree, ro);
  for (size_t i = 0; i < reads.size(); ++i) {
    const auto& l = manifest.layers[i];
    if (reads[i].compressedDigest != l.digest ||
        reads[i].compressedSize != static_cast<uint64_t>(l.size)) {
      throw Error(Errc::kDigestMismatch, "cannot convert " + describe(src) + ": layers[" +
                                             std::to_string(i) + "] " + l.digest.str() +
                                             " does not match its content");
    }
    if (reads[i].uncompressedDigest != config.rootfs.diffIds[i]) {
      throw Error(Errc::kDigestMismatch, "cannot convert " + describe(src) + ": layers[" +
                                             std::to_string(i) + "] does not match diff_id " +
                                             config.rootfs.diffIds[i].str());
    }
  }

  translate::AciIdentity id;
  id.name = o.name.value_or(defaultName(src));
  id.nameFromUser = o.name.has_value();
  if (src.ref) {
    id.version = *src.ref;
  } else if (auto it = desc.annotations.find(std::string(oci::annotation::kRefName));
             it != desc.annotations.end()) {
    id.version = it->second;
  }
  translate::UserDatabase users;
  users.passwd = tree.fileData("etc/passwd", 4 << 20);
  users.group = tree.fileData("etc/group", 4 << 20);
  archive::Entry root = archive::dirEntry("rootfs");
  w.add(root);
  tree.writeTo(w, "rootfs/");
  Result result;
  appc::ImageManifest aci = translate::ociToAci(config, id, users, result.report);
  std::string manifestText = aci.str(true);
  archive::Entry me = archive::fileEntry("manifest", manifestText.size(), 0644);
  w.add(me);
  w.write(manifestText.data(), manifestText.size());
  archive::WriteResult written = w.finish();
  out.commit(dst.path, 0644);
  result.destination = dst.path.string();
  result.id = "sha512-" + written.uncompressedDigest->hex();
  return result;
}

}  // namespace

Result convertImage(const Options& o) {
  try {
    if (const auto* src = std::get_if<AciFile>(&o.source)) {
      if (const auto* dst = std::get_if<OciLayoutRef>(&o.destination))
        return aciToOci(*src, *dst, o);
      throw Error(Errc::kUnsupported,
                  "not supported: ACI to ACI; convert to an OCI layout (oci:DIR:REF)");
    }
    const auto& src = std::get<OciLayoutRef>(o.source);
    if (const auto* dst = std::get_if<AciFile>(&o.destination)) return ociToAci(src, *dst, o);
    throw Error(Errc::kUnsupported, "not supported: OCI to OCI; use skopeo copy");
  } catch (const Error& e) {
    if (e.code() == Errc::kUnsupported || std::string_view(e.what()).rfind("cannot ", 0) == 0)
      throw;
    throw Error(e.code(), "cannot convert " + describe(o.source) + ": " + e.what());
  }
}

}  // namespace ferry::convert
