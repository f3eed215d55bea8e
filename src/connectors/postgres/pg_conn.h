#pragma once
// The PostgreSQL client layer shared by the `postgres` source and sink: connection options (the
// `dsn` secret and the shared `tls:` block), a libpq connection with Status-returning calls,
// error classification by SQLSTATE, identifier quoting and type mapping.
//
// Threading: a PgConn is used by one thread at a time. libpq's header stays in the .cc files;
// raw() hands out the libpq handle to code in this folder that needs more.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_node.h"
#include "config/options.h"
#include "config/tls.h"
#include "core/status.h"
#include "core/types.h"

typedef struct pg_conn PGconn;      // NOLINT: same declaration as libpq-fe.h
typedef struct pg_result PGresult;  // NOLINT

namespace sluice::pg {

// Connection options from a connector block: dsn (secret) + tls + application_name.
struct PgConnOptions {
  std::string dsn;  // libpq key=value string or postgresql:// URL; a secret, never printed
  TlsConfig tls;
  // False when the block has no `tls:`: then the DSN's own sslmode (or libpq's default, prefer)
  // holds. When true, `tls` overrides any ssl settings in the DSN.
  bool tls_set = false;
  std::string application_name = "sluice";
};

// The option specs of `dsn` and `tls`, for a connector's option schema.
OptionSpec DsnOptionSpec();
// Reads `dsn` and `tls` from a validated block. A missing or malformed dsn is an error naming
// its YAML path, never quoting its value.
Result<PgConnOptions> ParsePgConnOptions(const Options& o, const ConfigNode& block,
                                         const std::string& base_dir);

// "host:port/dbname user=u", never the password; "<invalid dsn>" when it does not parse.
std::string DescribeDsn(const std::string& dsn);

// Owns a PGresult. Values are libpq's text form unless the query asked for binary.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* res);
  PgResult(PgResult&& o) noexcept;
  PgResult& operator=(PgResult&& o) noexcept;
  ~PgResult();
  int rows() const;
  int cols() const;
  bool IsNull(int r, int c) const;
  std::string_view Get(int r, int c) const;
  std::string ColumnName(int c) const;
  unsigned ColumnType(int c) const;  // type OID
  int ColumnTypmod(int c) const;
  // Rows a command touched ("INSERT 0 12" -> 12); 0 when it does not say.
  int64_t AffectedRows() const;
  PGresult* raw() const { return res_; }

 private:
  PGresult* res_ = nullptr;
};

class PgConn {
 public:
  // Connects; `replication` opens a logical replication connection (replication=database).
  // Errors: Transient when the server cannot be reached or is starting up / shutting down,
  // Permanent for authentication, TLS verification, a missing database or a bad dsn.
  static Result<std::unique_ptr<PgConn>> Connect(const PgConnOptions& opts,
                                                 bool replication = false);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs statements that return no rows (several may be separated by ';').
  Status Exec(const std::string& sql);
  // Runs one statement with text parameters bound as $1..$n (never interpolated). A nullopt
  // parameter is SQL NULL.
  Result<PgResult> Query(const std::string& sql,
                         const std::vector<std::optional<std::string>>& params = {});
  // COPY ... FROM STDIN with all of `data`, sent in chunks of about 1 MiB.
  Status CopyIn(const std::string& copy_sql, std::string_view data);
  // The same in steps, for data produced while it is sent: BeginCopyIn, any number of
  // PutCopyData, then EndCopyIn (which returns the COPY's outcome). After an error of
  // PutCopyData, EndCopyIn must still be called: it ends the COPY and returns the first error.
  Status BeginCopyIn(const std::string& copy_sql);
  Status PutCopyData(std::string_view data);
  Status EndCopyIn();
  // COPY ... TO STDOUT: calls `on_chunk` with each data row as libpq returns it. An error from
  // `on_chunk` cancels the COPY and is returned.
  Status CopyOut(const std::string& copy_sql,
                 const std::function<Status(std::string_view)>& on_chunk);

  // SQLSTATE of the last failed call ("23505"), empty after a success or a client-side error.
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // The column the last error names (a NOT NULL violation, a bad value in COPY), or empty.
  const std::string& last_column() const { return last_column_; }
  // True while the connection is usable (false after the server went away).
  bool ok() const;
  PGconn* raw() { return conn_; }
  std::string Describe() const { return describe_; }

 private:
  PgConn(PGconn* conn, std::string describe) : conn_(conn), describe_(std::move(describe)) {}
  Status Check(PGresult* res, int expected, const std::string& context, PgResult* out);
  Status Fail(const std::string& context);

  PGconn* conn_;
  std::string describe_;
  std::string last_sqlstate_;
  std::string last_column_;
  std::string copy_error_;  // first failure of PutCopyData in the current COPY
};

// SQLSTATE -> Transient (08 connection, 40001/40P01, 57P01-57P03, 57014, 53 resources, 55P03,
// 58 system) or Permanent (everything else: 28 auth, 42501 privilege, 42 syntax, data errors),
// with the server's message, detail and SQLSTATE but never connection secrets. A result without
// a SQLSTATE (libpq's own errors: the connection was lost) is Transient.
Status StatusFromResult(const PGresult* res, const std::string& context);
// The connection's last error (a failed connect, a lost connection).
Status StatusFromConn(PGconn* conn, const std::string& context);
// The SQLSTATE of a failed result, or "".
std::string SqlState(const PGresult* res);
// True for SQLSTATEs that refuse the data rather than the statement: class 22 (data exception),
// 23 (integrity constraint) and 54000 (a value or row too large). A sink quarantines such rows.
bool IsDataError(std::string_view sqlstate);

std::string QuoteIdent(std::string_view name);  // a"b -> "a""b"
// schema.table -> "schema"."table", split on the first dot outside double quotes; a part
// already in double quotes keeps its text ("My.Schema".t -> "My.Schema"."t").
std::string QuoteQualifiedName(std::string_view name);
// The parts of a qualified name, unquoted: {"schema", "table"} or {"", "table"}.
std::pair<std::string, std::string> SplitQualifiedName(std::string_view name);
std::string QuoteLiteral(std::string_view s);  // it's -> 'it''s'; backslashes -> E'..'

// PostgreSQL type OID (and typmod) -> sluice type, for sources. Unsupported types are an error
// naming the column and the type.
Result<DataType> TypeFromPg(unsigned oid, int typmod, const std::string& column);
// Sluice type -> the PostgreSQL type a sink creates: bigint, numeric(12,2), timestamptz ...
std::string PgTypeName(const DataType& t);

// Type OIDs used across this folder.
namespace oid {
inline constexpr unsigned kBool = 16, kBytea = 17, kChar = 18, kName = 19, kInt8 = 20, kInt2 = 21,
                          kInt4 = 23, kText = 25, kOid = 26, kJson = 114, kXml = 142, kFloat4 = 700,
                          kFloat8 = 701, kMoney = 790, kMacaddr = 829, kInet = 869, kCidr = 650,
                          kBpchar = 1042, kVarchar = 1043, kDate = 1082, kTime = 1083,
                          kTimestamp = 1114, kTimestamptz = 1184, kInterval = 1186, kTimetz = 1266,
                          kBit = 1560, kVarbit = 1562, kNumeric = 1700, kUuid = 2950, kJsonb = 3802,
                          kMacaddr8 = 774;
}  // namespace oid

}  // namespace sluice::pg
