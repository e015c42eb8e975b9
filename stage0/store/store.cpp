#include "stage0/store/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/appc/image_id.hpp"
#include "stage0/store/file_lock.hpp"
#include "stage0/store/schema.hpp"
#include "stage0/store/sqlite.hpp"

namespace ferry::store {

namespace fs = std::filesystem;

namespace {

constexpr int kBusyTimeoutMs = 120'000;

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

// Rethrows the current exception with the blob named: "cannot store blob <what>: <cause>".
[[noreturn]] void rethrowNamed(const std::string& what) {
  try {
    throw;
  } catch (const std::exception& e) {
    const auto* fe = dynamic_cast<const Error*>(&e);
    std::throw_with_nested(Error(fe != nullptr ? fe->code() : Errc::kIo,
                                 "cannot store blob " + what + ": " + e.what()));
  }
}

BlobRole parseRole(std::string_view s) {
  if (s == "aci") return BlobRole::kAci;
  if (s == "original") return BlobRole::kOriginal;
  if (s == "manifest") return BlobRole::kManifest;
  if (s == "config") return BlobRole::kConfig;
  if (s == "layer") return BlobRole::kLayer;
  throw Error(Errc::kInvalid, "unknown blob role " + quote(s) + " in the image index");
}

bool isWal(sql::Db& db) {
  sql::Stmt q(db, "PRAGMA journal_mode", "read the journal mode");
  return q.step() && q.text(0) == "wal";
}

// The first use of a store switches its index to WAL, once. Two processes switching at once
// deadlock inside SQLite (each holds a shared lock and wants the exclusive one), and SQLite
// then returns SQLITE_BUSY without calling the busy handler: the switch happens under the
// store's exclusive flock, so only one process makes it and the others find it made. Later
// opens see "wal" and take no lock.
void setWal(sql::Db& db, FileLock& lock) {
  if (isWal(db)) return;
  LockHold hold(lock, LockHold::Mode::kExclusive);
  if (isWal(db)) return;
  sql::Stmt s(db, "PRAGMA journal_mode = WAL", "switch to write-ahead logging");
  if (!s.step() || s.text(0) != "wal") {
    throw Error(Errc::kIo, "cannot switch the image index " + quote(db.path()) + " to WAL");
  }
}

// "sha512-<hex>" for a kAci blob's digest.
std::string appcIdOf(const Digest& d) { return "sha512-" + d.hex(); }

void validate(const ImageRecord& r) {
  auto bad = [&](const std::string& why) {
    throw Error(Errc::kInvalid, "cannot add image " + quote(r.id) + ": " + why);
  };
  if (r.name.empty()) bad("it has no name");
  const BlobRef* aci = nullptr;
  const BlobRef* manifest = nullptr;
  const BlobRef* original = nullptr;
  for (const ImageName& n : r.names) {
    if (n.name.empty()) bad("it has an empty name");
  }
  for (const BlobRef& b : r.blobs) {
    if (b.role == BlobRole::kOriginal) {
      if (original != nullptr) bad("it references two original ACI files");
      if (b.digest.algorithm() != DigestAlgorithm::kSha512) bad("its original ACI is not sha512");
      original = &b;
    }
    if (b.role == BlobRole::kAci) {
      if (aci != nullptr) bad("it references two ACIs");
      if (b.digest.algorithm() != DigestAlgorithm::kSha512) bad("its ACI blob is not sha512");
      aci = &b;
    }
    if (b.role == BlobRole::kManifest) {
      if (manifest != nullptr) bad("it references two manifests");
      manifest = &b;
    }
  }
  if (original != nullptr && aci == nullptr) bad("it has an original ACI file but no ACI");
  if (r.kind == ImageKind::kAci) {
    appc::ImageId::parse(r.id);
    if (aci == nullptr || appcIdOf(aci->digest) != r.id) bad("its ACI blob is not " + r.id);
    if (r.appcManifest.empty()) bad("its appc manifest is missing");
    if (manifest != nullptr && r.translatedId != manifest->digest.str()) {
      bad("its OCI translation's manifest is not the translated ID");
    }
  } else {
    Digest::parse(r.id);
    if (manifest == nullptr || manifest->digest.str() != r.id)
      bad("its manifest blob is not " + r.id);
    if (aci != nullptr && r.translatedId != appcIdOf(aci->digest)) {
      bad("its ACI translation is not the translated ID");
    }
  }
}

}  // namespace

std::string_view kindName(ImageKind k) { return k == ImageKind::kAci ? "aci" : "oci"; }

std::string_view roleName(BlobRole r) {
  switch (r) {
    case BlobRole::kAci:
      return "aci";
    case BlobRole::kOriginal:
      return "original";
    case BlobRole::kManifest:
      return "manifest";
    case BlobRole::kConfig:
      return "config";
    case BlobRole::kLayer:
      return "layer";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// BlobWriter

BlobWriter::BlobWriter(std::string what, oci::BlobWriter writer, std::unique_ptr<LockHold> hold)
    : what_(std::move(what)), writer_(std::move(writer)), hold_(std::move(hold)) {}

BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : what_(std::move(o.what_)), hold_(std::move(o.hold_)) {
  if (o.writer_) writer_.emplace(std::move(*o.writer_));
  o.writer_.reset();
}

BlobWriter::~BlobWriter() = default;

void BlobWriter::write(const void* data, size_t size) {
  if (!writer_)
    throw Error(Errc::kInvalid, "cannot store blob " + what_ + ": the writer is closed");
  try {
    writer_->write(data, size);
  } catch (...) {
    writer_.reset();  // removes the temp file
    hold_.reset();
    rethrowNamed(what_);
  }
}

int64_t BlobWriter::written() const { return writer_ ? writer_->written() : 0; }

const std::string& BlobWriter::tempPath() const {
  static const std::string kNone;
  return writer_ ? writer_->tempPath() : kNone;
}

void BlobWriter::trustCallerDigest() {
  if (!writer_)
    throw Error(Errc::kInvalid, "cannot store blob " + what_ + ": the writer is closed");
  writer_->trustCallerDigest();
}

oci::BlobInfo BlobWriter::commit() {
  if (!writer_)
    throw Error(Errc::kInvalid, "cannot store blob " + what_ + ": the writer is closed");
  try {
    oci::BlobInfo info = writer_->commit();
    writer_.reset();
    hold_.reset();
    return info;
  } catch (...) {
    writer_.reset();
    hold_.reset();
    rethrowNamed(what_);
  }
}

// ---------------------------------------------------------------------------------------------
// Store: opening

Store::Store(fs::path cas, std::unique_ptr<sql::Db> db, std::unique_ptr<FileLock> lock)
    : cas_(std::move(cas)), db_(std::move(db)), lock_(std::move(lock)) {}
Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

namespace {

// The store openAhead() is opening, for the next open() of the same directory.
struct AheadOpen {
  fs::path dir;
  std::future<Store> store;
};
std::mutex aheadMutex;
std::optional<AheadOpen> ahead;

fs::path normalDir(const fs::path& dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(dir, ec);
  return (ec ? dir : abs).lexically_normal();
}

}  // namespace

void Store::openAhead(const fs::path& dir) {
  fs::path d = normalDir(dir);
  if (::access((d / "cas" / "index.db").c_str(), F_OK) != 0) return;
  std::lock_guard<std::mutex> hold(aheadMutex);
  if (ahead) return;
  ahead = AheadOpen{d, std::async(std::launch::async, [d] { return openNow(d); })};
}

Store Store::open(const fs::path& dir) {
  std::future<Store> pending;
  {
    std::lock_guard<std::mutex> hold(aheadMutex);
    if (ahead && ahead->dir == normalDir(dir)) {
      pending = std::move(ahead->store);
      ahead.reset();
    }
  }
  if (pending.valid()) return pending.get();
  return openNow(dir);
}

Store Store::openNow(const fs::path& dir) {
  fs::path cas = dir / "cas";
  try {
    // Root's alone, like pod state: rendered trees hold the images' setuid binaries, and a
    // private registry's images are no business of other users. cas/ is 0700 (an older
    // ferry's 0755 is tightened here), and each tree directory is 0700 as well (renderInto).
    makeDirs(dir, 0700);
    makePrivateDir(cas);
    for (const char* sub : {"blobs/sha256", "blobs/sha512", "tmp", "trees"}) {
      fs::create_directories(cas / sub);
    }
    auto lock = std::make_unique<FileLock>(cas / "lock");
    auto db = std::make_unique<sql::Db>(cas / "index.db", kBusyTimeoutMs);
    setWal(*db, *lock);
    // synchronous=NORMAL: in WAL mode a commit is not fsynced, only checkpoints are. The index
    // stays consistent after a crash of ferry or of the machine (a power loss may forget the
    // last commits: their blobs are then unreferenced and gc takes them), and a pod start does
    // not wait for the disk.
    // journal_size_limit: the -wal file (kept between processes, see sql::Db) is emptied when
    // the last connection closes, so the next process neither replays nor re-checkpoints it.
    db->exec(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; "
        "PRAGMA journal_size_limit = 1048576",
        "configure the connection");
    migrate(*db);
    return Store(cas, std::move(db), std::move(lock));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::throw_with_nested(
        Error(Errc::kIo, "cannot open the image store " + quote(cas.string()) + ": " + e.what()));
  }
}

int Store::schemaVersion() const {
  sql::Stmt q(*db_, "SELECT version FROM schema_version", "read the schema version");
  return q.step() ? static_cast<int>(q.integer(0)) : 0;
}

LockHold Store::lockShared() { return LockHold(*lock_, LockHold::Mode::kShared); }

void Store::deferCheckpoints() {
  int rc = sqlite3_db_config(db_->get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  if (rc != SQLITE_OK) db_->fail(rc, "keep the write-ahead log at close");
  db_->exec("PRAGMA wal_autocheckpoint = " + std::to_string(kDeferredCheckpointPages),
            "bound the write-ahead log");
}

// ---------------------------------------------------------------------------------------------
// Blobs

BlobWriter Store::newBlob(std::string what, DigestAlgorithm algorithm,
                          std::optional<Digest> expected, std::optional<int64_t> expectedSize) {
  auto hold = std::make_unique<LockHold>(*lock_, LockHold::Mode::kShared);
  try {
    oci::BlobWriter w(cas_, std::move(expected), expectedSize, algorithm);
    return BlobWriter(what, std::move(w), std::move(hold));
  } catch (...) {
    rethrowNamed(what);
  }
}

oci::BlobInfo Store::putBlob(std::string_view bytes, std::string what, DigestAlgorithm algorithm) {
  BlobWriter w = newBlob(std::move(what), algorithm);
  w.write(bytes);
  return w.commit();
}

fs::path Store::blobPath(const Digest& d) const { return cas_ / oci::blobPath(d); }

bool Store::hasBlob(const Digest& d) const { return blobSize(d).has_value(); }

std::optional<int64_t> Store::blobSize(const Digest& d) const {
  struct stat st;
  if (::stat(blobPath(d).c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throwErrno("stat blob " + quote(blobPath(d).string()));
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<int64_t>(st.st_size);
}

oci::BlobReader Store::openBlob(const Digest& d) const {
  fs::path p = blobPath(d);
  int raw = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) {
      throw Error(Errc::kNotFound, "cannot open blob " + d.str() + ": not in the image store");
    }
    throwErrno("open blob " + quote(p.string()));
  }
  UniqueFd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat blob " + quote(p.string()));
  return oci::BlobReader(std::move(fd), d, static_cast<int64_t>(st.st_size), p.string());
}

std::vector<Digest> Store::listBlobs() const {
  std::vector<Digest> out;
  for (DigestAlgorithm a : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    fs::path dir = cas_ / "blobs" / std::string(algorithmName(a));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      if (name.size() == hexLength(a) && isLowerHex(name)) out.emplace_back(a, name);
    }
    if (ec) throw std::system_error(ec, "cannot list " + quote(dir.string()));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Images

ImageRecord Store::load(const std::string& id) const {
  sql::ReadTransaction snapshot(*db_);
  sql::Stmt q(*db_,
              "SELECT kind, name, translated_id, appc_manifest, size, imported_at, last_used_at "
              "FROM images WHERE id = ?",
              "read an image");
  q.bind(1, id);
  if (!q.step()) throw Error(Errc::kNotFound, "cannot find image " + quote(id));
  ImageRecord r;
  r.id = id;
  r.kind = q.text(0) == "aci" ? ImageKind::kAci : ImageKind::kOci;
  r.name = q.text(1);
  if (!q.isNull(2)) r.translatedId = q.text(2);
  r.appcManifest = q.text(3);
  r.size = q.integer(4);
  r.importedAt = q.integer(5);
  r.lastUsedAt = q.integer(6);
  sql::Stmt l(*db_, "SELECT name, value FROM image_labels WHERE image_id = ? ORDER BY position",
              "read image labels");
  l.bind(1, id);
  while (l.step()) r.labels.emplace_back(l.text(0), l.text(1));
  sql::Stmt n(*db_, "SELECT name, tag FROM image_names WHERE image_id = ? ORDER BY added_at, rowid",
              "read image names");
  n.bind(1, id);
  while (n.step()) r.names.push_back(ImageName{n.text(0), n.text(1)});
  sql::Stmt t(*db_,
              "SELECT DISTINCT tag FROM image_names WHERE image_id = ? AND tag != '' ORDER BY tag",
              "read image tags");
  t.bind(1, id);
  while (t.step()) r.tags.push_back(t.text(0));
  sql::Stmt b(*db_,
              "SELECT role, digest, size, media_type FROM image_blobs WHERE image_id = ? "
              "ORDER BY position",
              "read image blobs");
  b.bind(1, id);
  while (b.step()) {
    r.blobs.push_back(
        BlobRef{parseRole(b.text(0)), Digest::parse(b.text(1)), b.integer(2), b.text(3)});
  }
  return r;
}

namespace {

void insertBlobs(sql::Db& db, const ImageRecord& r) {
  sql::Stmt del(db, "DELETE FROM image_blobs WHERE image_id = ?", "replace image blobs");
  del.bind(1, r.id).run();
  for (size_t i = 0; i < r.blobs.size(); ++i) {
    const BlobRef& b = r.blobs[i];
    sql::Stmt s(db,
                "INSERT INTO image_blobs (image_id, position, role, digest, size, media_type) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                "record image blobs");
    s.bind(1, r.id)
        .bind(2, static_cast<int64_t>(i))
        .bind(3, roleName(b.role))
        .bind(4, b.digest.str())
        .bind(5, b.size)
        .bind(6, b.mediaType)
        .run();
  }
}

// Records r.name (alone and with each of r.tags) and r.names. A tag moves: the same name and
// tag on another image is taken from it. A name recorded again counts as added now.
void insertNames(sql::Db& db, const ImageRecord& r, int64_t at) {
  std::vector<ImageName> names = {{r.name, ""}};
  for (const std::string& tag : r.tags) names.push_back({r.name, tag});
  for (const ImageName& n : r.names) {
    names.push_back({n.name, ""});
    names.push_back(n);
  }
  for (const ImageName& n : names) {
    if (!n.tag.empty()) {
      sql::Stmt d(db, "DELETE FROM image_names WHERE name = ? AND tag = ? AND image_id != ?",
                  "move a tag");
      d.bind(1, n.name).bind(2, n.tag).bind(3, r.id).run();
    }
    sql::Stmt s(db,
                "INSERT INTO image_names (image_id, name, tag, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (image_id, name, tag) DO UPDATE SET added_at = excluded.added_at",
                "record image names");
    s.bind(1, r.id).bind(2, n.name).bind(3, n.tag).bind(4, at).run();
  }
}

// Bytes the blobs take (an uncompressed ACI's original is its tar: counted once).
int64_t distinctSize(const std::vector<BlobRef>& blobs) {
  int64_t total = 0;
  for (size_t i = 0; i < blobs.size(); ++i) {
    bool seen = false;
    for (size_t j = 0; j < i; ++j) seen = seen || blobs[j].digest == blobs[i].digest;
    if (!seen) total += blobs[i].size;
  }
  return total;
}

const BlobRef* findRole(const std::vector<BlobRef>& blobs, BlobRole role) {
  for (const BlobRef& b : blobs) {
    if (b.role == role) return &b;
  }
  return nullptr;
}

}  // namespace

ImageRecord Store::addImage(ImageRecord r) {
  validate(r);
  LockHold hold(*lock_, LockHold::Mode::kShared);
  // Under the shared lock no gc runs, so blobs checked here stay until the transaction commits.
  for (const BlobRef& b : r.blobs) {
    std::optional<int64_t> size = blobSize(b.digest);
    if (!size) {
      throw Error(Errc::kNotFound, "cannot add image " + quote(r.id) + ": its " +
                                       std::string(roleName(b.role)) + " blob " + b.digest.str() +
                                       " is not in the store");
    }
    if (*size != b.size) {
      throw Error(Errc::kDigestMismatch, "cannot add image " + quote(r.id) + ": blob " +
                                             b.digest.str() + " has " + std::to_string(*size) +
                                             " bytes, the image says " + std::to_string(b.size));
    }
  }
  if (r.size == 0) r.size = distinctSize(r.blobs);
  if (r.importedAt == 0) r.importedAt = now();
  if (r.lastUsedAt == 0) r.lastUsedAt = r.importedAt;

  sql::Transaction tx(*db_, "add image " + r.id);
  sql::Stmt exists(*db_, "SELECT translated_id FROM images WHERE id = ?", "look up an image");
  exists.bind(1, r.id);
  if (exists.step()) {
    // Idempotent: keep the record, add what is new (names and tags; a translation or an
    // original file not known before).
    bool hadTranslation = !exists.isNull(0);
    insertNames(*db_, r, now());
    if (!hadTranslation && r.translatedId) {
      sql::Stmt u(*db_, "UPDATE images SET translated_id = ?, size = ? WHERE id = ?",
                  "record an image translation");
      u.bind(1, r.translatedId).bind(2, r.size).bind(3, r.id).run();
      insertBlobs(*db_, r);
    }
    // The same image fetched from another file (another compression): that file is now the
    // one export writes; the previous one goes at gc.
    const BlobRef* original = findRole(r.blobs, BlobRole::kOriginal);
    ImageRecord stored = load(r.id);
    const BlobRef* had = findRole(stored.blobs, BlobRole::kOriginal);
    if (original != nullptr && (had == nullptr || !(*had == *original))) {
      std::erase_if(stored.blobs, [](const BlobRef& b) { return b.role == BlobRole::kOriginal; });
      stored.blobs.push_back(*original);
      sql::Stmt u(*db_, "UPDATE images SET size = ? WHERE id = ?",
                  "record an image's original file");
      u.bind(1, distinctSize(stored.blobs)).bind(2, r.id).run();
      insertBlobs(*db_, stored);
    }
  } else {
    sql::Stmt s(*db_,
                "INSERT INTO images (id, kind, name, translated_id, appc_manifest, size, "
                "imported_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                "add an image");
    s.bind(1, r.id)
        .bind(2, kindName(r.kind))
        .bind(3, r.name)
        .bind(4, r.translatedId)
        .bind(5, r.appcManifest)
        .bind(6, r.size)
        .bind(7, r.importedAt)
        .bind(8, r.lastUsedAt)
        .run();
    for (size_t i = 0; i < r.labels.size(); ++i) {
      sql::Stmt l(*db_,
                  "INSERT INTO image_labels (image_id, position, name, value) VALUES (?, ?, ?, ?)",
                  "record image labels");
      l.bind(1, r.id)
          .bind(2, static_cast<int64_t>(i))
          .bind(3, r.labels[i].first)
          .bind(4, r.labels[i].second)
          .run();
    }
    insertNames(*db_, r, r.importedAt);
    insertBlobs(*db_, r);
  }
  tx.commit();
  return load(r.id);
}

std::optional<ImageRecord> Store::findImage(std::string_view ref) const {
  std::string s(ref);
  sql::ReadTransaction snapshot(*db_);
  {
    sql::Stmt q(*db_,
                "SELECT id FROM images WHERE id = ? OR translated_id = ? ORDER BY id = ? DESC",
                "look up an image");
    q.bind(1, s).bind(2, s).bind(3, s);
    if (q.step()) return load(q.text(0));
  }
  // A prefix: "sha512-…", "sha512:…", "sha256:…" or bare hex.
  std::string pattern;
  std::string hex = s;
  if (s.starts_with("sha512-") || s.starts_with("sha512:")) {
    pattern = "sha512-";
    hex = s.substr(7);
  } else if (s.starts_with("sha256:")) {
    pattern = "sha256:";
    hex = s.substr(7);
  } else {
    pattern = "_______";  // either prefix: both are seven characters
  }
  if (hex.size() < 8 || !isLowerHex(hex)) return std::nullopt;
  sql::Stmt q(*db_, "SELECT id FROM images WHERE id LIKE ? ORDER BY id LIMIT 2",
              "look up an image by prefix");
  q.bind(1, pattern + hex + "%");
  if (!q.step()) return std::nullopt;
  std::string first = q.text(0);
  if (q.step()) {
    throw Error(Errc::kInvalid, "image ID prefix " + quote(s) + " is ambiguous: it matches " +
                                    first + " and " + q.text(0));
  }
  return load(first);
}

std::optional<ImageRecord> Store::findByName(const NameQuery& query) const {
  sql::ReadTransaction snapshot(*db_);
  sql::Stmt q(*db_,
              "SELECT image_id FROM image_names WHERE name = ? AND (? IS NULL OR tag = ?) "
              "GROUP BY image_id ORDER BY MAX(added_at) DESC, MAX(rowid) DESC",
              "look up an image by name");
  q.bind(1, query.name).bind(2, query.tag).bind(3, query.tag);
  while (q.step()) {
    ImageRecord r = load(q.text(0));
    bool match = true;
    for (const auto& [name, value] : query.labels) {
      bool found = false;
      for (const auto& l : r.labels) found = found || (l.first == name && l.second == value);
      match = match && found;
    }
    if (match) return r;
  }
  return std::nullopt;
}

std::vector<ImageRecord> Store::listImages() const {
  std::vector<ImageRecord> out;
  sql::ReadTransaction snapshot(*db_);
  sql::Stmt q(*db_, "SELECT id FROM images ORDER BY imported_at, rowid", "list images");
  while (q.step()) out.push_back(load(q.text(0)));
  return out;
}

bool Store::removeImage(const std::string& id) {
  sql::Transaction tx(*db_, "remove image " + id);
  sql::Stmt d(*db_, "DELETE FROM images WHERE id = ?", "remove an image");
  d.bind(1, id).run();
  bool removed = d.changes() > 0;
  sql::Stmt r(*db_, "DELETE FROM remotes WHERE image_id = ?", "forget the image's remotes");
  r.bind(1, id).run();
  tx.commit();
  return removed;
}

void Store::touch(const std::string& id) {
  sql::Transaction tx(*db_, "mark image " + id + " used");
  sql::Stmt u(*db_, "UPDATE images SET last_used_at = ? WHERE id = ?", "mark an image used");
  u.bind(1, now()).bind(2, id).run();
  tx.commit();
}

std::string displayName(const ImageRecord& r, const ImageName& n) {
  if (r.kind == ImageKind::kAci) {
    for (const auto& [k, v] : r.labels) {
      if (k == "version") return n.name + ":" + v;
    }
    return n.name;
  }
  std::string base = n.name.starts_with("oci:") ? n.name : std::string("docker://") + n.name;
  return n.tag.empty() ? base : base + ":" + n.tag;
}

std::string displayName(const ImageRecord& r) {
  if (!r.names.empty()) return displayName(r, r.names.back());
  ImageName n{r.name, r.tags.empty() ? "" : r.tags.front()};
  return displayName(r, n);
}

// ---------------------------------------------------------------------------------------------
// Remotes

std::optional<Remote> Store::remote(const std::string& url) const {
  sql::Stmt q(*db_, "SELECT etag, cache_max_age, fetched_at, image_id FROM remotes WHERE url = ?",
              "look up a remote");
  q.bind(1, url);
  if (!q.step()) return std::nullopt;
  Remote r;
  r.url = url;
  r.etag = q.text(0);
  if (!q.isNull(1)) r.cacheMaxAgeSeconds = q.integer(1);
  r.fetchedAt = q.integer(2);
  r.imageId = q.text(3);
  return r;
}

void Store::setRemote(const Remote& r) {
  sql::Transaction tx(*db_, "record remote " + r.url);
  sql::Stmt s(*db_,
              "INSERT INTO remotes (url, etag, cache_max_age, fetched_at, image_id) "
              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, "
              "cache_max_age = excluded.cache_max_age, fetched_at = excluded.fetched_at, "
              "image_id = excluded.image_id",
              "record a remote");
  s.bind(1, r.url)
      .bind(2, r.etag)
      .bind(3, r.cacheMaxAgeSeconds)
      .bind(4, r.fetchedAt)
      .bind(5, r.imageId)
      .run();
  tx.commit();
}

}  // namespace ferry::store
