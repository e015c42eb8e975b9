// The tree store: rendered root filesystems under cas/trees/<key>/rootfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <exception>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "formats/appc/image_manifest.hpp"
#include "formats/archive/extract.hpp"
#include "formats/archive/layer.hpp"
#include "formats/archive/trash.hpp"
#include "stage0/convert/render.hpp"
#include "stage0/store/file_lock.hpp"
#include "stage0/store/sqlite.hpp"
#include "stage0/store/store.hpp"

namespace ferry::store {

namespace fs = std::filesystem;

namespace {

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

// A tree's last use is recorded to the minute (gc's grace periods are longer).
constexpr int64_t kTreeUseResolutionSeconds = 60;

// `synced`: the tree is synced as a whole once rendered (the tree store's), so each file's
// writeback starts as soon as it is written.
archive::ExtractOptions renderOptions(archive::Trash* trash = nullptr, bool synced = false) {
  archive::ExtractOptions o;
  o.ignoreXattrErrors = true;
  o.trash = trash;
  o.startWriteback = synced;
  return o;
}

const BlobRef* findRole(const ImageRecord& r, BlobRole role) {
  for (const BlobRef& b : r.blobs) {
    if (b.role == role) return &b;
  }
  return nullptr;
}

// An ACI in the store as convert::renderImages wants it: its uncompressed tar is the blob.
std::optional<convert::RenderImage> renderImageOf(const Store& store, const ImageRecord& r) {
  const BlobRef* aci = findRole(r, BlobRole::kAci);
  if (aci == nullptr || r.appcManifest.empty()) return std::nullopt;
  return convert::RenderImage{
      store.blobPath(aci->digest),
      appc::ImageManifest::parse(r.appcManifest, "manifest of image " + quote(r.id)),
      "sha512-" + aci->digest.hex(), 0};
}

std::vector<convert::RenderImage> aciRenderOrder(const Store& store, const ImageRecord& top) {
  std::optional<convert::RenderImage> self = renderImageOf(store, top);
  if (!self) {
    throw Error(Errc::kInvalid, "cannot render image " + quote(top.id) + ": it has no ACI");
  }
  auto find = [&](const appc::Dependency& dep) -> std::optional<convert::RenderImage> {
    std::optional<ImageRecord> r;
    if (dep.imageID) {
      r = store.findImage(dep.imageID->str());
    } else {
      NameQuery q{dep.imageName.str(), {}, std::nullopt};
      for (const auto& l : dep.labels) q.labels.emplace_back(l.name.str(), l.value);
      r = store.findByName(q);
    }
    if (!r) return std::nullopt;
    return renderImageOf(store, *r);
  };
  return convert::resolveDependencies(*self, find, "the image store");
}

void renderAci(const std::vector<convert::RenderImage>& order, const fs::path& rootfs,
               bool synced = false) {
  archive::Extractor x(rootfs, renderOptions(nullptr, synced), archive::Extractor::Target::kFresh,
                       order.front().path.string());
  convert::renderImages(order, [&](const archive::Entry& e, archive::Reader& r) { x.add(e, r); });
  x.commit();
}

// Applies one OCI layer from `blob` onto `rootfs`; `name` names it in the reader's errors.
archive::ReadResult applyOciLayer(const fs::path& blob, const std::string& name,
                                  const fs::path& rootfs, const archive::ReaderOptions& base,
                                  archive::Trash* trash, bool synced) {
  archive::ReaderOptions ro = base;
  ro.decompressAhead = true;  // inflated and hashed on another thread while files are made
  archive::Reader reader(openFile(blob, O_RDONLY), name, ro);
  return archive::applyLayer(reader, rootfs, renderOptions(trash, synced)).read;
}

void renderOci(const Store& store, const ImageRecord& image, const fs::path& rootfs,
               archive::Trash* trash = nullptr, bool synced = false) {
  fs::create_directory(rootfs);
  for (const BlobRef& b : image.blobs) {
    if (b.role != BlobRole::kLayer) continue;
    archive::ReaderOptions ro;
    ro.compressedDigest = b.digest.algorithm();
    fs::path blob = store.blobPath(b.digest);
    archive::ReadResult read = applyOciLayer(blob, blob.string(), rootfs, ro, trash, synced);
    if (read.compressedDigest != b.digest) {
      throw Error(Errc::kDigestMismatch,
                  "cannot render image " + quote(image.id) + ": layer " + b.digest.str() +
                      " has digest " +
                      (read.compressedDigest ? read.compressedDigest->str() : "?"));
    }
  }
}

std::string ociTreeKey(const std::vector<Digest>& layers) {
  Hasher h(DigestAlgorithm::kSha256);
  h.update("oci\n");
  for (const Digest& d : layers) h.update(d.str() + "\n");
  return h.finishHex();
}

char typeChar(mode_t m) {
  if (S_ISREG(m)) return 'f';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  if (S_ISFIFO(m)) return 'p';
  return 's';
}

std::string hashFile(const fs::path& p) {
  UniqueFd fd = openFile(p, O_RDONLY | O_NOFOLLOW);
  Hasher h(DigestAlgorithm::kSha256);
  std::string buf(1 << 16, '\0');
  while (size_t n = readFull(fd.get(), buf.data(), buf.size(), p.string())) {
    h.update(buf.data(), n);
    if (n < buf.size()) break;
  }
  return h.finishHex();
}

void syncTree(const fs::path& dir) {
  UniqueFd fd = openFile(dir, O_RDONLY | O_DIRECTORY);
  if (::syncfs(fd.get()) != 0) throwErrno("sync the file system of " + quote(dir.string()));
}

// A rendered rootfs made ready to move to `target`: hashed, its trash emptied, synced.
TreeInfo sealTree(const fs::path& rootfs, archive::Trash& trash, const std::string& key,
                  const fs::path& target) {
  TreeInfo info{key, target / "rootfs", "", 0};
  info.contentHash = hashTree(rootfs, &info.size);
  trash.finish();
  syncTree(rootfs);
  return info;
}

void moveTree(TempDir& tmp, const fs::path& target) {
  if (::rename(tmp.path().c_str(), target.c_str()) != 0) {
    // Another process rendered the same content first: keep its tree (same key, same
    // content, so the same hash); ours goes with `tmp`.
    if (errno != EEXIST && errno != ENOTEMPTY) {
      throwErrno("rename tree into " + quote(target.string()));
    }
  } else {
    tmp.release();
    syncDir(target.parent_path());
  }
}

}  // namespace

std::string hashTree(const fs::path& root, int64_t* fileBytes) {
  std::vector<std::string> paths = {""};
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    paths.push_back(it->path().lexically_relative(root).string());
  }
  if (ec) throw std::system_error(ec, "cannot list tree " + quote(root.string()));
  std::sort(paths.begin(), paths.end());
  std::vector<struct stat> stats(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    fs::path p = paths[i].empty() ? root : root / paths[i];
    if (::lstat(p.c_str(), &stats[i]) != 0) throwErrno("stat " + quote(p.string()));
  }
  // File contents are hashed on a few threads (reading and hashing a rootfs is most of this
  // function's time); the listing is then assembled in order, so the result does not depend on
  // the thread count.
  std::vector<std::string> contents(paths.size());
  std::atomic<size_t> next{0};
  std::mutex failureMutex;
  std::exception_ptr failure;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < paths.size();) {
      if (!S_ISREG(stats[i].st_mode)) continue;
      try {
        contents[i] = hashFile(root / paths[i]);
      } catch (...) {
        std::lock_guard lock(failureMutex);
        if (!failure) failure = std::current_exception();
        next.store(paths.size());
      }
    }
  };
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);

  Hasher listing(DigestAlgorithm::kSha256);
  int64_t bytes = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& rel = paths[i];
    const struct stat& st = stats[i];
    std::string extra;
    uint64_t size = 0;
    if (S_ISREG(st.st_mode)) {
      size = static_cast<uint64_t>(st.st_size);
      bytes += st.st_size;
      extra = std::move(contents[i]);
    } else if (S_ISLNK(st.st_mode)) {
      extra = fs::read_symlink(rel.empty() ? root : root / rel).string();
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      extra = std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
    }
    std::string line = rel;
    for (const std::string& field :
         {std::string(1, typeChar(st.st_mode)), std::to_string(st.st_mode & 07777),
          std::to_string(st.st_uid), std::to_string(st.st_gid), std::to_string(size), extra}) {
      line += '\0';
      line += field;
    }
    line += '\n';
    listing.update(line);
  }
  if (fileBytes != nullptr) *fileBytes = bytes;
  return "sha256:" + listing.finishHex();
}

std::string Store::treeKey(const ImageRecord& image) const {
  if (image.kind == ImageKind::kOci) {
    std::vector<Digest> layers;
    for (const BlobRef& b : image.blobs) {
      if (b.role == BlobRole::kLayer) layers.push_back(b.digest);
    }
    return ociTreeKey(layers);
  }
  std::vector<convert::RenderImage> order = aciRenderOrder(*this, image);
  if (order.size() == 1) return order.front().id.substr(7);  // the image ID's hex
  Hasher h(DigestAlgorithm::kSha256);
  h.update("aci\n");
  for (const auto& img : order) h.update(img.id + " " + std::to_string(img.level) + "\n");
  return h.finishHex();
}

std::optional<fs::path> Store::treePath(const std::string& imageId) const {
  sql::Stmt q(*db_, "SELECT tree_key FROM image_trees WHERE image_id = ?", "look up a tree");
  q.bind(1, imageId);
  if (!q.step()) return std::nullopt;
  fs::path p = cas_ / "trees" / q.text(0) / "rootfs";
  if (!fs::is_directory(p)) return std::nullopt;
  return p;
}

bool Store::hasTree(const std::string& imageId) const {
  ImageRecord image = load(imageId);
  std::string key = treeKey(image);
  sql::Stmt q(*db_, "SELECT 1 FROM trees WHERE key = ?", "look up a tree");
  q.bind(1, key);
  return q.step() && fs::is_directory(cas_ / "trees" / key / "rootfs");
}

void Store::renderRootfs(const std::string& imageId, const fs::path& rootfs) const {
  ImageRecord image = load(imageId);
  if (image.kind == ImageKind::kOci) {
    renderOci(*this, image, rootfs);
  } else {
    renderAci(aciRenderOrder(*this, image), rootfs);
  }
}

TreeInfo Store::renderTree(const std::string& imageId) {
  ImageRecord image = load(imageId);
  LockHold hold(*lock_, LockHold::Mode::kShared);
  std::string key = treeKey(image);
  fs::path dir = cas_ / "trees" / key;
  std::optional<TreeInfo> existing;
  bool recordedNow = false;
  {
    // (The statements end before the write transaction begins: a read still open in this
    // connection would pin an old snapshot and make the upgrade fail with SQLITE_BUSY.)
    sql::Stmt q(*db_, "SELECT content_hash, size, last_used_at FROM trees WHERE key = ?",
                "look up a tree");
    q.bind(1, key);
    if (q.step()) {
      existing = TreeInfo{key, dir / "rootfs", q.text(0), q.integer(1)};
      sql::Stmt l(*db_, "SELECT 1 FROM image_trees WHERE image_id = ? AND tree_key = ?",
                  "look up a tree");
      l.bind(1, image.id).bind(2, key);
      recordedNow = q.integer(2) >= now() - kTreeUseResolutionSeconds && l.step();
    }
  }
  if (existing && fs::is_directory(existing->rootfs)) {
    // A warm start writes nothing when the tree's use is already recorded to the minute: the
    // write would cost the index's checkpoint (two fsyncs) when the store closes.
    if (recordedNow) return *existing;
    sql::Transaction tx(*db_, "record tree " + key);
    sql::Stmt link(*db_, "INSERT OR REPLACE INTO image_trees (image_id, tree_key) VALUES (?, ?)",
                   "record a tree");
    link.bind(1, image.id).bind(2, key).run();
    sql::Stmt used(*db_, "UPDATE trees SET last_used_at = ? WHERE key = ?", "record a tree");
    used.bind(1, now()).bind(2, key).run();
    tx.commit();
    return *existing;
  }
  TreeInfo info = renderInto(image, key);
  recordTree(info, image.id);
  return info;
}

void Store::recordTree(const TreeInfo& info, const std::string& imageId) {
  sql::Transaction tx(*db_, "record tree " + info.key);
  sql::Stmt t(*db_,
              "INSERT INTO trees (key, content_hash, size, created_at, last_used_at) "
              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
              "last_used_at = excluded.last_used_at",
              "record a tree");
  t.bind(1, info.key)
      .bind(2, info.contentHash)
      .bind(3, info.size)
      .bind(4, now())
      .bind(5, now())
      .run();
  sql::Stmt link(*db_, "INSERT OR REPLACE INTO image_trees (image_id, tree_key) VALUES (?, ?)",
                 "record a tree");
  link.bind(1, imageId).bind(2, info.key).run();
  tx.commit();
}

std::optional<TreeDraft> Store::draftOciTree(const std::vector<Digest>& layers) {
  auto hold = std::make_unique<LockHold>(*lock_, LockHold::Mode::kShared);
  std::string key = ociTreeKey(layers);
  {
    sql::Stmt q(*db_, "SELECT 1 FROM trees WHERE key = ?", "look up a tree");
    q.bind(1, key);
    if (q.step() && fs::is_directory(cas_ / "trees" / key / "rootfs")) return std::nullopt;
  }
  fs::path target = cas_ / "trees" / key;
  return TreeDraft(std::move(key), cas_ / "tmp", std::move(target), std::move(hold));
}

TreeInfo Store::addTree(TreeDraft draft, const std::string& imageId) {
  try {
    if (!draft.info_) draft.seal();
    moveTree(*draft.tmp_, draft.target_);
    recordTree(*draft.info_, imageId);
    return *draft.info_;
  } catch (const std::exception& e) {
    std::throw_with_nested(
        Error(dynamic_cast<const Error*>(&e) != nullptr ? dynamic_cast<const Error*>(&e)->code()
                                                        : Errc::kIo,
              "cannot store the tree of image " + quote(imageId) + ": " + e.what()));
  }
}

TreeDraft::TreeDraft(std::string key, const fs::path& tmpParent, fs::path target,
                     std::unique_ptr<LockHold> hold)
    : key_(std::move(key)), target_(std::move(target)), hold_(std::move(hold)) {
  tmp_ = std::make_unique<TempDir>(tmpParent, "tree-");
  fs::create_directory(tmp_->path() / "rootfs");
  // What later layers delete or replace goes to a trash beside the rootfs (trash.hpp).
  trash_ = std::make_unique<archive::Trash>(tmp_->path() / "trash");
}

TreeDraft::TreeDraft(TreeDraft&&) noexcept = default;

TreeDraft::~TreeDraft() {
  // The trash's thread stops before its directory goes with the temp directory.
  trash_.reset();
  tmp_.reset();
}

void TreeDraft::seal() { info_ = sealTree(tmp_->path() / "rootfs", *trash_, key_, target_); }

void TreeDraft::applyLayer(const fs::path& blob, const std::string& name, const Digest& diffId) {
  archive::ReaderOptions ro;
  ro.uncompressedDigest = diffId.algorithm();
  archive::ReadResult read =
      applyOciLayer(blob, name, tmp_->path() / "rootfs", ro, trash_.get(), true);
  if (read.uncompressedDigest != diffId) {
    throw Error(Errc::kDigestMismatch,
                "the uncompressed layer has digest " +
                    (read.uncompressedDigest ? read.uncompressedDigest->str() : std::string("?")) +
                    ", the config's rootfs.diff_ids says " + diffId.str());
  }
}

TreeInfo Store::renderInto(const ImageRecord& image, const std::string& key) {
  fs::path target = cas_ / "trees" / key;
  try {
    TempDir tmp(cas_ / "tmp", "tree-");
    fs::path rootfs = tmp.path() / "rootfs";
    // What later layers delete or replace goes to a trash beside the rootfs, deleted while the
    // extraction and the hash go on (trash.hpp).
    archive::Trash trash(tmp.path() / "trash");
    if (image.kind == ImageKind::kOci) {
      renderOci(*this, image, rootfs, &trash, true);
    } else {
      renderAci(aciRenderOrder(*this, image), rootfs, true);
    }
    TreeInfo info = sealTree(rootfs, trash, key, target);
    moveTree(tmp, target);
    return info;
  } catch (const std::exception& e) {
    std::throw_with_nested(Error(dynamic_cast<const Error*>(&e) != nullptr
                                     ? dynamic_cast<const Error*>(&e)->code()
                                     : Errc::kIo,
                                 "cannot render image " + quote(image.id) + " into " +
                                     quote(target.string()) + ": " + e.what()));
  }
}

}  // namespace ferry::store
