#pragma once
// The MySQL / MariaDB client layer shared by the `mysql` source and sink: the `dsn` URL (a
// secret) and the shared `tls:` block, a libmariadb connection and prepared statement with
// Status-returning calls, error classification by server error number, identifier quoting, and
// the typed values that are bound as statement parameters (never interpolated into SQL).
//
// Threading: a Connection (and its Statements) is used by one thread at a time. mysql.h stays in
// the .cc files of this folder; raw() hands the libmariadb handle to them.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_node.h"
#include "config/options.h"
#include "config/tls.h"
#include "core/status.h"

typedef struct st_mysql MYSQL;            // NOLINT: same declaration as mysql.h
typedef struct st_mysql_stmt MYSQL_STMT;  // NOLINT

namespace sluice::mysql {

// mysql://user:password@host:port/database?connect_timeout=10&read_timeout=60&socket=/path
// User and password are percent-decoded. The password is a secret: it is never printed.
struct Dsn {
  std::string user;
  std::string password;
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string database;
  std::string socket;             // ?socket=: a Unix socket instead of TCP
  unsigned connect_timeout = 10;  // seconds
  unsigned read_timeout = 0;      // seconds; 0: none
  unsigned write_timeout = 0;
};

// Parses the URL. Errors name what is wrong, never quoting the URL (it holds the password).
Result<Dsn> ParseDsn(std::string_view url);
// "host:port/database user=u", never the password.
std::string DescribeDsn(const Dsn& dsn);

struct ConnOptions {
  Dsn dsn;
  TlsConfig tls;
};

// The option specs of `dsn` and `tls`, for a connector's option schema.
OptionSpec DsnOptionSpec();
OptionSpec MysqlTlsOptionSpec();
// Reads `dsn` and `tls` from a validated block; errors name their YAML path.
Result<ConnOptions> ParseConnOptions(const Options& o, const ConfigNode& block,
                                     const std::string& base_dir);

// What a session is for: the sink sets a strict sql_mode and allows LOAD DATA LOCAL; the source
// keeps long unbuffered reads alive while the pipeline applies backpressure.
enum class Session { kSink, kSource, kAdmin };

// A typed value bound to a statement parameter, or read back as a key or cursor value.
struct Value {
  enum class Kind : uint8_t { kNull, kInt, kUInt, kDouble, kText, kBytes, kDate, kTime, kDateTime };
  Kind kind = Kind::kNull;
  int64_t i = 0;  // kInt, kUInt (as bits), kDate (days), kTime and kDateTime (microseconds)
  double d = 0;   // kDouble
  std::string s;  // kText (also decimals, which bind as their text), kBytes

  static Value Null() { return {}; }
  static Value Int(int64_t v) { return {Kind::kInt, v}; }
  static Value UInt(uint64_t v) { return {Kind::kUInt, static_cast<int64_t>(v)}; }
  static Value Double(double v) { return {Kind::kDouble, 0, v}; }
  static Value Text(std::string v) { return {Kind::kText, 0, 0, std::move(v)}; }
  static Value Bytes(std::string v) { return {Kind::kBytes, 0, 0, std::move(v)}; }
  static Value Date(int32_t days) { return {Kind::kDate, days}; }
  static Value Time(int64_t micros) { return {Kind::kTime, micros}; }
  static Value DateTime(int64_t micros) { return {Kind::kDateTime, micros}; }
  bool is_null() const { return kind == Kind::kNull; }
  bool operator==(const Value& o) const {
    return kind == o.kind && i == o.i && d == o.d && s == o.s;
  }
};

class Connection {
 public:
  // Connects and prepares the session (utf8mb4, UTC time zone; see Session). Errors: Transient
  // when the server cannot be reached or has too many connections; Permanent for a refused login
  // (without the password), TLS verification, or an unknown database.
  static Result<std::unique_ptr<Connection>> Connect(const ConnOptions& opts, Session session);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement and discards any result.
  Status Exec(std::string_view sql);
  // A small query's rows in text form (nullopt is NULL). With `params`, the statement is
  // prepared and they are bound to its `?` markers.
  using Row = std::vector<std::optional<std::string>>;
  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params = {});

  uint64_t affected_rows() const;
  unsigned warning_count() const;
  // The first few of SHOW WARNINGS, "Warning 1265: Data truncated for column 'x' at row 3; ...".
  std::string Warnings();
  // Appends `s` escaped for a '...' string literal in this session (no quotes added).
  void AppendEscaped(std::string& out, std::string_view s) const;
  bool is_mariadb() const { return mariadb_; }
  // "10.11.19-MariaDB-0+deb12u1"
  std::string server_info() const;
  unsigned long thread_id() const;
  // The server's max_allowed_packet (bytes): a statement must stay below it.
  int64_t max_packet() const { return max_packet_; }
  // The connection's last error, classified (see ErrorStatus).
  Status Error(std::string_view context) const;
  unsigned last_errno() const;
  const std::string& describe() const { return describe_; }
  MYSQL* raw() { return conn_; }

 private:
  Connection(MYSQL* conn, std::string describe) : conn_(conn), describe_(std::move(describe)) {}
  MYSQL* conn_;
  std::string describe_;
  bool mariadb_ = false;
  int64_t max_packet_ = 4 << 20;
};

// Where a Value of a Statement's parameter points while it executes.
struct ParamBuffers;

// A prepared statement. Results are read by the caller through raw() (binary protocol).
class Statement {
 public:
  static Result<std::unique_ptr<Statement>> Prepare(Connection& conn, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  // Binds `params` to the `?` markers in order and executes. The values are copied.
  Status Execute(const std::vector<Value>& params);
  unsigned param_count() const;
  Status Error(std::string_view context) const;
  MYSQL_STMT* raw() { return stmt_; }
  Connection& conn() { return *conn_; }

 private:
  Statement(Connection* conn, MYSQL_STMT* stmt);
  Connection* conn_;
  MYSQL_STMT* stmt_;
  std::unique_ptr<ParamBuffers> params_;
};

// A server or client error number as a Status, with `context`, the number and the message:
// Transient for what may pass by waiting (the server gone or restarting, connection limits,
// lock wait timeout, deadlock, a killed connection or query, network timeouts), Permanent for
// everything else (access denied, privileges, syntax, unknown tables, refused data).
Status ErrorStatus(unsigned code, std::string_view message, std::string_view context);
bool IsTransientError(unsigned code);
// True for errors that refuse the values of a row rather than the statement (NOT NULL, range,
// truncation, bad encoding, duplicate key, foreign key, CHECK): a sink quarantines such rows.
bool IsDataError(unsigned code);

// `a` -> `a`, a`b -> `a``b`.
std::string QuoteIdent(std::string_view name);
// db.table -> `db`.`table`; a name without a dot stays one identifier.
std::string QuoteQualifiedName(std::string_view name);
// {"db", "table"} or {"", "table"}: split on the first dot.
std::pair<std::string, std::string> SplitQualifiedName(std::string_view name);
// A name for a table derived from `table` with `suffix`, within MySQL's 64-character limit: the
// plain concatenation when it fits, else a prefix of `table`, a hash of it, and the suffix.
std::string DerivedName(std::string_view table, std::string_view suffix);

}  // namespace sluice::mysql
