#include "stage0/store/sqlite.hpp"

#include <sqlite3.h>

#include "common/error.hpp"

namespace ferry::store::sql {

Db::Db(const std::filesystem::path& path, int busyTimeoutMs) : path_(path.string()) {
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(Errc::kIo, "cannot open the image index " + quote(path_) + ": " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busyTimeoutMs);
  // The -wal and -shm files stay when the last connection closes (emptied by its checkpoint):
  // made again by every ferry process, they would cost two inodes each time.
  int persist = 1;
  sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
}

Db::~Db() { sqlite3_close_v2(db_); }

void Db::fail(int rc, std::string_view what) const {
  std::string msg = sqlite3_errmsg(db_);
  if (msg.empty() || msg == "not an error") msg = sqlite3_errstr(rc);
  int primary = rc & 0xff;
  Errc code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? Errc::kInvalid : Errc::kIo;
  throw Error(code,
              "cannot " + std::string(what) + " in the image index " + quote(path_) + ": " + msg);
}

void Db::exec(std::string_view sql, std::string_view what) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Errc code = (rc & 0xff) == SQLITE_CORRUPT ? Errc::kInvalid : Errc::kIo;
    throw Error(code,
                "cannot " + std::string(what) + " in the image index " + quote(path_) + ": " + msg);
  }
}

Stmt::Stmt(Db& db, std::string_view sql, std::string_view what) : db_(db), what_(what) {
  int rc = sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) db_.fail(rc, what_);
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) db_.fail(rc, what_);
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, what_);
  return *this;
}

Stmt& Stmt::bindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_.fail(rc, what_);
  return *this;
}

Stmt& Stmt::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bindNull(index);
}

Stmt& Stmt::bind(int index, const std::optional<int64_t>& value) {
  return value ? bind(index, *value) : bindNull(index);
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, what_);
}

void Stmt::run() {
  while (step()) {
  }
}

int64_t Stmt::changes() const { return sqlite3_changes64(db_.get()); }

std::string Stmt::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t Stmt::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Stmt::isNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Transaction::Transaction(Db& db, std::string_view what) : db_(db), what_(what) {
  db_.exec("BEGIN IMMEDIATE", what_);
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT", what_);
  done_ = true;
}

ReadTransaction::ReadTransaction(Db& db) : db_(db) {
  if (sqlite3_get_autocommit(db.get()) != 0) {
    db.exec("BEGIN", "start reading");
    owns_ = true;
  }
}

ReadTransaction::~ReadTransaction() {
  if (owns_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace ferry::store::sql
