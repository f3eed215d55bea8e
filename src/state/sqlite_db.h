#pragma once
// Thin RAII wrappers over the SQLite C API, shared by the state store and the sqlite sink.
// Errors become Status: SQLITE_BUSY/LOCKED are transient, SQLITE_FULL/IOERR are I/O errors.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

class SqliteStmt {
 public:
  SqliteStmt() = default;
  SqliteStmt(sqlite3* db, sqlite3_stmt* s) : db_(db), stmt_(s) {}
  SqliteStmt(SqliteStmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  SqliteStmt& operator=(SqliteStmt&& o) noexcept;
  ~SqliteStmt();
  sqlite3_stmt* get() const { return stmt_; }
  // Binding is 1-based, as in SQLite.
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  void BindInt64(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindDouble(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void BindText(int i, std::string_view v) {
    sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  // The caller keeps `v` alive until the statement is stepped.
  void BindTextStatic(int i, std::string_view v) {
    sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  void BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT);
  }
  // Steps once: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion and resets for reuse.
  Status Run();
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t ColumnInt64(int i) const { return sqlite3_column_int64(stmt_, i); }
  std::string ColumnText(int i) const;
  bool ColumnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb {
 public:
  SqliteDb() = default;
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  // Opens (creating) the file with WAL journaling, synchronous=FULL and a busy timeout.
  Status Open(const std::string& path, bool create_dirs = true);
  void Close();
  sqlite3* get() const { return db_; }
  bool is_open() const { return db_ != nullptr; }
  Status Exec(const std::string& sql);
  Result<SqliteStmt> Prepare(const std::string& sql);
  // Status for an SQLite result code, with the database's message.
  Status Error(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// "name" with embedded quotes doubled: an identifier that is always safe to splice into SQL.
std::string QuoteSqlIdent(std::string_view name);
Status SqliteStatus(int rc, std::string_view what, sqlite3* db);

}  // namespace sluice
