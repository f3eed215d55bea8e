#include "connectors/mysql/mysql_conn.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "core/strings.h"
#include "core/values.h"

namespace sluice::mysql {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s, const char* what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 1 < s.size() ? HexDigit(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? HexDigit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument(std::string("dsn: the ") + what +
                                     " has a '%' not followed by two hex digits (write %25 for "
                                     "a literal %)");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Result<unsigned> ParseUnsigned(std::string_view s, const std::string& what) {
  int64_t v = 0;
  if (!ParseInt64(s, &v) || v < 0 || v > 65535 * 1000) {
    return Status::InvalidArgument("dsn: " + what + " must be a non-negative integer");
  }
  return static_cast<unsigned>(v);
}

Status SetQueryParam(Dsn& dsn, std::string_view name, std::string_view value) {
  if (name == "socket") {
    dsn.socket = std::string(value);
    return Status::OK();
  }
  for (auto [key, out] : {std::pair{"connect_timeout", &dsn.connect_timeout},
                          {"read_timeout", &dsn.read_timeout},
                          {"write_timeout", &dsn.write_timeout}}) {
    if (name != key) continue;
    ASSIGN_OR_RETURN(*out, ParseUnsigned(value, std::string(key)));
    return Status::OK();
  }
  return Status::InvalidArgument("dsn: unknown parameter '" + PrintableExcerpt(name, 40) +
                                 "' (known: connect_timeout, read_timeout, write_timeout, "
                                 "socket; TLS is set with tls:)");
}

// Codes that may succeed when tried again later.
bool TransientCode(unsigned code) {
  switch (code) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case CR_SSL_CONNECTION_ERROR:  // after the handshake: the connection dropped (Connect says
                                   // otherwise)
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_SERVER_SHUTDOWN:
    case ER_NET_READ_INTERRUPTED:
    case ER_NET_WRITE_INTERRUPTED:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK:
    case ER_TABLE_DEF_CHANGED:
    case ER_QUERY_INTERRUPTED:
    case ER_CONNECTION_KILLED:
    case ER_STATEMENT_TIMEOUT:
    case 1158:  // ER_NET_READ_ERROR
    case 1160:  // ER_NET_ERROR_ON_WRITE
    case 1184:  // ER_NEW_ABORTING_CONNECTION
    case 1290:  // ER_OPTION_PREVENTS_STATEMENT: --read-only while a primary fails over
    case 1836:  // ER_READ_ONLY_MODE
    case 3024:  // MySQL: ER_QUERY_TIMEOUT (max_execution_time)
    case 4031:  // MySQL 8: ER_CLIENT_INTERACTION_TIMEOUT
      return true;
    default:
      return false;
  }
}

// A short hint after the server's message, for the errors a user can act on.
const char* Hint(unsigned code) {
  switch (code) {
    case 1045:
      return " (check the user and password in dsn)";
    case 1044:
    case 1142:
    case 1143:
    case 1227:
    case 1370:
      return " (the user lacks a privilege; see the GRANT statements in the mysql connector "
             "README)";
    case 1049:
      return " (the database in dsn does not exist)";
    case 1064:
      return " (SQL syntax)";
    case CR_SSL_CONNECTION_ERROR:
      return " (TLS: check tls.mode and tls.ca)";
    case ER_NOT_ALLOWED_COMMAND:
    case 3948:
      return " (LOAD DATA LOCAL is disabled on the server: local_infile=OFF)";
    default:
      return "";
  }
}

void EnsureLibraryInit() {
  // mysql_init is not thread-safe until the library is initialised once.
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

Status SetTls(MYSQL* m, const TlsConfig& tls) {
  my_bool on = 1, off = 0;
  if (!tls.Enabled()) {
    mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &off);
    return Status::OK();
  }
  // Connector/C 3.3 uses TLS when the server offers it once use_ssl is set (ENFORCE sets it);
  // without a CA the certificate is not checked. A given CA makes it check the chain, and
  // VERIFY_SERVER_CERT adds the host name check.
  mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
  if (!tls.ca.empty()) mysql_options(m, MYSQL_OPT_SSL_CA, tls.ca.c_str());
  if (!tls.cert.empty()) mysql_options(m, MYSQL_OPT_SSL_CERT, tls.cert.c_str());
  if (!tls.key.empty()) mysql_options(m, MYSQL_OPT_SSL_KEY, tls.key.c_str());
  my_bool verify = tls.VerifiesHost() ? 1 : 0;
  mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
  return Status::OK();
}

const char* SessionSql(Session s) {
  switch (s) {
    case Session::kSink:
      // Strict: a value that does not fit is refused, never truncated or zeroed.
      // NO_AUTO_VALUE_ON_ZERO: a loaded 0 in an AUTO_INCREMENT column stays 0.
      return "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
             "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO', "
             "time_zone = '+00:00', autocommit = 1";
    case Session::kSource:
      // The pipeline may hold a result stream unread while the sink commits: the server must
      // not give up on writing to us meanwhile (default 60 s).
      return "SET SESSION time_zone = '+00:00', net_write_timeout = 3600, net_read_timeout = 3600";
    case Session::kAdmin:
      return "SET SESSION time_zone = '+00:00'";
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DSN and options

Result<Dsn> ParseDsn(std::string_view url) {
  Dsn dsn;
  std::string_view rest;
  for (std::string_view scheme : {"mysql://", "mariadb://"}) {
    if (StartsWith(url, scheme)) rest = url.substr(scheme.size());
  }
  if (rest.empty()) {
    return Status::InvalidArgument("dsn: expected a URL mysql://user:password@host:port/database");
  }
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    ASSIGN_OR_RETURN(dsn.user, PercentDecode(userinfo.substr(0, colon), "user"));
    if (colon != std::string_view::npos) {
      ASSIGN_OR_RETURN(dsn.password, PercentDecode(userinfo.substr(colon + 1), "password"));
    }
  }
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view hostport = rest;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    ASSIGN_OR_RETURN(dsn.database, PercentDecode(rest.substr(slash + 1), "database"));
  }
  std::string_view host = hostport;
  std::string_view port;
  if (StartsWith(hostport, "[")) {  // [::1]:3306
    size_t close = hostport.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidArgument("dsn: unclosed '[' in the host");
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':')
        return Status::InvalidArgument("dsn: expected ':port' after ']'");
      port = hostport.substr(close + 2);
    }
  } else if (size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (!host.empty()) dsn.host = std::string(host);
  if (!port.empty()) {
    ASSIGN_OR_RETURN(unsigned p, ParseUnsigned(port, "the port"));
    if (p == 0 || p > 65535) return Status::InvalidArgument("dsn: the port must be 1-65535");
    dsn.port = p;
  }
  for (const std::string& kv : Split(query, '&')) {
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    ASSIGN_OR_RETURN(std::string value,
                     PercentDecode(eq == std::string::npos ? "" : kv.substr(eq + 1), "parameter"));
    RETURN_IF_ERROR(SetQueryParam(dsn, kv.substr(0, eq), value));
  }
  if (dsn.database.empty()) {
    return Status::InvalidArgument(
        "dsn: no database: write mysql://user:password@host:port/database");
  }
  return dsn;
}

std::string DescribeDsn(const Dsn& dsn) {
  std::string where = dsn.socket.empty() ? dsn.host + ":" + std::to_string(dsn.port) : dsn.socket;
  return where + "/" + dsn.database + " user=" + dsn.user;
}

OptionSpec DsnOptionSpec() {
  return {"dsn",
          OptionType::kString,
          "",
          "mysql://user:password@host:port/database[?connect_timeout=10&read_timeout=S&"
          "write_timeout=S&socket=/path]; a secret (use ${ENV})",
          true,
          {},
          true};
}

OptionSpec MysqlTlsOptionSpec() { return TlsOptionSpec("prefer"); }

Result<ConnOptions> ParseConnOptions(const Options& o, const ConfigNode& block,
                                     const std::string& base_dir) {
  ConnOptions out;
  const std::string where = block.path().empty() ? "dsn" : block.path() + ".dsn";
  if (!o.Has("dsn") || o.GetString("dsn").empty()) {
    return Status::InvalidArgument(
        where + ": required option is missing (mysql://user:password@host:port/database)");
  }
  auto dsn = ParseDsn(o.GetString("dsn"));
  if (!dsn.ok()) return Status::InvalidArgument(where + ": " + dsn.status().message().substr(5));
  out.dsn = std::move(dsn).value();
  ASSIGN_OR_RETURN(out.tls, ParseTls(o.Node("tls"), base_dir, "prefer"));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Errors and names

bool IsTransientError(unsigned code) { return TransientCode(code); }

bool IsDataError(unsigned code) {
  switch (code) {
    case ER_BAD_NULL_ERROR:
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_WARN_NULL_TO_NOTNULL:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case WARN_DATA_TRUNCATED:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_INVALID_CHARACTER_STRING:
    case ER_NO_DEFAULT_FOR_FIELD:
    case ER_DIVISION_BY_ZERO:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_ILLEGAL_VALUE_FOR_TYPE:
    case ER_DATA_TOO_LONG:
    case ER_WRONG_VALUE_FOR_TYPE:
    case ER_ROW_IS_REFERENCED_2:
    case ER_NO_REFERENCED_ROW_2:
    case ER_WRONG_VALUE:
    case ER_DATA_OUT_OF_RANGE:
    case ER_CONSTRAINT_FAILED:
    case 1216:  // ER_NO_REFERENCED_ROW
    case 1217:  // ER_ROW_IS_REFERENCED
    case 3140:  // MySQL: ER_INVALID_JSON_TEXT
    case 3819:  // MySQL: ER_CHECK_CONSTRAINT_VIOLATED
    case 4162:  // MariaDB: ER_JSON_... invalid JSON in a JSON column
      return true;
    default:
      return false;
  }
}

Status ErrorStatus(unsigned code, std::string_view message, std::string_view context) {
  std::string msg = std::string(context) + ": error " + std::to_string(code) + ": " +
                    std::string(message) + Hint(code);
  if (TransientCode(code)) return Status::Transient(msg);
  return Status::Permanent(msg);
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  out += '`';
  return out;
}

std::pair<std::string, std::string> SplitQualifiedName(std::string_view name) {
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) return {"", std::string(name)};
  return {std::string(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

std::string QuoteQualifiedName(std::string_view name) {
  auto [db, table] = SplitQualifiedName(name);
  return db.empty() ? QuoteIdent(table) : QuoteIdent(db) + "." + QuoteIdent(table);
}

std::string DerivedName(std::string_view table, std::string_view suffix) {
  constexpr size_t kMaxChars = 64;
  auto chars = [](std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  if (chars(table) + chars(suffix) <= kMaxChars) return std::string(table) + std::string(suffix);
  uint32_t h = 2166136261u;  // FNV-1a: a stable short tag for the cut part
  for (unsigned char c : table) h = (h ^ c) * 16777619u;
  char tag[10];
  std::snprintf(tag, sizeof tag, "_%08x", h);
  size_t keep = kMaxChars - chars(suffix) - 9;
  size_t bytes = 0, n = 0;
  while (bytes < table.size() && n < keep) {
    ++bytes;
    while (bytes < table.size() && (static_cast<unsigned char>(table[bytes]) & 0xC0) == 0x80)
      ++bytes;
    ++n;
  }
  return std::string(table.substr(0, bytes)) + tag + std::string(suffix);
}

// ---------------------------------------------------------------------------------------------
// Connection

Result<std::unique_ptr<Connection>> Connection::Connect(const ConnOptions& opts, Session session) {
  EnsureLibraryInit();
  const std::string describe = DescribeDsn(opts.dsn);
  const std::string context = "mysql " + describe;
  MYSQL* m = mysql_init(nullptr);
  if (m == nullptr) return Status::Transient(context + ": out of memory creating a connection");
  std::unique_ptr<Connection> conn(new Connection(m, describe));
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  unsigned timeout = opts.dsn.connect_timeout;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  if (opts.dsn.read_timeout) mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &opts.dsn.read_timeout);
  if (opts.dsn.write_timeout) mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &opts.dsn.write_timeout);
  // "localhost" would otherwise mean the default Unix socket, not the port the user wrote.
  unsigned protocol = opts.dsn.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
  my_bool reconnect = 0;  // a silent reconnect would lose the open transaction
  mysql_options(m, MYSQL_OPT_RECONNECT, &reconnect);
  if (session == Session::kSink) {
    unsigned local_infile = 1;
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
  }
  RETURN_IF_ERROR(SetTls(m, opts.tls));
  if (!mysql_real_connect(m, opts.dsn.host.c_str(), opts.dsn.user.c_str(),
                          opts.dsn.password.c_str(), opts.dsn.database.c_str(), opts.dsn.port,
                          opts.dsn.socket.empty() ? nullptr : opts.dsn.socket.c_str(), 0)) {
    // A TLS failure while connecting is a certificate or configuration problem, not a lost line.
    if (mysql_errno(m) == CR_SSL_CONNECTION_ERROR) {
      return Status::Permanent(context + ": cannot connect: error 2026: " +
                               std::string(mysql_error(m)) + Hint(CR_SSL_CONNECTION_ERROR));
    }
    return conn->Error(context + ": cannot connect");
  }
  if (opts.tls.mode != "disable" && opts.tls.mode != "prefer" &&
      mysql_get_ssl_cipher(m) == nullptr) {
    return Status::Permanent(context + ": tls.mode is " + opts.tls.mode +
                             " but the server does not offer TLS");
  }
  conn->mariadb_ = std::strstr(mysql_get_server_info(m), "MariaDB") != nullptr;
  RETURN_IF_ERROR(conn->Exec(SessionSql(session)));
  ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT @@max_allowed_packet"));
  if (!rows.empty() && rows[0][0]) {
    int64_t v = 0;
    if (ParseInt64(*rows[0][0], &v) && v > 0) conn->max_packet_ = v;
  }
  return conn;
}

Connection::~Connection() {
  if (conn_) mysql_close(conn_);
}

Status Connection::Error(std::string_view context) const {
  return ErrorStatus(mysql_errno(conn_), mysql_error(conn_), context);
}

unsigned Connection::last_errno() const { return mysql_errno(conn_); }

Status Connection::Exec(std::string_view sql) {
  if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return Error("mysql " + describe_);
  // A statement that returns rows (or several results) must be drained before the next one.
  do {
    MYSQL_RES* res = mysql_store_result(conn_);
    if (res)
      mysql_free_result(res);
    else if (mysql_field_count(conn_) != 0)
      return Error("mysql " + describe_);
  } while (mysql_next_result(conn_) == 0);
  return Status::OK();
}

Result<std::vector<Connection::Row>> Connection::Query(std::string_view sql,
                                                       const std::vector<Value>& params) {
  std::vector<Row> out;
  if (params.empty()) {
    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return Error("mysql " + describe_);
    MYSQL_RES* res = mysql_store_result(conn_);
    if (res == nullptr) {
      if (mysql_field_count(conn_) != 0) return Error("mysql " + describe_);
      return out;
    }
    const unsigned n = mysql_num_fields(res);
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
      unsigned long* len = mysql_fetch_lengths(res);
      Row r(n);
      for (unsigned c = 0; c < n; ++c) {
        if (row[c]) r[c] = std::string(row[c], len[c]);
      }
      out.push_back(std::move(r));
    }
    mysql_free_result(res);
    return out;
  }
  ASSIGN_OR_RETURN(auto stmt, Statement::Prepare(*this, sql));
  RETURN_IF_ERROR(stmt->Execute(params));
  MYSQL_STMT* s = stmt->raw();
  const unsigned n = mysql_stmt_field_count(s);
  if (n == 0) return out;
  std::vector<MYSQL_BIND> bind(n);
  std::vector<std::string> buf(n, std::string(256, '\0'));
  std::vector<unsigned long> len(n);
  std::vector<my_bool> is_null(n);
  for (unsigned c = 0; c < n; ++c) {
    std::memset(&bind[c], 0, sizeof(MYSQL_BIND));
    bind[c].buffer_type = MYSQL_TYPE_STRING;
    bind[c].buffer = buf[c].data();
    bind[c].buffer_length = buf[c].size();
    bind[c].length = &len[c];
    bind[c].is_null = &is_null[c];
  }
  if (mysql_stmt_bind_result(s, bind.data()) != 0) return stmt->Error("mysql " + describe_);
  for (;;) {
    int rc = mysql_stmt_fetch(s);
    if (rc == MYSQL_NO_DATA) break;
    if (rc == 1) return stmt->Error("mysql " + describe_);
    Row r(n);
    for (unsigned c = 0; c < n; ++c) {
      if (is_null[c]) continue;
      if (len[c] > buf[c].size()) {  // truncated: fetch the whole value
        std::string whole(len[c], '\0');
        MYSQL_BIND b;
        std::memset(&b, 0, sizeof b);
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = whole.data();
        b.buffer_length = whole.size();
        unsigned long got = 0;
        b.length = &got;
        if (mysql_stmt_fetch_column(s, &b, c, 0) != 0) return stmt->Error("mysql " + describe_);
        r[c] = std::move(whole);
      } else {
        r[c] = buf[c].substr(0, len[c]);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

uint64_t Connection::affected_rows() const { return mysql_affected_rows(conn_); }
unsigned Connection::warning_count() const { return mysql_warning_count(conn_); }
unsigned long Connection::thread_id() const { return mysql_thread_id(conn_); }
std::string Connection::server_info() const { return mysql_get_server_info(conn_); }

std::string Connection::Warnings() {
  auto rows = Query("SHOW WARNINGS LIMIT 3");
  if (!rows.ok()) return "(the warnings could not be read: " + rows.status().message() + ")";
  std::string out;
  for (const auto& r : *rows) {
    if (r.size() < 3) continue;
    if (!out.empty()) out += "; ";
    out += r[0].value_or("") + " " + r[1].value_or("") + ": " + r[2].value_or("");
  }
  return out;
}

void Connection::AppendEscaped(std::string& out, std::string_view s) const {
  size_t at = out.size();
  out.resize(at + s.size() * 2 + 1);
  unsigned long n = mysql_real_escape_string(conn_, out.data() + at, s.data(), s.size());
  out.resize(at + n);
}

// ---------------------------------------------------------------------------------------------
// Statement

struct ParamBuffers {
  std::vector<MYSQL_BIND> bind;
  std::vector<MYSQL_TIME> times;
  std::vector<Value> values;  // owned copies the binds point into
  std::vector<unsigned long> lengths;
};

Statement::Statement(Connection* conn, MYSQL_STMT* stmt)
    : conn_(conn), stmt_(stmt), params_(std::make_unique<ParamBuffers>()) {}

Statement::~Statement() {
  if (stmt_) mysql_stmt_close(stmt_);
}

Result<std::unique_ptr<Statement>> Statement::Prepare(Connection& conn, std::string_view sql) {
  MYSQL_STMT* s = mysql_stmt_init(conn.raw());
  if (s == nullptr) return conn.Error("mysql " + conn.describe());
  std::unique_ptr<Statement> stmt(new Statement(&conn, s));
  if (mysql_stmt_prepare(s, sql.data(), sql.size()) != 0) {
    return stmt->Error("mysql " + conn.describe() + ": preparing a statement");
  }
  return stmt;
}

unsigned Statement::param_count() const { return mysql_stmt_param_count(stmt_); }

Status Statement::Error(std::string_view context) const {
  return ErrorStatus(mysql_stmt_errno(stmt_), mysql_stmt_error(stmt_), context);
}

namespace {

void FillTime(MYSQL_TIME& t, const Value& v) {
  std::memset(&t, 0, sizeof t);
  int64_t micros = v.i;
  if (v.kind == Value::Kind::kDate || v.kind == Value::Kind::kDateTime) {
    int64_t days = v.kind == Value::Kind::kDate ? v.i : micros / 86400000000LL;
    int64_t rest = v.kind == Value::Kind::kDate ? 0 : micros % 86400000000LL;
    if (rest < 0) {
      rest += 86400000000LL;
      --days;
    }
    int64_t y;
    unsigned mo, d;
    CivilFromDays(days, &y, &mo, &d);
    t.year = static_cast<unsigned>(y);
    t.month = mo;
    t.day = d;
    micros = rest;
    t.time_type = v.kind == Value::Kind::kDate ? MYSQL_TIMESTAMP_DATE : MYSQL_TIMESTAMP_DATETIME;
  } else {
    t.time_type = MYSQL_TIMESTAMP_TIME;
    if (micros < 0) {
      t.neg = 1;
      micros = -micros;
    }
  }
  t.hour = static_cast<unsigned>(micros / 3600000000LL);
  t.minute = static_cast<unsigned>(micros / 60000000LL % 60);
  t.second = static_cast<unsigned>(micros / 1000000 % 60);
  t.second_part = static_cast<unsigned long>(micros % 1000000);
}

}  // namespace

Status Statement::Execute(const std::vector<Value>& params) {
  ParamBuffers& p = *params_;
  const size_t n = params.size();
  if (n != param_count()) {
    return Status::Internal("mysql: a statement with " + std::to_string(param_count()) +
                            " parameters was given " + std::to_string(n));
  }
  p.values = params;
  p.bind.assign(n, MYSQL_BIND{});
  p.times.assign(n, MYSQL_TIME{});
  p.lengths.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    Value& v = p.values[i];
    MYSQL_BIND& b = p.bind[i];
    std::memset(&b, 0, sizeof b);
    switch (v.kind) {
      case Value::Kind::kNull:
        b.buffer_type = MYSQL_TYPE_NULL;
        break;
      case Value::Kind::kInt:
      case Value::Kind::kUInt:
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &v.i;
        b.is_unsigned = v.kind == Value::Kind::kUInt;
        break;
      case Value::Kind::kDouble:
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &v.d;
        break;
      case Value::Kind::kText:
      case Value::Kind::kBytes:
        b.buffer_type = v.kind == Value::Kind::kText ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        b.buffer = v.s.data();
        b.buffer_length = v.s.size();
        p.lengths[i] = v.s.size();
        b.length = &p.lengths[i];
        break;
      case Value::Kind::kDate:
      case Value::Kind::kTime:
      case Value::Kind::kDateTime:
        FillTime(p.times[i], v);
        b.buffer_type = v.kind == Value::Kind::kDate   ? MYSQL_TYPE_DATE
                        : v.kind == Value::Kind::kTime ? MYSQL_TYPE_TIME
                                                       : MYSQL_TYPE_DATETIME;
        b.buffer = &p.times[i];
        break;
    }
  }
  const std::string context = "mysql " + conn_->describe();
  if (n > 0 && mysql_stmt_bind_param(stmt_, p.bind.data()) != 0) return Error(context);
  if (mysql_stmt_execute(stmt_) != 0) return Error(context);
  return Status::OK();
}

}  // namespace sluice::mysql
