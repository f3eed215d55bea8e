#include "connectors/postgres/pg_conn.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "core/strings.h"

namespace sluice::pg {
namespace {

// libpq sends what it is given in one message; 1 MiB keeps the server busy while the next chunk
// is produced, without holding a whole batch twice.
constexpr size_t kCopyChunk = 1u << 20;

std::string TrimMessage(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool Contains(const std::string& s, std::string_view needle) {
  return s.find(needle) != std::string::npos;
}

// Parsed connection parameters (libpq's own parser: URLs and key=value strings alike).
struct DsnParts {
  bool ok = false;
  std::string host, port, dbname, user;
};

DsnParts ParseDsn(const std::string& dsn) {
  DsnParts out;
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  // The parser's message may quote part of the string, which may hold the password: dropped.
  if (err) PQfreemem(err);
  if (!opts) return out;
  out.ok = true;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    if (k == "host" || (k == "hostaddr" && out.host.empty())) out.host = o->val;
    if (k == "port") out.port = o->val;
    if (k == "dbname") out.dbname = o->val;
    if (k == "user") out.user = o->val;
  }
  PQconninfoFree(opts);
  return out;
}

std::string HostPort(PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  return std::string(host && *host ? host : "localhost") + ":" + (port && *port ? port : "5432");
}

// A failed connection attempt has no SQLSTATE: libpq's message says what went wrong.
Status ClassifyConnectError(PGconn* conn, const std::string& msg) {
  const std::string where = HostPort(conn);
  const char* user = PQuser(conn);
  const std::string who = user && *user ? user : "(default user)";
  if (Contains(msg, "password authentication failed") || Contains(msg, "authentication failed") ||
      Contains(msg, "no pg_hba.conf entry") || Contains(msg, "password is required") ||
      Contains(msg, "fe_sendauth") ||
      (Contains(msg, "role \"") && Contains(msg, "does not exist"))) {
    return Status::Permanent("postgres: authentication failed for user " + who + " at " + where +
                             " (" + msg + ")");
  }
  // Verification failures and a server without TLS will not change by waiting; an "SSL SYSCALL
  // error: EOF" is a dropped connection and stays transient.
  if (Contains(msg, "certificate") || Contains(msg, "does not match host name") ||
      Contains(msg, "does not support SSL") || Contains(msg, "sslmode")) {
    return Status::Permanent("postgres: TLS with the server at " + where + " failed: " + msg);
  }
  if (Contains(msg, "database \"") && Contains(msg, "does not exist")) {
    return Status::Permanent("postgres: " + msg);
  }
  if (Contains(msg, "permission denied")) return Status::Permanent("postgres: " + msg);
  // Refused, unreachable, starting up, shutting down, too many clients: waiting may help.
  return Status::Transient("postgres: cannot connect to " + where + ": " + msg);
}

bool IsTransientState(std::string_view s) {
  if (s.size() != 5) return true;
  std::string_view cls = s.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "58") return true;
  return s == "40001" || s == "40P01" || s == "57P01" || s == "57P02" || s == "57P03" ||
         s == "57014" || s == "55P03";
}

std::string Field(const PGresult* res, int code) {
  const char* v = PQresultErrorField(res, code);
  return v ? v : "";
}

}  // namespace

OptionSpec DsnOptionSpec() {
  return {"dsn",
          OptionType::kString,
          "",
          "libpq connection string or postgresql:// URL, usually ${PG_DSN}; a secret, never "
          "printed (descriptions show host:port/db only)",
          true,
          {},
          true};
}

Result<PgConnOptions> ParsePgConnOptions(const Options& o, const ConfigNode& block,
                                         const std::string& base_dir) {
  const std::string where = block.path().empty() ? "dsn" : block.path() + ".dsn";
  PgConnOptions out;
  out.dsn = o.GetString("dsn");
  if (out.dsn.empty()) {
    return Status::InvalidArgument(where +
                                   ": required option is missing (a libpq connection "
                                   "string or postgresql:// URL, usually \"${PG_DSN}\")");
  }
  if (!ParseDsn(out.dsn).ok) {
    const ConfigNode* node = o.Node("dsn");
    return Status::InvalidArgument((node ? node->Where() : where) +
                                   ": not a valid libpq connection string (key=value pairs) or "
                                   "postgresql:// URL");
  }
  const ConfigNode* tls = block.Find("tls");
  out.tls_set = tls != nullptr && !tls->IsNull();
  ASSIGN_OR_RETURN(out.tls, ParseTls(tls, base_dir));
  return out;
}

std::string DescribeDsn(const std::string& dsn) {
  DsnParts p = ParseDsn(dsn);
  if (!p.ok) return "<invalid dsn>";
  std::string host = p.host.empty() ? "localhost" : p.host;
  std::string out = host + ":" + (p.port.empty() ? "5432" : p.port) + "/" + p.dbname;
  if (!p.user.empty()) out += " user=" + p.user;
  return out;
}

// ---- PgResult ----

PgResult::PgResult(PGresult* res) : res_(res) {}
PgResult::PgResult(PgResult&& o) noexcept : res_(std::exchange(o.res_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (res_) PQclear(res_);
    res_ = std::exchange(o.res_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (res_) PQclear(res_);
}
int PgResult::rows() const { return res_ ? PQntuples(res_) : 0; }
int PgResult::cols() const { return res_ ? PQnfields(res_) : 0; }
bool PgResult::IsNull(int r, int c) const { return PQgetisnull(res_, r, c) != 0; }
std::string_view PgResult::Get(int r, int c) const {
  return {PQgetvalue(res_, r, c), static_cast<size_t>(PQgetlength(res_, r, c))};
}
std::string PgResult::ColumnName(int c) const { return PQfname(res_, c); }
unsigned PgResult::ColumnType(int c) const { return PQftype(res_, c); }
int PgResult::ColumnTypmod(int c) const { return PQfmod(res_, c); }
int64_t PgResult::AffectedRows() const {
  const char* n = res_ ? PQcmdTuples(res_) : "";
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

// ---- PgConn ----

Result<std::unique_ptr<PgConn>> PgConn::Connect(const PgConnOptions& opts, bool replication) {
  // Keywords are applied in order, so the ones before `dbname` are defaults the DSN may override
  // and the ones after it are ours to impose.
  std::vector<std::pair<const char*, std::string>> kv = {
      {"connect_timeout", "10"},
      {"fallback_application_name", opts.application_name},
      {"dbname", opts.dsn},
      {"client_encoding", "UTF8"},
  };
  if (opts.tls_set) {
    kv.emplace_back("sslmode", opts.tls.mode);
    // Only the verifying modes get the CA: libpq treats `require` with a root file as verify-ca.
    if (opts.tls.VerifiesChain()) kv.emplace_back("sslrootcert", opts.tls.ca);
    if (!opts.tls.cert.empty()) {
      kv.emplace_back("sslcert", opts.tls.cert);
      kv.emplace_back("sslkey", opts.tls.key);
    }
  }
  if (replication) kv.emplace_back("replication", "database");
  std::vector<const char*> keys, vals;
  for (const auto& [k, v] : kv) {
    keys.push_back(k);
    vals.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  vals.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), vals.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return Status::Transient("postgres: out of memory creating a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    Status st = ClassifyConnectError(conn, TrimMessage(PQerrorMessage(conn)));
    PQfinish(conn);
    return st;
  }
  // Server notices ("table does not exist, skipping") would go to stderr, past the logger.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConn>(new PgConn(conn, DescribeDsn(opts.dsn)));
}

PgConn::~PgConn() {
  // Closing with an open transaction rolls it back on the server, as a crash would.
  if (conn_) PQfinish(conn_);
}

bool PgConn::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

Status PgConn::Fail(const std::string& context) {
  last_sqlstate_.clear();
  last_column_.clear();
  return StatusFromConn(conn_, context);
}

// Takes ownership of `res`. OK when its status is `expected` (or COMMAND_OK / TUPLES_OK, which
// are interchangeable for Exec); the result is kept in `out` when given.
Status PgConn::Check(PGresult* res, int expected, const std::string& context, PgResult* out) {
  PgResult owned(res);
  if (res == nullptr) return Fail(context);
  ExecStatusType s = PQresultStatus(res);
  bool good = s == expected || (expected == PGRES_COMMAND_OK && s == PGRES_TUPLES_OK) ||
              (expected == PGRES_TUPLES_OK && s == PGRES_COMMAND_OK);
  if (!good) {
    last_sqlstate_ = SqlState(res);
    last_column_ = Field(res, PG_DIAG_COLUMN_NAME);
    Status st = StatusFromResult(res, context);
    if (last_sqlstate_.empty() && PQstatus(conn_) == CONNECTION_BAD) st = Fail(context);
    return st;
  }
  last_sqlstate_.clear();
  last_column_.clear();
  if (out) *out = std::move(owned);
  return Status::OK();
}

Status PgConn::Exec(const std::string& sql) {
  return Check(PQexec(conn_, sql.c_str()), PGRES_COMMAND_OK, "postgres", nullptr);
}

Result<PgResult> PgConn::Query(const std::string& sql,
                               const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
  PgResult out;
  RETURN_IF_ERROR(Check(res, PGRES_TUPLES_OK, "postgres", &out));
  return out;
}

Status PgConn::BeginCopyIn(const std::string& copy_sql) {
  copy_error_.clear();
  return Check(PQexec(conn_, copy_sql.c_str()), PGRES_COPY_IN, "postgres", nullptr);
}

Status PgConn::PutCopyData(std::string_view data) {
  if (!copy_error_.empty()) return Status::Transient(copy_error_);
  while (!data.empty()) {
    size_t n = std::min(data.size(), kCopyChunk);
    if (PQputCopyData(conn_, data.data(), static_cast<int>(n)) != 1) {
      copy_error_ = "postgres: sending COPY data: " + TrimMessage(PQerrorMessage(conn_));
      return Status::Transient(copy_error_);
    }
    data.remove_prefix(n);
  }
  return Status::OK();
}

Status PgConn::EndCopyIn() {
  // An aborted COPY (our error) ends with a message the server logs; its result is the error.
  const bool aborted = !copy_error_.empty();
  if (PQputCopyEnd(conn_, aborted ? "sluice: COPY abandoned by the client" : nullptr) != 1 &&
      !aborted) {
    copy_error_ = "postgres: ending COPY: " + TrimMessage(PQerrorMessage(conn_));
  }
  Status first;
  while (PGresult* res = PQgetResult(conn_)) {
    Status st = Check(res, PGRES_COMMAND_OK, "postgres", nullptr);
    if (first.ok() && !st.ok()) first = st;
    if (PQstatus(conn_) == CONNECTION_BAD) break;
  }
  std::string err = std::exchange(copy_error_, {});
  if (!err.empty()) return Status::Transient(err);
  return first;
}

Status PgConn::CopyIn(const std::string& copy_sql, std::string_view data) {
  RETURN_IF_ERROR(BeginCopyIn(copy_sql));
  (void)PutCopyData(data);  // a failure is kept and returned by EndCopyIn
  return EndCopyIn();
}

Status PgConn::CopyOut(const std::string& copy_sql,
                       const std::function<Status(std::string_view)>& on_chunk) {
  RETURN_IF_ERROR(Check(PQexec(conn_, copy_sql.c_str()), PGRES_COPY_OUT, "postgres", nullptr));
  Status callback;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_, &buf, 0);
    if (n < 0) break;  // -1: done, -2: error (reported by the result below)
    if (callback.ok()) {
      callback = on_chunk(std::string_view(buf, static_cast<size_t>(n)));
      if (!callback.ok()) {
        // Stop the server; the rows already in flight are read and dropped below.
        if (PGcancel* c = PQgetCancel(conn_)) {
          char err[256];
          (void)PQcancel(c, err, sizeof err);
          PQfreeCancel(c);
        }
      }
    }
    PQfreemem(buf);
  }
  Status first;
  while (PGresult* res = PQgetResult(conn_)) {
    Status st = Check(res, PGRES_COMMAND_OK, "postgres", nullptr);
    if (first.ok() && !st.ok()) first = st;
    if (PQstatus(conn_) == CONNECTION_BAD) break;
  }
  if (!callback.ok()) return callback;
  return first;
}

// ---- errors ----

std::string SqlState(const PGresult* res) { return res ? Field(res, PG_DIAG_SQLSTATE) : ""; }

bool IsDataError(std::string_view s) {
  return s.size() == 5 && (s.substr(0, 2) == "22" || s.substr(0, 2) == "23" || s == "54000");
}

Status StatusFromResult(const PGresult* res, const std::string& context) {
  if (res == nullptr) return Status::Transient(context + ": no result from the server");
  const std::string state = Field(res, PG_DIAG_SQLSTATE);
  std::string primary = Field(res, PG_DIAG_MESSAGE_PRIMARY);
  if (primary.empty()) primary = TrimMessage(PQresultErrorMessage(res));
  std::string msg = context + ": " + primary;
  if (!state.empty()) msg += " (SQLSTATE " + state + ")";
  std::string detail = Field(res, PG_DIAG_MESSAGE_DETAIL);
  if (!detail.empty()) msg += "; " + detail;
  std::string hint = Field(res, PG_DIAG_MESSAGE_HINT);
  if (!hint.empty()) msg += "; hint: " + hint;
  if (state.empty() || IsTransientState(state)) return Status::Transient(msg);
  if (state.substr(0, 2) == "28") return Status::Permanent(msg + " (authentication)");
  return Status::Permanent(msg);
}

Status StatusFromConn(PGconn* conn, const std::string& context) {
  std::string msg = TrimMessage(PQerrorMessage(conn));
  if (msg.empty()) msg = "connection lost";
  // A connection that broke mid-statement is the textbook transient error: the transaction
  // rolled back with it and the runtime retries from the last checkpoint.
  return Status::Transient(context + ": " + msg);
}

// ---- quoting ----

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::pair<std::string, std::string> SplitQualifiedName(std::string_view name) {
  std::vector<std::string> parts(1);
  bool quoted = false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (quoted) {
      if (c == '"' && i + 1 < name.size() && name[i + 1] == '"') {
        parts.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        parts.back() += c;
      }
    } else if (c == '"' && parts.back().empty()) {
      quoted = true;
    } else if (c == '.' && parts.size() == 1) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  if (parts.size() == 1) return {"", parts[0]};
  return {parts[0], parts[1]};
}

std::string QuoteQualifiedName(std::string_view name) {
  auto [schema, table] = SplitQualifiedName(name);
  return schema.empty() ? QuoteIdent(table) : QuoteIdent(schema) + "." + QuoteIdent(table);
}

std::string QuoteLiteral(std::string_view s) {
  const bool backslash = s.find('\\') != std::string_view::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    if (c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

// ---- types ----

Result<DataType> TypeFromPg(unsigned type_oid, int typmod, const std::string& column) {
  switch (type_oid) {
    case oid::kBool:
      return DataType::Bool();
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
    case oid::kOid:
      return DataType::Int64();
    case oid::kFloat4:
    case oid::kFloat8:
      return DataType::Float64();
    case oid::kNumeric: {
      // typmod = ((precision << 16) | scale) + 4; -1 when unconstrained. Unconstrained or wider
      // than 38 digits (or a negative scale) is kept as text (DESIGN.md "Data model").
      if (typmod < 4) return DataType::String();
      int precision = ((typmod - 4) >> 16) & 0xffff;
      int scale = (typmod - 4) & 0xffff;
      if (precision < 1 || precision > 38 || scale > precision) return DataType::String();
      return DataType::Decimal(precision, scale);
    }
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kChar:
    case oid::kUuid:
    case oid::kInet:
    case oid::kCidr:
    case oid::kMacaddr:
    case oid::kMacaddr8:
    case oid::kInterval:
    case oid::kTimetz:
    case oid::kXml:
    case oid::kMoney:
    case oid::kBit:
    case oid::kVarbit:
      return DataType::String();
    case oid::kBytea:
      return DataType::Binary();
    case oid::kDate:
      return DataType::Date();
    case oid::kTime:
      return DataType::Time();
    case oid::kTimestamp:
      return DataType::Timestamp(false);
    case oid::kTimestamptz:
      return DataType::Timestamp(true);
    case oid::kJson:
    case oid::kJsonb:
      return DataType::Json();
    default:
      break;
  }
  return Status::Unimplemented("postgres column '" + column + "': type OID " +
                               std::to_string(type_oid) +
                               " is not supported; cast it to a supported type (text, for "
                               "example) in the query or a view");
}

std::string PgTypeName(const DataType& t) {
  switch (t.id) {
    case TypeId::kBool:
      return "boolean";
    case TypeId::kInt64:
      return "bigint";
    case TypeId::kFloat64:
      return "double precision";
    case TypeId::kDecimal:
      return "numeric(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")";
    case TypeId::kString:
      return "text";
    case TypeId::kBinary:
      return "bytea";
    case TypeId::kDate:
      return "date";
    case TypeId::kTime:
      return "time";
    case TypeId::kTimestamp:
      return t.tz ? "timestamptz" : "timestamp";
    case TypeId::kJson:
      return "jsonb";
  }
  return "text";
}

}  // namespace sluice::pg
