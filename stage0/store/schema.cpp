#include "stage0/store/schema.hpp"

#include <string>

#include "common/error.hpp"
#include "stage0/store/store.hpp"

namespace ferry::store {

namespace {

// Version 1: images, their names, labels, tags and blob references; remotes.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE images (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('aci', 'oci')),
  name          TEXT NOT NULL,
  translated_id TEXT,
  appc_manifest TEXT NOT NULL DEFAULT '',
  size          INTEGER NOT NULL,
  imported_at   INTEGER NOT NULL,
  last_used_at  INTEGER NOT NULL
);
CREATE INDEX images_by_name ON images (name);
CREATE INDEX images_by_translation ON images (translated_id);
CREATE TABLE image_labels (
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  name     TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (image_id, name)
);
CREATE TABLE image_tags (
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  tag      TEXT NOT NULL,
  PRIMARY KEY (image_id, tag)
);
CREATE TABLE image_blobs (
  image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('aci', 'manifest', 'config', 'layer')),
  digest     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  media_type TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (image_id, position)
);
CREATE INDEX image_blobs_by_digest ON image_blobs (digest);
CREATE TABLE remotes (
  url           TEXT PRIMARY KEY,
  etag          TEXT NOT NULL DEFAULT '',
  cache_max_age INTEGER,
  fetched_at    INTEGER NOT NULL,
  image_id      TEXT NOT NULL
);
)sql";

// Version 2: the tree store. A tree is shared by every image with the same content key.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE trees (
  key          TEXT PRIMARY KEY,
  content_hash TEXT NOT NULL,
  size         INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL
);
CREATE TABLE image_trees (
  image_id TEXT PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
  tree_key TEXT NOT NULL REFERENCES trees (key)
);
CREATE INDEX image_trees_by_key ON image_trees (tree_key);
)sql";

// Version 3: every name (and tag) an image was fetched under, and the "original" blob role: an
// ACI's bytes exactly as fetched (compressed), kept so it exports byte for byte. SQLite cannot
// change a CHECK constraint in place, so image_blobs is rebuilt.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE image_names (
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  tag      TEXT NOT NULL DEFAULT '',
  added_at INTEGER NOT NULL,
  PRIMARY KEY (image_id, name, tag)
);
CREATE INDEX image_names_by_name ON image_names (name, tag);
INSERT INTO image_names (image_id, name, tag, added_at)
  SELECT id, name, '', imported_at FROM images;
INSERT OR IGNORE INTO image_names (image_id, name, tag, added_at)
  SELECT i.id, i.name, t.tag, i.imported_at FROM images i JOIN image_tags t ON t.image_id = i.id;
DROP TABLE image_tags;
CREATE TABLE image_blobs_v3 (
  image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('aci', 'original', 'manifest', 'config', 'layer')),
  digest     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  media_type TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (image_id, position)
);
INSERT INTO image_blobs_v3 SELECT image_id, position, role, digest, size, media_type
  FROM image_blobs;
DROP TABLE image_blobs;
ALTER TABLE image_blobs_v3 RENAME TO image_blobs;
CREATE INDEX image_blobs_by_digest ON image_blobs (digest);
)sql";

int currentVersion(sql::Db& db) {
  sql::Stmt t(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
              "read the schema version");
  if (!t.step()) return 0;
  sql::Stmt q(db, "SELECT version FROM schema_version", "read the schema version");
  return q.step() ? static_cast<int>(q.integer(0)) : 0;
}

void refuseNewer(sql::Db& db, int version) {
  if (version > kSchemaVersion) {
    throw Error(Errc::kUnsupported, "cannot open the image index " + quote(db.path()) +
                                        ": its schema version " + std::to_string(version) +
                                        " is newer than this ferry's (" +
                                        std::to_string(kSchemaVersion) + "); use a newer ferry");
  }
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {{1, kV1}, {2, kV2}, {3, kV3}};
  return list;
}

int migrate(sql::Db& db) {
  static_assert(kSchemaVersion == 3, "add the migration to migrations()");
  // The common case reads only, so opening never waits for a writer.
  int found = currentVersion(db);
  refuseNewer(db, found);
  if (found == kSchemaVersion) return found;
  for (const Migration& m : migrations()) {
    sql::Transaction tx(db, "migrate the schema");
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
            "create the schema version table");
    int version = currentVersion(db);  // again: another process may have migrated meanwhile
    refuseNewer(db, version);
    if (version >= m.version) continue;  // tx rolls back: nothing changed
    db.exec(m.sql, "apply schema migration " + std::to_string(m.version));
    if (version == 0) {
      db.exec("INSERT INTO schema_version (version) VALUES (0)", "record the schema version");
    }
    sql::Stmt set(db, "UPDATE schema_version SET version = ?", "record the schema version");
    set.bind(1, int64_t{m.version}).run();
    tx.commit();
  }
  return found;
}

}  // namespace ferry::store
