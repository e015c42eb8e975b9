// Fetchers for images already on this machine: ACI files (through AppcSession) and oci:
// layouts.
#include "stage0/fetch/local_fetchers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <optional>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/appc/image_manifest.hpp"
#include "formats/archive/aci.hpp"
#include "formats/oci/layout.hpp"
#include "formats/oci/media_types.hpp"
#include "stage0/fetch/aci_file_cache.hpp"
#include "stage0/fetch/appc_session.hpp"
#include "stage0/fetch/oci_archive.hpp"
#include "stage0/fetch/tree_render.hpp"

namespace ferry::fetch {

namespace fs = std::filesystem;

namespace {

// Whether a file that is no ACI is a `docker save` tarball: a top-level manifest.json and no
// ACI manifest among its first entries (docker's are few: manifest.json, repositories, one
// directory or blob per layer). Only asked after the ACI read failed.
bool isDockerSave(const fs::path& path) {
  try {
    archive::Reader reader(path);
    archive::Entry e;
    bool dockerManifest = false;
    for (int i = 0; i < 4096 && reader.next(e); ++i) {
      std::string_view p = e.path;
      if (p.substr(0, 2) == "./") p.remove_prefix(2);
      if (p == "manifest") return false;
      if (p == "manifest.json") dockerManifest = true;
    }
    return dockerManifest;
  } catch (const std::exception&) {
    return false;
  }
}

// The digest of the file an ACI image keeps as fetched (empty when none).
std::string originalOf(const store::ImageRecord& r) {
  for (const store::BlobRef& b : r.blobs) {
    if (b.role == store::BlobRole::kOriginal) return b.digest.str();
  }
  return "";
}

class LocalAciFetcher : public Fetcher {
 public:
  bool accepts(const ImageArg& arg) const override {
    return std::holds_alternative<LocalAciArg>(arg);
  }

  // Dependencies not in the store are fetched by discovery (AppcSession). Unsigned, the
  // content check is the whole verification, and a file whose identity was recorded after an
  // earlier check is not read again (aci_file_cache.hpp); this runs before the session exists,
  // which would load libcurl.
  std::string fetch(const ImageArg& arg, FetchContext& ctx) override {
    const fs::path& path = std::get<LocalAciArg>(arg).path;
    try {
      return fetchAci(path, ctx);
    } catch (const Error&) {
      if (!isDockerSave(path)) throw;
      throw Error(Errc::kUnsupported,
                  "cannot fetch " + quote(path.string()) +
                      ": a docker save tarball, not an ACI (not supported: convert it with "
                      "'skopeo copy docker-archive:" +
                      path.string() + " oci-archive:OUT.tar' and fetch oci:OUT.tar)");
    }
  }

 private:
  std::string fetchAci(const fs::path& path, FetchContext& ctx) {
    std::error_code ec;
    if (!ctx.options.insecureImage || !fs::is_regular_file(path, ec)) {
      return AppcSession(ctx).fetchLocal(path);
    }
    AciFileCache cache(ctx.store.casDir() / "aci-files");
    UniqueFd fd = openFile(path, O_RDONLY);
    struct timespec clockBefore;
    ::clock_gettime(CLOCK_REALTIME, &clockBefore);
    struct stat before;
    if (::fstat(fd.get(), &before) != 0) throwErrno("stat " + quote(path.string()));
    if (ctx.options.policy != PullPolicy::kUpdate) {
      if (std::optional<AciFileCache::Entry> e = cache.lookup(before)) {
        std::optional<store::ImageRecord> r = ctx.store.findImage(e->imageId);
        if (r && r->id == e->imageId && r->kind == store::ImageKind::kAci &&
            originalOf(*r) == e->original) {
          return r->id;
        }
      }
    }
    int dup = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
    if (dup < 0) throwErrno("duplicate the descriptor of " + quote(path.string()));
    UniqueFd read(dup);
    std::string id = AppcSession(ctx).fetchLocal(path, std::move(fd));
    struct stat after;
    if (::fstat(read.get(), &after) == 0) {
      if (std::optional<store::ImageRecord> r = ctx.store.findImage(id)) {
        cache.record(before, after, clockBefore, {id, originalOf(*r)});
      }
    }
    return id;
  }
};

class OciLayoutFetcher : public Fetcher {
  // The blobs copied, not yet committed, and their digests.
  struct Pending {
    std::vector<store::BlobWriter> writers;
    std::vector<Digest> digests;
  };

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
    // matched (and, unless --no-render, the tree is rendered from them: each layer inflated
    // once, its diff_id and entries checked) are they committed, so a bad blob or layer leaves
    // the store as it was.
    Pending pending;
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
    std::optional<store::TreeDraft> draft = renderTree(layout, manifest, what, ctx, pending);
    for (store::BlobWriter& w : pending.writers) w.commit();
    ctx.store.putBlob(manifestBytes, "manifest of " + what);
    std::string id = ctx.store.addImage(std::move(r)).id;
    if (draft) ctx.store.addTree(std::move(*draft), id);
    return id;
  }

  // The image's tree, as a registry fetch renders it (docker_fetcher.cpp), from the copied
  // blobs still uncommitted (or the store's): none when --no-render or the store has it.
  static std::optional<store::TreeDraft> renderTree(const oci::LayoutReader& layout,
                                                    const oci::ImageManifest& manifest,
                                                    const std::string& what, FetchContext& ctx,
                                                    const Pending& pending) {
    if (!ctx.options.render) return std::nullopt;
    const std::vector<Digest> diffIds = layout.readConfig(manifest.config).rootfs.diffIds;
    if (diffIds.size() != manifest.layers.size()) {
      throw Error(Errc::kInvalid, "cannot fetch " + what + ": config " +
                                      manifest.config.digest.str() + ": rootfs.diff_ids has " +
                                      std::to_string(diffIds.size()) +
                                      " entries for the manifest's " +
                                      std::to_string(manifest.layers.size()) + " layers");
    }
    std::vector<Digest> digests;
    for (const auto& l : manifest.layers) digests.push_back(l.digest);
    std::optional<store::TreeDraft> draft = ctx.store.draftOciTree(digests);
    if (!draft) return std::nullopt;
    std::vector<TreeRender::Layer> layers;
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
      const Digest& d = manifest.layers[i].digest;
      TreeRender::Layer l{
          "layers[" + std::to_string(i) + "] of " + what, d.str(), {}, diffIds[i], {}};
      auto it = std::find(pending.digests.begin(), pending.digests.end(), d);
      l.blob =
          it != pending.digests.end()
              ? fs::path(
                    pending.writers[static_cast<size_t>(it - pending.digests.begin())].tempPath())
              : ctx.store.blobPath(d);
      layers.push_back(std::move(l));
    }
    TreeRender render(*draft, std::move(layers), 0);
    render.finish();
    draft->seal();
    return draft;
  }

  static void copy(const oci::LayoutReader& layout, const oci::Descriptor& d, FetchContext& ctx,
                   const std::string& what, Pending& pending) {
    if (ctx.store.hasBlob(d.digest)) return;
    oci::BlobReader in = layout.openBlob(d);
    store::BlobWriter out = ctx.store.newBlob(what, d.digest.algorithm(), d.digest, d.size);
    std::vector<char> buf(1 << 20);
    for (size_t n; (n = in.read(buf.data(), buf.size())) > 0;) out.write(buf.data(), n);
    pending.writers.push_back(std::move(out));  // complete and verified (the reader's last read)
    pending.digests.push_back(d.digest);
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
