// gc and verify.
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <set>

#include "common/error.hpp"
#include "stage0/store/file_lock.hpp"
#include "stage0/store/sqlite.hpp"
#include "stage0/store/store.hpp"

namespace ferry::store {

namespace fs = std::filesystem;

namespace {

// Modification time in seconds; nullopt when the path vanished.
std::optional<int64_t> mtimeOf(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throwErrno("stat " + quote(p.string()));
  }
  return static_cast<int64_t>(st.st_mtime);
}

bool older(const fs::path& p, int64_t cutoff) {
  std::optional<int64_t> m = mtimeOf(p);
  return m && *m <= cutoff;
}

template <typename Fn>
void eachChild(const fs::path& dir, Fn fn) {
  std::error_code ec;
  std::vector<fs::path> children;
  for (const auto& e : fs::directory_iterator(dir, ec)) children.push_back(e.path());
  if (ec) throw std::system_error(ec, "cannot list " + quote(dir.string()));
  for (const fs::path& c : children) fn(c);
}

}  // namespace

GcStats Store::gc(std::chrono::seconds gracePeriod, const TreesInUse& treesInUse) {
  LockHold hold(*lock_, LockHold::Mode::kExclusive);
  GcStats stats;
  const int64_t cutoff = static_cast<int64_t>(std::time(nullptr)) - gracePeriod.count();

  // Trees users outside the index still need (pods): by key, for rootfs paths under trees/.
  std::set<std::string> inUse;
  if (treesInUse) {
    const fs::path trees = fs::weakly_canonical(cas_ / "trees");
    for (const fs::path& rootfs : treesInUse()) {
      fs::path p = rootfs.lexically_normal();
      if (p.filename().empty()) p = p.parent_path();  // a trailing slash
      fs::path keyDir = p.parent_path();
      std::error_code ec;
      if (fs::weakly_canonical(keyDir.parent_path(), ec) == trees && !ec) {
        inUse.insert(keyDir.filename().string());
      }
    }
  }

  // Blobs no image references.
  std::set<std::string> referenced;
  {
    sql::Stmt q(*db_, "SELECT DISTINCT digest FROM image_blobs", "list referenced blobs");
    while (q.step()) referenced.insert(q.text(0));
  }
  for (const Digest& d : listBlobs()) {
    if (referenced.contains(d.str())) continue;
    fs::path p = blobPath(d);
    if (!older(p, cutoff)) continue;
    std::optional<int64_t> size = blobSize(d);
    if (::unlink(p.c_str()) != 0) {
      if (errno == ENOENT) continue;
      throwErrno("remove blob " + quote(p.string()));
    }
    ++stats.blobsRemoved;
    stats.bytesFreed += size.value_or(0);
  }

  // Trees no image (nor caller) uses: first out of the index (one transaction), then off the disk
  // by way of tmp/ (a rename, so a crash never leaves half a tree under trees/).
  std::vector<std::string> doomed;
  {
    sql::Transaction tx(*db_, "remove unused trees");
    sql::Stmt q(*db_,
                "SELECT key FROM trees WHERE last_used_at <= ? AND key NOT IN "
                "(SELECT tree_key FROM image_trees)",
                "list unused trees");
    q.bind(1, cutoff);
    while (q.step()) {
      if (!inUse.contains(q.text(0))) doomed.push_back(q.text(0));
    }
    for (const std::string& key : doomed) {
      sql::Stmt d(*db_, "DELETE FROM trees WHERE key = ?", "remove an unused tree");
      d.bind(1, key).run();
    }
    tx.commit();
  }
  std::set<std::string> known;
  {
    sql::Stmt q(*db_, "SELECT key FROM trees", "list trees");
    while (q.step()) known.insert(q.text(0));
  }
  eachChild(cas_ / "trees", [&](const fs::path& p) {
    // Unknown directories: removed above, or renamed in by a renderer that crashed before
    // recording them (no renderer runs now: we hold the lock exclusively).
    if (known.contains(p.filename().string()) || inUse.contains(p.filename().string())) return;
    TempDir grave(cas_ / "tmp", "gc-");
    if (::rename(p.c_str(), (grave.path() / "tree").c_str()) != 0) {
      throwErrno("move tree " + quote(p.string()) + " out of the store");
    }
    ++stats.treesRemoved;
  });  // each grave is removed as it goes out of scope

  // Temp files and directories left by writers that died (killed, or interrupted before their
  // cleanup): every writer holds the store's lock shared while its temps exist (newBlob,
  // renderTree, a fetch's scratch directory), so under this exclusive hold none is in use, and
  // they go at once whatever the grace period.
  eachChild(cas_ / "tmp", [&](const fs::path& p) {
    removeTree(p);
    ++stats.tempsRemoved;
  });
  eachChild(cas_, [&](const fs::path& p) {
    if (!p.filename().string().starts_with(".blob.tmp-")) return;
    removeTree(p);
    ++stats.tempsRemoved;
  });

  db_->exec("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint the write-ahead log");
  return stats;
}

std::vector<std::string> Store::verify() {
  LockHold hold(*lock_, LockHold::Mode::kShared);
  std::vector<std::string> problems;

  {
    sql::Stmt q(*db_, "PRAGMA quick_check", "check the index");
    while (q.step()) {
      if (q.text(0) != "ok") problems.push_back("index " + quote(db_->path()) + ": " + q.text(0));
    }
    sql::Stmt fk(*db_, "PRAGMA foreign_key_check", "check the index");
    while (fk.step()) {
      problems.push_back("index " + quote(db_->path()) + ": table " + fk.text(0) +
                         " has a dangling reference to " + fk.text(2));
    }
  }

  // Every file under blobs/ must hash to its name.
  for (DigestAlgorithm a : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    fs::path dir = cas_ / "blobs" / std::string(algorithmName(a));
    eachChild(dir, [&](const fs::path& p) {
      std::string name = p.filename().string();
      if (name.size() != hexLength(a) || !isLowerHex(name)) {
        problems.push_back("blob " + quote(p.string()) + ": not a blob name");
        return;
      }
      Digest d(a, name);
      if (!fs::is_regular_file(fs::symlink_status(p))) {
        problems.push_back("blob " + d.str() + ": not a regular file");
        return;
      }
      try {
        oci::BlobReader r = openBlob(d);
        std::string buf(1 << 16, '\0');
        while (r.read(buf.data(), buf.size()) != 0) {
        }
      } catch (const std::exception& e) {
        problems.push_back("blob " + d.str() + ": " + e.what());
      }
    });
  }

  // Every referenced blob must be there with its size.
  {
    sql::Stmt q(*db_, "SELECT image_id, role, digest, size FROM image_blobs ORDER BY image_id",
                "list referenced blobs");
    while (q.step()) {
      std::optional<Digest> d;
      try {
        d = Digest::parse(q.text(2));
      } catch (const Error& e) {
        problems.push_back("image " + q.text(0) + ": " + e.what());
        continue;
      }
      std::optional<int64_t> size = blobSize(*d);
      if (!size) {
        problems.push_back("image " + q.text(0) + ": " + q.text(1) + " blob " + d->str() +
                           " is missing");
      } else if (*size != q.integer(3)) {
        problems.push_back("image " + q.text(0) + ": " + q.text(1) + " blob " + d->str() + " has " +
                           std::to_string(*size) + " bytes, expected " +
                           std::to_string(q.integer(3)));
      }
    }
  }

  // Every recorded tree must be there with its content.
  {
    sql::Stmt q(*db_, "SELECT key, content_hash FROM trees ORDER BY key", "list trees");
    while (q.step()) {
      fs::path rootfs = cas_ / "trees" / q.text(0) / "rootfs";
      if (!fs::is_directory(fs::symlink_status(rootfs))) {
        problems.push_back("tree " + q.text(0) + ": " + quote(rootfs.string()) + " is missing");
        continue;
      }
      try {
        std::string got = hashTree(rootfs);
        if (got != q.text(1)) {
          problems.push_back("tree " + q.text(0) + ": content has hash " + got + ", recorded " +
                             q.text(1));
        }
      } catch (const std::exception& e) {
        problems.push_back("tree " + q.text(0) + ": " + e.what());
      }
    }
  }
  return problems;
}

}  // namespace ferry::store
