#pragma once
// ODBC handles for the odbc source: an environment and connection, statements with typed
// parameters, and the diagnostics of a failed call as a Status with the password scrubbed.
// Only the .cc files of this folder include this header (it pulls in <sql.h>).
//
// Lifecycle: a Connection is opened once and used from one thread (the source thread; Open runs
// before Run on the same object, never concurrently). Statements must not outlive it.

#include <sql.h>
#include <sqlext.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace sluice::odbc {

// How LIMIT is spelled, chosen from SQL_DBMS_NAME.
enum class Dialect { kLimit, kTop, kFetchFirst };

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Connects with SQLDriverConnect (no prompt). `conn` is a connection string, or a DSN name
  // when it holds no '='. Reads the identifier quote and the DBMS name.
  Status Open(const std::string& conn);
  SQLHDBC get() const { return dbc_; }
  const std::string& dbms() const { return dbms_; }
  Dialect dialect() const { return dialect_; }
  // `name` quoted with the driver's identifier quote, the quote doubled inside. InvalidArgument
  // when the driver quotes nothing and the name is not a plain identifier.
  Result<std::string> Quote(const std::string& name) const;
  // SQLite keeps dates and timestamps as text and compares them as text: they are read and bound
  // in the text form stored, so that a key read back compares equal to itself.
  bool times_as_text() const { return times_as_text_; }
  Status SetAutocommit(bool on);
  // Repeatable read, for a snapshot over several pages; false when the driver refuses it.
  bool SetRepeatableRead();
  Status EndTransaction(bool commit);
  // The Status of the last failed call on `handle`, with `what` and the password scrubbed.
  Status Diagnose(SQLSMALLINT type, SQLHANDLE handle, const std::string& what) const;

 private:
  SQLHENV env_ = SQL_NULL_HENV;
  SQLHDBC dbc_ = SQL_NULL_HDBC;
  bool connected_ = false;
  std::string quote_;
  std::string dbms_;
  Dialect dialect_ = Dialect::kFetchFirst;
  bool times_as_text_ = false;
  std::vector<std::string> secrets_;
};

// One statement handle. Parameters are bound from their text form, typed as the column they
// compare with; their buffers live as long as the statement.
class Statement {
 public:
  explicit Statement(Connection& conn) : conn_(&conn) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Status Init();
  Status Prepare(const std::string& sql);
  Status Execute();
  Status ExecDirect(const std::string& sql);
  // Binds parameter `i` (1-based) to `value` (nullopt: NULL) as a value of `type`.
  Status BindParam(int i, const std::optional<std::string>& value, const DataType& type);
  Status Check(SQLRETURN rc, const std::string& what) const;
  SQLHSTMT get() const { return st_; }
  Connection& conn() const { return *conn_; }

 private:
  Connection* conn_;
  SQLHSTMT st_ = SQL_NULL_HSTMT;
  std::deque<std::vector<char>> param_bufs_;
  std::deque<SQLLEN> param_inds_;
};

// Result columns of an executed or prepared statement.
struct ResultColumn {
  std::string name;
  SQLSMALLINT sql_type = 0;
  SQLULEN size = 0;
  SQLSMALLINT digits = 0;
  bool nullable = true;
  std::string type_name;
};
Result<std::vector<ResultColumn>> DescribeResult(Statement& st);

}  // namespace sluice::odbc
