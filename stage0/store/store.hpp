// The image store: content-addressed blobs, an SQLite index, and the tree store.
//
// Layout under $dir/cas:
//   blobs/sha256/<hex>   OCI blobs (manifests, configs, layers) and OCI translations of ACIs
//   blobs/sha512/<hex>   ACIs as uncompressed tars: the name is the appc image ID, so an appc
//                        image keeps its ID; and ACIs exactly as fetched (compressed), so an
//                        image exports byte for byte (BlobRole::kOriginal)
//   tmp/                 temporary trees being rendered (and, beside blobs/, `.blob.tmp-*`
//                        files of blobs being written: oci::BlobWriter's temp files)
//   trees/<key>/rootfs   rendered root filesystems, read-only once in place
//   index.db             the SQLite index (WAL): images, their names and tags (every one an
//                        image was fetched under), labels, blob references,
//                        the appc ID ↔ OCI digest map, remotes, tree entries
//   lock                 flock(2): shared by writers, exclusive by gc
//
// How the pieces fit:
// - A blob is written through BlobWriter (oci::BlobWriter: temp file, hashed while streaming,
//   fsync, rename into blobs/<alg>/<hex>), so a blob file always holds the bytes its name says.
// - An ImageRecord names the blobs an image uses (BlobRef, in order). addImage() inserts a
//   record and its references in one transaction, after checking the blobs are there; a blob is
//   live while some record references it. removeImage() only drops the record; gc() deletes
//   blobs and trees no record uses (older than a grace period) and stale temp files.
// - Trees outside the store's knowledge: a pod uses a tree as its overlay lower layer after its
//   image may have been removed. The store knows nothing of pods; gc() asks its caller, while
//   holding the lock exclusively, for the rootfs paths in use (`ferry image gc` reads them from
//   every pod's runtime.json) and keeps those trees and their entries. A user of a tree holds the
//   lock shared from renderTree() until it has recorded the path where that callback finds it
//   (ferry prepare: until runtime.json is written), so gc never falls between the two.
// - Locking: writers (BlobWriter, addImage, renderTree, and a fetcher around its whole
//   download-then-addImage session via lockShared()) hold `lock` shared; gc holds it exclusive,
//   so it never deletes a blob that a concurrent fetch wrote but has not referenced yet.
//   The index serializes its own writers (BEGIN IMMEDIATE, busy_timeout). flock's writer
//   starvation applies: gc waits until no writer holds the lock.
// - The tree store renders an image's rootfs once into tmp/, then renames the directory to
//   trees/<key> (atomic; a crash leaves a temp dir for gc). The key is content-derived
//   (hash of the ordered layer digests, or of the ordered ACI IDs with dependencies), so images
//   sharing content share a tree. Its entry records a hash of the tree's content listing (path,
//   type, mode, uid, gid, size, content sha256, link target) that verify() recomputes.
//   A registry fetch renders it before its image exists (TreeDraft, from the downloads' temp
//   files), and addTree() moves it into place once addImage() recorded the image.
// - A crash at any point leaves a store verify() reports clean: blobs and trees appear by
//   rename, every index change is one transaction, leftovers are temp files gc removes.
// A Store object is used by one thread at a time; open one per thread or process.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/digest.hpp"
#include "common/fs.hpp"
#include "formats/oci/blob_io.hpp"
#include "stage0/store/file_lock.hpp"

namespace ferry::archive {
class Trash;
}

namespace ferry::store {

namespace sql {
class Db;
}
class Store;

inline constexpr int kSchemaVersion = 3;

enum class ImageKind { kAci, kOci };
std::string_view kindName(ImageKind k);  // "aci" / "oci"

// What a referenced blob is to its image.
enum class BlobRole {
  kAci,       // the ACI (uncompressed tar, sha512): an appc image, or an OCI image's translation
  kOriginal,  // the ACI file as fetched (sha512; the kAci blob itself for an uncompressed one)
  kManifest,  // an OCI image manifest: the image itself, or an ACI's OCI translation
  kConfig,    // the OCI image config
  kLayer,     // an OCI layer, base first
};
std::string_view roleName(BlobRole r);

struct BlobRef {
  BlobRole role = BlobRole::kLayer;
  Digest digest;
  int64_t size = 0;
  std::string mediaType;  // OCI descriptors; empty for an ACI
  friend bool operator==(const BlobRef&, const BlobRef&) = default;
};

using LabelList = std::vector<std::pair<std::string, std::string>>;

// One name an image is known by: an appc name, or an OCI repository with a tag (empty: none).
// A tag names one image per repository: adding it to an image takes it from any other.
struct ImageName {
  std::string name;
  std::string tag;
  friend bool operator==(const ImageName&, const ImageName&) = default;
};

struct ImageRecord {
  // appc: "sha512-<hex>" (the ACI blob's name); OCI: "sha256:<hex>" (the manifest digest).
  std::string id;
  ImageKind kind = ImageKind::kAci;
  // The name the image was first fetched under: appc name, or OCI repository
  // ("docker.io/library/alpine"). addImage also records it, with each of `tags`, in `names`.
  std::string name;
  LabelList labels;               // appc labels (version, os, arch, …) in manifest order
  std::vector<std::string> tags;  // OCI tags: loaded, the distinct tags of all names, sorted
  // Every name and tag the image was fetched under, oldest first (loaded; in addImage, more
  // names to record besides `name` with `tags`).
  std::vector<ImageName> names;
  std::vector<BlobRef> blobs;  // the blobs the image uses, in order
  // The appc ID ↔ OCI digest map: an ACI's OCI translation (manifest digest, whose blobs are
  // in `blobs`), or an OCI image's ACI translation (appc ID).
  std::optional<std::string> translatedId;
  std::string appcManifest;  // ACIs: the image manifest JSON (dependencies, pathWhitelist)
  int64_t size = 0;          // 0 in addImage: the sum of the blob sizes
  int64_t importedAt = 0;    // unix seconds; 0 in addImage: now
  int64_t lastUsedAt = 0;
  friend bool operator==(const ImageRecord&, const ImageRecord&) = default;
};

// A name an image was fetched under, as `ferry run` takes it back: "docker://REPO:TAG" for a
// registry image, "oci:DIR:REF" for an OCI layout, "NAME:VERSION" (or NAME) for an appc image.
std::string displayName(const ImageRecord& r, const ImageName& n);
// The newest name of the image, as displayName writes it.
std::string displayName(const ImageRecord& r);

// Lookup by name (any of an image's names): appc labels must all match; with a tag, the image
// must carry that tag under that name.
struct NameQuery {
  std::string name;
  LabelList labels;
  std::optional<std::string> tag;
};

// What an HTTP fetch learnt about a URL, for pull policies and conditional requests.
struct Remote {
  std::string url;
  std::string etag;
  std::optional<int64_t> cacheMaxAgeSeconds;  // Cache-Control: max-age
  int64_t fetchedAt = 0;                      // unix seconds
  std::string imageId;
  // True while the cached answer is fresh (fetchedAt + max-age > now).
  bool fresh(int64_t now) const {
    return cacheMaxAgeSeconds && fetchedAt + *cacheMaxAgeSeconds > now;
  }
};

struct TreeInfo {
  std::string key;
  std::filesystem::path rootfs;  // trees/<key>/rootfs
  std::string contentHash;       // "sha256:<hex>" of the content listing
  int64_t size = 0;              // bytes of regular files
};

struct GcStats {
  int blobsRemoved = 0;
  int64_t bytesFreed = 0;  // blobs only
  int treesRemoved = 0;
  int tempsRemoved = 0;
};

// A blob being written into the store; see oci::BlobWriter. Holds the store's lock shared
// until it is committed or destroyed (destroying it uncommitted removes the temp file).
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) = delete;
  ~BlobWriter();

  // Failures (ENOSPC, EIO, a size above the expected one) name the blob and remove the temp file.
  void write(const void* data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }
  int64_t written() const;
  // See oci::BlobWriter::trustCallerDigest: the caller verifies the bytes itself.
  void trustCallerDigest();
  // Verifies the expected digest/size if given, fsyncs and renames into place.
  oci::BlobInfo commit();
  // The temporary file holding what was written so far (until commit).
  const std::string& tempPath() const;

 private:
  friend class Store;
  BlobWriter(std::string what, oci::BlobWriter writer, std::unique_ptr<LockHold> hold);
  std::string what_;
  std::optional<oci::BlobWriter> writer_;
  std::unique_ptr<LockHold> hold_;
};

// A tree rendered while its image is fetched, before the image is in the store: a fetch
// inflates each layer once, to verify it and to render it. Layers are applied in order, on any
// one thread (a draft does not use its Store); nothing reaches trees/ before Store::addTree(),
// and a draft destroyed before that is removed with its temp directory under tmp/.
class TreeDraft {
 public:
  TreeDraft(TreeDraft&&) noexcept;
  TreeDraft& operator=(TreeDraft&&) = delete;
  ~TreeDraft();

  const std::string& key() const { return key_; }
  // Applies the next layer from `blob` (as stored, compressed or not), refusing what
  // archive::checkLayer() refuses and what the extractor refuses; Error{kDigestMismatch} when
  // the uncompressed tar's sha256 is not `diffId`. `name` names the layer in the archive
  // reader's errors (its digest).
  void applyLayer(const std::filesystem::path& blob, const std::string& name, const Digest& diffId);
  // Hashes and syncs the complete tree (Store::addTree does it if not done): a fetch seals it
  // before it commits anything, so that this failing leaves the store as it was.
  void seal();

 private:
  friend class Store;
  TreeDraft(std::string key, const std::filesystem::path& tmpParent, std::filesystem::path target,
            std::unique_ptr<LockHold> hold);
  std::string key_;
  std::filesystem::path target_;  // trees/<key>
  std::optional<TreeInfo> info_;  // once sealed
  std::unique_ptr<LockHold> hold_;
  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<archive::Trash> trash_;
};

class Store {
 public:
  // Opens the store under `dir` (cas/ inside it), creating or migrating the index; refuses an
  // index written by a newer ferry (Error{kUnsupported}).
  static Store open(const std::filesystem::path& dir);
  // Starts opening the store under `dir` in a thread of its own, when it exists already (a
  // store is never created ahead: a request refused later must leave none behind); the next
  // open() of that `dir` in this process takes the connection (or the error) it made. For a pod
  // start: the index's open and schema (~0.6 ms) overlap the stage1's choice and the pod
  // directory's making.
  static void openAhead(const std::filesystem::path& dir);
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& casDir() const { return cas_; }
  int schemaVersion() const;

  // Holds the store's lock shared (a fetch session: blobs written and then referenced by
  // addImage are safe from a concurrent gc). Nests.
  LockHold lockShared();

  // For a pod start: what it writes (an image's and a tree's last use, at most once a minute)
  // stays in the index's write-ahead log instead of being checkpointed into the index when this
  // connection closes, which waits for three fdatasyncs (tens of milliseconds on a busy disk).
  // The next command that closes the store otherwise (fetch, image list, gc, …) checkpoints it;
  // until then every reader sees the log's commits. A start checkpoints at commit only once the
  // log holds kDeferredCheckpointPages pages (each start's open reads the log: it stays small).
  void deferCheckpoints();
  static constexpr int kDeferredCheckpointPages = 64;

  // --- Blobs
  // `what` names the blob in errors ("layer 2 of docker.io/library/alpine:3.19").
  BlobWriter newBlob(std::string what, DigestAlgorithm algorithm = DigestAlgorithm::kSha256,
                     std::optional<Digest> expected = std::nullopt,
                     std::optional<int64_t> expectedSize = std::nullopt);
  oci::BlobInfo putBlob(std::string_view bytes, std::string what,
                        DigestAlgorithm algorithm = DigestAlgorithm::kSha256);
  bool hasBlob(const Digest& d) const;
  std::optional<int64_t> blobSize(const Digest& d) const;
  std::filesystem::path blobPath(const Digest& d) const;
  // A reader that verifies size and digest as it reads; Error{kNotFound} when absent.
  oci::BlobReader openBlob(const Digest& d) const;
  std::vector<Digest> listBlobs() const;

  // --- Images
  // Inserts the record and its blob references in one transaction. Every referenced blob must
  // be in the store with its size (Error{kNotFound} / kDigestMismatch); the IDs must agree with
  // the blobs (an ACI's ID names its kAci blob, an OCI image's ID its kManifest blob). Adding an
  // existing ID is idempotent: new names and tags are added, a translation not yet known is
  // recorded, and an original (kOriginal) file replaces the one recorded before.
  // Returns the stored record.
  ImageRecord addImage(ImageRecord record);
  // By full ID, translated ID, or a unique prefix of at least 8 hex digits (with or without the
  // "sha512-"/"sha256:" prefix). Ambiguous prefixes are Error{kInvalid}.
  std::optional<ImageRecord> findImage(std::string_view ref) const;
  // The image that most recently got a matching name.
  std::optional<ImageRecord> findByName(const NameQuery& query) const;
  std::vector<ImageRecord> listImages() const;  // oldest import first
  bool removeImage(const std::string& id);      // the index only; blobs go at gc
  void touch(const std::string& id);

  // --- Remotes
  std::optional<Remote> remote(const std::string& url) const;
  void setRemote(const Remote& r);

  // --- Tree store
  // Renders the image's rootfs once (ACIs with their dependencies from the store, in the appc
  // order; OCI layers in order with whiteouts) and returns it; later calls return the same tree.
  TreeInfo renderTree(const std::string& imageId);
  std::optional<std::filesystem::path> treePath(const std::string& imageId) const;
  // Whether renderTree would find the image's tree already rendered (by any image with the
  // same content key).
  bool hasTree(const std::string& imageId) const;
  // Renders the image's rootfs as renderTree does, at `rootfs` (which must not exist) and
  // nowhere else: no tree is kept, hashed or synced (`ferry image render` into a directory of
  // the user's when the store holds no tree: one set of inodes instead of two).
  void renderRootfs(const std::string& imageId, const std::filesystem::path& rootfs) const;
  // The tree of an OCI image with these layers (base first) as a draft to render during its
  // fetch, or nullopt when the store has that tree already (by the same content key).
  std::optional<TreeDraft> draftOciTree(const std::vector<Digest>& layers);
  // Seals a complete draft (if not yet), moves it to trees/<key> and records it as the tree of
  // `imageId` (in the store already: addImage); returns it as renderTree would.
  TreeInfo addTree(TreeDraft draft, const std::string& imageId);

  // --- Maintenance
  // Rendered rootfs paths (trees/<key>/rootfs, as renderTree returned them) still in use.
  using TreesInUse = std::function<std::vector<std::filesystem::path>()>;
  // Deletes what no image uses and is older than gracePeriod. treesInUse is called once the
  // lock is held exclusively; the trees it names stay (with their entries) even without an image.
  GcStats gc(std::chrono::seconds gracePeriod, const TreesInUse& treesInUse = {});
  // Re-hashes every blob and rendered tree, checks every referenced blob exists and the index's
  // integrity. One line per problem; empty when clean.
  std::vector<std::string> verify();

 private:
  Store(std::filesystem::path cas, std::unique_ptr<sql::Db> db, std::unique_ptr<FileLock> lock);
  static Store openNow(const std::filesystem::path& dir);
  ImageRecord load(const std::string& id) const;
  TreeInfo renderInto(const ImageRecord& image, const std::string& key);
  void recordTree(const TreeInfo& info, const std::string& imageId);
  std::string treeKey(const ImageRecord& image) const;

  std::filesystem::path cas_;
  std::unique_ptr<sql::Db> db_;
  std::unique_ptr<FileLock> lock_;
};

// The hash recorded for a rendered tree: sha256 over a sorted listing of every entry below
// `root` (path, type, mode, uid, gid, size, content sha256 or link target or device numbers).
std::string hashTree(const std::filesystem::path& root, int64_t* fileBytes = nullptr);

}  // namespace ferry::store
