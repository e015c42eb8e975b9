// A thin RAII layer over SQLite for the store's index (internal to ferry_store).
//
// Db owns a connection, Stmt a prepared statement with positional binding. Every SQLite failure
// becomes ferry::Error naming the database and the statement's purpose. Transaction runs
// BEGIN IMMEDIATE (so a writer waits for the write lock up front, under busy_timeout, instead of
// failing on upgrade) and rolls back unless commit() is reached.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace ferry::store::sql {

class Db {
 public:
  // Opens (creating) the database; busy_timeout in milliseconds.
  Db(const std::filesystem::path& path, int busyTimeoutMs);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements without results.
  void exec(std::string_view sql, std::string_view what);
  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Stmt {
 public:
  Stmt(Db& db, std::string_view sql, std::string_view what);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binds positional parameters (1-based).
  Stmt& bind(int index, std::string_view value);
  Stmt& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Stmt& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Stmt& bind(int index, int64_t value);
  Stmt& bindNull(int index);
  Stmt& bind(int index, const std::optional<std::string>& value);
  Stmt& bind(int index, const std::optional<int64_t>& value);

  // Steps once: true when a row is available.
  bool step();
  // Steps to completion (statements without results).
  void run();
  int64_t changes() const;

  std::string text(int column) const;
  int64_t integer(int column) const;
  bool isNull(int column) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string what_;
};

class Transaction {
 public:
  Transaction(Db& db, std::string_view what);
  ~Transaction();  // rolls back unless committed
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Db& db_;
  std::string what_;
  bool done_ = false;
};

// A consistent snapshot for several reads (a deferred BEGIN); nothing when a transaction is
// already open on the connection.
class ReadTransaction {
 public:
  explicit ReadTransaction(Db& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Db& db_;
  bool owns_ = false;
};

}  // namespace ferry::store::sql
