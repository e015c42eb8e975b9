// Fetchers for images already on this machine: ACI files and oci: layouts.
#include "stage0/fetch/local_fetchers.hpp"

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/appc/image_manifest.hpp"
#include "formats/archive/aci.hpp"
#include "formats/oci/layout.hpp"
#include "formats/oci/media_types.hpp"
#include "stage0/fetch/oci_archive.hpp"
#include "stage0/trust/trust_store.hpp"

namespace ferry::fetch {

namespace fs = std::filesystem;

namespace {

class LocalAciFetcher : public Fetcher {
 public:
  bool accepts(const ImageArg& arg) const override {
    return std::holds_alternative<LocalAciArg>(arg);
  }

  std::string fetch(const ImageArg& arg, FetchContext& ctx) override {
    const fs::path& path = std::get<LocalAciArg>(arg).path;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      throw Error(Errc::kNotFound, "cannot fetch " + quote(path.string()) + ": no such file");
    }
    // One pass: the uncompressed tar goes into the store under its sha512 (the image ID), and
    // the file as it is (compressed) beside it, while readAci checks the structure and finds
    // the manifest.
    store::BlobWriter blob =
        ctx.store.newBlob("ACI " + quote(path.string()), DigestAlgorithm::kSha512);
    store::BlobWriter original =
        ctx.store.newBlob("ACI file " + quote(path.string()), DigestAlgorithm::kSha512);
    archive::AciReadOptions ro;
    ro.reader.uncompressedTee = [&blob](const void* data, size_t size) { blob.write(data, size); };
    ro.reader.compressedTee = [&original](const void* data, size_t size) {
      original.write(data, size);
    };
    struct : archive::AciVisitor {
      void manifest(const std::string&) override {}
      void entry(const archive::Entry&, archive::Reader&) override {}
    } visitor;
    archive::AciInfo info = archive::readAci(path, visitor, ro);
    auto manifest =
        appc::ImageManifest::parse(info.manifest, "manifest of " + quote(path.string()));
    if (!manifest.dependencies.empty()) {
      for (const auto& d : manifest.dependencies) {
        bool have = d.imageID ? ctx.store.findImage(d.imageID->str()).has_value()
                              : ctx.store.findByName({d.imageName.str(), {}, {}}).has_value();
        if (!have) {
          throw Error(Errc::kUnsupported,
                      "cannot fetch " + quote(path.string()) + ": dependency " +
                          quote(d.imageName.str()) +
                          " is not in the store (not supported yet: fetching dependencies by "
                          "discovery; fetch it first)");
        }
      }
    }
    verifySignature(path, manifest, ctx);
    oci::BlobInfo stored = blob.commit();
    // An uncompressed ACI is its own tar: no second copy (the writer's temp file goes), the
    // original is the tar's blob.
    oci::BlobInfo file =
        info.read.compression != archive::Compression::kNone ? original.commit() : stored;
    store::ImageRecord r;
    r.id = info.imageId;
    r.kind = store::ImageKind::kAci;
    r.name = manifest.name.str();
    for (const auto& l : manifest.labels) r.labels.emplace_back(l.name.str(), l.value);
    r.blobs.push_back({store::BlobRole::kAci, stored.digest, stored.size, ""});
    r.blobs.push_back({store::BlobRole::kOriginal, file.digest, file.size, ""});
    r.appcManifest = info.manifest;
    return ctx.store.addImage(std::move(r)).id;
  }

 private:
  static void verifySignature(const fs::path& path, const appc::ImageManifest& m,
                              FetchContext& ctx) {
    if (ctx.options.insecureImage) return;
    fs::path asc = path.string() + ".asc";
    std::error_code ec;
    if (!fs::is_regular_file(asc, ec)) {
      throw Error(Errc::kSecurity, "cannot fetch " + quote(path.string()) + ": no signature " +
                                       quote(asc.string()) +
                                       " (use --insecure-options=image to fetch it unsigned)");
    }
    trust::TrustStore trust(ctx.options.dataDir);
    trust.verify(m.name.str(), path, readFile(asc, 1 << 20));
  }
};

class OciLayoutFetcher : public Fetcher {
 public:
  bool accepts(const ImageArg& arg) const override {
    return std::holds_alternative<OciLayoutArg>(arg);
  }

  std::string fetch(const ImageArg& arg, FetchContext& ctx) override {
    const auto& o = std::get<OciLayoutArg>(arg);
    std::error_code ec;
    if (!fs::is_regular_file(o.dir, ec)) return fetchLayout(o.dir, arg, ctx);
    // A layout packed in a tar: unpacked (only layout files accepted) into a scratch directory
    // of the store, then read like a directory, every blob verified as it is copied.
    TempDir unpacked(ctx.store.casDir() / "tmp", "oci-archive-");
    try {
      unpackLayoutArchive(o.dir, unpacked.path());
      return fetchLayout(unpacked.path(), arg, ctx);
    } catch (const Error& e) {
      // Errors name the archive ("x.tar:blobs/sha256/…"), not the scratch directory.
      std::string msg = e.what();
      std::string scratch = unpacked.path().string() + "/";
      for (size_t at; (at = msg.find(scratch)) != std::string::npos;) {
        msg.replace(at, scratch.size(), o.dir.string() + ":");
      }
      throw Error(e.code(), msg);
    }
  }

 private:
  static std::string fetchLayout(const fs::path& dir, const ImageArg& arg, FetchContext& ctx) {
    const auto& o = std::get<OciLayoutArg>(arg);
    oci::LayoutReader layout(dir);
    oci::Descriptor desc =
        layout.resolve(o.ref ? std::optional<std::string_view>(*o.ref) : std::nullopt);
    std::string manifestBytes = layout.readBlob(desc);
    oci::ImageManifest manifest = layout.readManifest(desc);
    std::string what = describe(arg);
    store::ImageRecord r;
    r.id = desc.digest.str();
    r.kind = store::ImageKind::kOci;
    r.name = "oci:" + fs::absolute(o.dir).lexically_normal().string();
    if (o.ref) r.tags.push_back(*o.ref);
    // Every blob is copied and verified into an uncommitted writer first; only when all
    // matched are they committed, so a bad blob leaves the store as it was.
    std::vector<store::BlobWriter> pending;
    copy(layout, manifest.config, ctx, "config of " + what, pending);
    r.blobs.push_back({store::BlobRole::kManifest, desc.digest, desc.size, desc.mediaType});
    r.blobs.push_back({store::BlobRole::kConfig, manifest.config.digest, manifest.config.size,
                       manifest.config.mediaType});
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
      const auto& l = manifest.layers[i];
      if (!oci::isLayer(l.mediaType)) {
        throw Error(Errc::kUnsupported, "cannot fetch " + what + ": layers[" + std::to_string(i) +
                                            "] has media type " + quote(l.mediaType));
      }
      copy(layout, l, ctx, "layers[" + std::to_string(i) + "] of " + what, pending);
      r.blobs.push_back({store::BlobRole::kLayer, l.digest, l.size, l.mediaType});
    }
    for (store::BlobWriter& w : pending) w.commit();
    ctx.store.putBlob(manifestBytes, "manifest of " + what);
    return ctx.store.addImage(std::move(r)).id;
  }

  static void copy(const oci::LayoutReader& layout, const oci::Descriptor& d, FetchContext& ctx,
                   const std::string& what, std::vector<store::BlobWriter>& pending) {
    if (ctx.store.hasBlob(d.digest)) return;
    oci::BlobReader in = layout.openBlob(d);
    store::BlobWriter out = ctx.store.newBlob(what, d.digest.algorithm(), d.digest, d.size);
    std::vector<char> buf(1 << 20);
    for (size_t n; (n = in.read(buf.data(), buf.size())) > 0;) out.write(buf.data(), n);
    pending.push_back(std::move(out));
  }
};

class StoreIdFetcher : public Fetcher {
 public:
  bool accepts(const ImageArg& arg) const override {
    return std::holds_alternative<StoreIdArg>(arg);
  }
  std::string fetch(const ImageArg& arg, FetchContext& ctx) override {
    const auto& id = std::get<StoreIdArg>(arg).id;
    auto r = ctx.store.findImage(id);
    if (!r) throw Error(Errc::kNotFound, "no image " + quote(id) + " in the store");
    return r->id;
  }
};

}  // namespace

void addLocalFetchers(std::vector<std::unique_ptr<Fetcher>>& out) {
  out.push_back(std::make_unique<StoreIdFetcher>());
  out.push_back(std::make_unique<LocalAciFetcher>());
  out.push_back(std::make_unique<OciLayoutFetcher>());
}

}  // namespace ferry::fetch
