#include "stage0/image/unpack.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <system_error>

#include "common/copy_tree.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/archive/aci.hpp"
#include "formats/archive/extract.hpp"
#include "formats/archive/layer.hpp"

namespace ferry::image {

namespace fs = std::filesystem;

namespace {

const store::BlobRef* findRole(const store::ImageRecord& r, store::BlobRole role) {
  for (const auto& b : r.blobs) {
    if (b.role == role) return &b;
  }
  return nullptr;
}

archive::ExtractOptions extractOptions() {
  archive::ExtractOptions o;
  o.ignoreXattrErrors = true;
  return o;
}

// The result is built in a temporary directory beside DIR and renamed onto it (rename(2)
// replaces an empty directory; with overwrite, a full one is exchanged with it atomically and
// removed after), so DIR is either as it was or complete.
class Staging {
 public:
  Staging(const fs::path& dir, bool rootfsOnly, bool overwrite)
      : dir_(dir), rootfsOnly_(rootfsOnly) {
    std::error_code ec;
    auto st = fs::symlink_status(dir, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st)) {
        throw Error(Errc::kInvalid, quote(dir.string()) + " exists and is not a directory");
      }
      if (!fs::is_empty(dir)) {
        if (!overwrite) {
          throw Error(Errc::kInvalid, quote(dir.string()) +
                                          " is not empty (give a new or empty directory, or "
                                          "--overwrite)");
        }
        exchange_ = true;
      }
    }
    fs::path abs = fs::absolute(dir).lexically_normal();
    if (abs.filename().empty()) abs = abs.parent_path();
    fs::create_directories(abs.parent_path());
    tmp_.emplace(abs.parent_path(), "." + abs.filename().string() + ".tmp-");
    if (::chmod(tmp_->path().c_str(), 0755) != 0)
      throwErrno("chmod " + quote(tmp_->path().string()));
  }

  fs::path rootfs() const { return tmp_->path() / "rootfs"; }
  const fs::path& top() const { return tmp_->path(); }

  void commit() {
    fs::path from = rootfsOnly_ ? rootfs() : tmp_->path();
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, dir_.c_str(),
                    exchange_ ? RENAME_EXCHANGE : 0) != 0) {
      throwErrno("rename " + quote(from.string()) + " to " + quote(dir_.string()));
    }
    syncDir(fs::absolute(dir_).lexically_normal().parent_path());
    // Exchanged: the temporary directory now holds DIR's old content, which goes with it.
    if (!rootfsOnly_ && !exchange_) tmp_->release();
  }

 private:
  fs::path dir_;
  bool rootfsOnly_;
  bool exchange_ = false;
  std::optional<TempDir> tmp_;
};

void writeMetadata(const store::Store& store, const store::ImageRecord& r, const fs::path& top) {
  if (r.kind == store::ImageKind::kAci) {
    writeFileAtomic(top / "manifest", r.appcManifest);
    return;
  }
  const store::BlobRef* m = findRole(r, store::BlobRole::kManifest);
  const store::BlobRef* c = findRole(r, store::BlobRole::kConfig);
  if (m != nullptr)
    writeFileAtomic(top / "manifest.json", store.openBlob(m->digest).readAll(4 << 20));
  if (c != nullptr)
    writeFileAtomic(top / "config.json", store.openBlob(c->digest).readAll(4 << 20));
}

void extractAciRootfs(const store::Store& store, const store::ImageRecord& r,
                      const fs::path& rootfs) {
  const store::BlobRef* aci = findRole(r, store::BlobRole::kAci);
  if (aci == nullptr) throw Error(Errc::kInvalid, "image " + r.id + " has no ACI");
  archive::AciInfo info =
      archive::extractAci(store.blobPath(aci->digest), rootfs, extractOptions());
  if (info.imageId != "sha512-" + aci->digest.hex()) {
    throw Error(Errc::kDigestMismatch, "the store's ACI blob " + aci->digest.str() +
                                           " does not match its content (" + info.imageId + ")");
  }
}

void extractOciRootfs(const store::Store& store, const store::ImageRecord& r,
                      const fs::path& rootfs) {
  if (::mkdir(rootfs.c_str(), 0755) != 0) throwErrno("create " + quote(rootfs.string()));
  for (const auto& b : r.blobs) {
    if (b.role != store::BlobRole::kLayer) continue;
    archive::ReaderOptions ro;
    ro.compressedDigest = b.digest.algorithm();
    ro.decompressAhead = true;  // inflated and hashed on another thread while files are made
    archive::Reader reader(store.blobPath(b.digest), ro);
    archive::ExtractStats stats = archive::applyLayer(reader, rootfs, extractOptions());
    if (stats.read.compressedDigest != b.digest) {
      throw Error(Errc::kDigestMismatch, "layer " + b.digest.str() + " does not match its content");
    }
  }
}

template <typename Fn>
void unpack(std::string_view verb, const store::ImageRecord& r, const UnpackOptions& o, Fn&& fn) {
  try {
    Staging staging(o.dir, o.rootfsOnly, o.overwrite);
    fn(staging);
    staging.commit();
  } catch (const std::exception& e) {
    const auto* fe = dynamic_cast<const Error*>(&e);
    std::throw_with_nested(Error(fe != nullptr ? fe->code() : Errc::kIo,
                                 "cannot " + std::string(verb) + " image " + r.id + " to " +
                                     quote(o.dir.string()) + ": " + e.what()));
  }
}

}  // namespace

void extractImage(store::Store& store, const store::ImageRecord& image, const UnpackOptions& o) {
  auto hold = store.lockShared();
  unpack("extract", image, o, [&](Staging& s) {
    if (image.kind == store::ImageKind::kAci) {
      extractAciRootfs(store, image, s.rootfs());
    } else {
      extractOciRootfs(store, image, s.rootfs());
    }
    if (!o.rootfsOnly) writeMetadata(store, image, s.top());
  });
}

void renderImage(store::Store& store, const store::ImageRecord& image, const UnpackOptions& o) {
  auto hold = store.lockShared();
  unpack("render", image, o, [&](Staging& s) {
    // A tree the store already holds (a pod's) is copied; otherwise the image is rendered
    // straight into DIR: making a tree only to copy it would write every file twice, and the
    // store's trees serve pods, which make their own on first use.
    if (store.hasTree(image.id)) {
      store::TreeInfo tree = store.renderTree(image.id);
      CopyTreeOptions co;
      co.ignoreXattrErrors = true;
      copyTree(tree.rootfs, s.rootfs(), co);
    } else {
      store.renderRootfs(image.id, s.rootfs());
    }
    if (!o.rootfsOnly) writeMetadata(store, image, s.top());
  });
  store.touch(image.id);
}

}  // namespace ferry::image
