#include "connectors/odbc/odbc_conn.h"

#include <cstring>

#include "connectors/odbc/odbc_types.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice::odbc {
namespace {

static_assert(sizeof(SQLWCHAR) == sizeof(char16_t), "unixODBC's SQLWCHAR is UTF-16");

SQLWCHAR* W(std::u16string& s) { return reinterpret_cast<SQLWCHAR*>(s.data()); }

std::string FromW(const SQLWCHAR* s, size_t n) {
  std::string out;
  AppendUtf16AsUtf8(reinterpret_cast<const char16_t*>(s), n, out);
  return out;
}

std::string InfoString(SQLHDBC dbc, SQLUSMALLINT what) {
  SQLWCHAR buf[256] = {};
  SQLSMALLINT len = 0;
  if (!SQL_SUCCEEDED(SQLGetInfoW(dbc, what, buf, sizeof buf, &len))) return {};
  return FromW(buf, std::min<size_t>(static_cast<size_t>(len) / sizeof(SQLWCHAR), 255));
}

bool PlainIdentifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

Connection::~Connection() {
  if (connected_) SQLDisconnect(dbc_);
  if (dbc_ != SQL_NULL_HDBC) SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
  if (env_ != SQL_NULL_HENV) SQLFreeHandle(SQL_HANDLE_ENV, env_);
}

Status Connection::Diagnose(SQLSMALLINT type, SQLHANDLE handle, const std::string& what) const {
  SQLWCHAR state[6] = {};
  SQLINTEGER native = 0;
  SQLWCHAR msg[2048] = {};
  SQLSMALLINT len = 0;
  std::string sqlstate = "HY000", text;
  for (SQLSMALLINT rec = 1; rec <= 3; ++rec) {
    const SQLRETURN rc = SQLGetDiagRecW(type, handle, rec, state, &native, msg, 2048, &len);
    if (!SQL_SUCCEEDED(rc)) break;
    if (rec == 1) sqlstate = FromW(state, 5);
    if (!text.empty()) text += "; ";
    text += FromW(msg, std::min<size_t>(static_cast<size_t>(len), 2047));
  }
  if (text.empty()) text = "no diagnostic from the driver";
  return StatusFromDiagnostic(sqlstate, Scrub(what + ": " + std::string(Trim(text)), secrets_));
}

Status Connection::Open(const std::string& conn_option) {
  const std::string conn =
      conn_option.find('=') == std::string::npos ? "DSN=" + conn_option : conn_option;
  secrets_ = ConnectionSecrets(conn);
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env_))) {
    return Status::Internal("odbc source: cannot allocate an ODBC environment");
  }
  SQLSetEnvAttr(env_, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, env_, &dbc_))) {
    return Diagnose(SQL_HANDLE_ENV, env_, "allocating a connection");
  }
  SQLSetConnectAttrW(dbc_, SQL_ATTR_LOGIN_TIMEOUT, reinterpret_cast<SQLPOINTER>(30), 0);
  std::u16string w = Utf8ToUtf16(conn);
  const SQLRETURN rc = SQLDriverConnectW(dbc_, nullptr, W(w), static_cast<SQLSMALLINT>(w.size()),
                                         nullptr, 0, nullptr, SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED(rc))
    return Diagnose(SQL_HANDLE_DBC, dbc_, "connecting with " + RedactConnectionString(conn));
  connected_ = true;
  quote_ = std::string(Trim(InfoString(dbc_, SQL_IDENTIFIER_QUOTE_CHAR)));
  dbms_ = InfoString(dbc_, SQL_DBMS_NAME);
  const std::string d = ToLower(dbms_);
  if (d.find("microsoft sql server") != std::string::npos ||
      d.find("sybase") != std::string::npos) {
    dialect_ = Dialect::kTop;
  } else if (d.find("postgres") != std::string::npos || d.find("sqlite") != std::string::npos ||
             d.find("mysql") != std::string::npos || d.find("mariadb") != std::string::npos) {
    dialect_ = Dialect::kLimit;
  } else {
    dialect_ = Dialect::kFetchFirst;  // SQL:2008; Oracle 12c+, DB2
  }
  times_as_text_ = d.find("sqlite") != std::string::npos;
  return Status::OK();
}

Result<std::string> Connection::Quote(const std::string& name) const {
  if (quote_.empty()) {
    if (PlainIdentifier(name)) return name;
    return Status::InvalidArgument("odbc source: the driver has no identifier quote, so " +
                                   JsonQuote(name) + " cannot be used as a name");
  }
  std::string out = quote_;
  for (size_t i = 0; i < name.size();) {
    if (name.compare(i, quote_.size(), quote_) == 0) {
      out += quote_ + quote_;
      i += quote_.size();
    } else {
      out += name[i++];
    }
  }
  return out + quote_;
}

Status Connection::SetAutocommit(bool on) {
  const SQLRETURN rc = SQLSetConnectAttrW(dbc_, SQL_ATTR_AUTOCOMMIT,
                                          reinterpret_cast<SQLPOINTER>(static_cast<uintptr_t>(
                                              on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF)),
                                          0);
  return SQL_SUCCEEDED(rc) ? Status::OK() : Diagnose(SQL_HANDLE_DBC, dbc_, "setting autocommit");
}

bool Connection::SetRepeatableRead() {
  return SQL_SUCCEEDED(SQLSetConnectAttrW(
      dbc_, SQL_ATTR_TXN_ISOLATION,
      reinterpret_cast<SQLPOINTER>(static_cast<uintptr_t>(SQL_TXN_REPEATABLE_READ)), 0));
}

Status Connection::EndTransaction(bool commit) {
  const SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, dbc_, commit ? SQL_COMMIT : SQL_ROLLBACK);
  return SQL_SUCCEEDED(rc) ? Status::OK()
                           : Diagnose(SQL_HANDLE_DBC, dbc_, "ending the read transaction");
}

Statement::~Statement() {
  if (st_ != SQL_NULL_HSTMT) SQLFreeHandle(SQL_HANDLE_STMT, st_);
}

Status Statement::Init() {
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, conn_->get(), &st_))) {
    return conn_->Diagnose(SQL_HANDLE_DBC, conn_->get(), "allocating a statement");
  }
  return Status::OK();
}

Status Statement::Check(SQLRETURN rc, const std::string& what) const {
  if (SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA) return Status::OK();
  return conn_->Diagnose(SQL_HANDLE_STMT, st_, what);
}

Status Statement::Prepare(const std::string& sql) {
  std::u16string w = Utf8ToUtf16(sql);
  return Check(SQLPrepareW(st_, W(w), static_cast<SQLINTEGER>(w.size())),
               "preparing " + PrintableExcerpt(sql, 300));
}

Status Statement::Execute() { return Check(SQLExecute(st_), "running the statement"); }

Status Statement::ExecDirect(const std::string& sql) {
  std::u16string w = Utf8ToUtf16(sql);
  return Check(SQLExecDirectW(st_, W(w), static_cast<SQLINTEGER>(w.size())),
               "running " + PrintableExcerpt(sql, 300));
}

Status Statement::BindParam(int i, const std::optional<std::string>& value, const DataType& type) {
  SQLSMALLINT ctype = SQL_C_WCHAR, sqltype = SQL_WVARCHAR;
  SQLULEN size = 0;
  SQLSMALLINT digits = 0;
  std::vector<char> buf;
  auto put = [&](const void* p, size_t n) {
    buf.assign(static_cast<const char*>(p), static_cast<const char*>(p) + n);
  };
  int64_t n = 0;
  double d = 0;
  int32_t days = 0;
  int64_t us = 0;
  bool zone = false;
  bool b = false;
  const std::string text = value.value_or("");
  const bool time_type =
      type.id == TypeId::kDate || type.id == TypeId::kTimestamp || type.id == TypeId::kTime;
  auto wide_text = [&] {
    std::u16string w = Utf8ToUtf16(text);
    size = std::max<size_t>(1, w.size());
    put(w.data(), w.size() * sizeof(char16_t));
  };
  if (time_type && conn_->times_as_text()) {
    wide_text();
  } else if (type.id == TypeId::kInt64 && ParseInt64(text, &n)) {
    ctype = SQL_C_SBIGINT;
    sqltype = SQL_BIGINT;
    put(&n, sizeof n);
  } else if (type.id == TypeId::kFloat64 && ParseFloat64(text, &d)) {
    ctype = SQL_C_DOUBLE;
    sqltype = SQL_DOUBLE;
    put(&d, sizeof d);
  } else if (type.id == TypeId::kBool && ParseBool(text, &b)) {
    const unsigned char bit = b ? 1 : 0;
    ctype = SQL_C_BIT;
    sqltype = SQL_BIT;
    put(&bit, 1);
  } else if (type.id == TypeId::kDate && ParseDate(text, &days)) {
    int64_t y = 0;
    unsigned m = 0, dd = 0;
    CivilFromDays(days, &y, &m, &dd);
    SQL_DATE_STRUCT s{static_cast<SQLSMALLINT>(y), static_cast<SQLUSMALLINT>(m),
                      static_cast<SQLUSMALLINT>(dd)};
    ctype = SQL_C_TYPE_DATE;
    sqltype = SQL_TYPE_DATE;
    size = 10;
    put(&s, sizeof s);
  } else if (type.id == TypeId::kTimestamp && ParseTimestamp(text, &us, &zone)) {
    int64_t day = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0) {
      rem += 86400000000LL;
      --day;
    }
    int64_t y = 0;
    unsigned m = 0, dd = 0;
    CivilFromDays(day, &y, &m, &dd);
    SQL_TIMESTAMP_STRUCT s{};
    s.year = static_cast<SQLSMALLINT>(y);
    s.month = static_cast<SQLUSMALLINT>(m);
    s.day = static_cast<SQLUSMALLINT>(dd);
    s.hour = static_cast<SQLUSMALLINT>(rem / 3600000000LL);
    s.minute = static_cast<SQLUSMALLINT>(rem / 60000000LL % 60);
    s.second = static_cast<SQLUSMALLINT>(rem / 1000000LL % 60);
    s.fraction = static_cast<SQLUINTEGER>(rem % 1000000LL * 1000);
    ctype = SQL_C_TYPE_TIMESTAMP;
    sqltype = SQL_TYPE_TIMESTAMP;
    size = 26;
    digits = 6;
    put(&s, sizeof s);
  } else if (type.id == TypeId::kDecimal) {
    ctype = SQL_C_CHAR;
    sqltype = SQL_DECIMAL;
    size = type.precision;
    digits = type.scale;
    put(text.data(), text.size());
  } else if (type.id == TypeId::kBinary) {
    // A binary key's text form is its hex (see BlockReader::Text).
    std::string bytes;
    auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    for (size_t k = 0; k + 1 < text.size(); k += 2)
      bytes.push_back(static_cast<char>(nibble(text[k]) * 16 + nibble(text[k + 1])));
    ctype = SQL_C_BINARY;
    sqltype = SQL_VARBINARY;
    size = std::max<size_t>(1, bytes.size());
    put(bytes.data(), bytes.size());
  } else {
    wide_text();
  }
  const auto len = static_cast<SQLLEN>(buf.size());
  if (buf.empty()) buf.push_back(0);  // a valid pointer for an empty value
  param_bufs_.push_back(std::move(buf));
  std::vector<char>& kept = param_bufs_.back();
  param_inds_.push_back(value ? len : SQL_NULL_DATA);
  const SQLRETURN rc =
      SQLBindParameter(st_, static_cast<SQLUSMALLINT>(i), SQL_PARAM_INPUT, ctype, sqltype, size,
                       digits, kept.data(), static_cast<SQLLEN>(kept.size()), &param_inds_.back());
  return Check(rc, "binding parameter " + std::to_string(i));
}

Result<std::vector<ResultColumn>> DescribeResult(Statement& st) {
  SQLSMALLINT n = 0;
  RETURN_IF_ERROR(st.Check(SQLNumResultCols(st.get(), &n), "counting the result columns"));
  std::vector<ResultColumn> cols;
  for (SQLUSMALLINT i = 1; i <= static_cast<SQLUSMALLINT>(n); ++i) {
    SQLWCHAR name[512] = {};
    SQLSMALLINT name_len = 0, type = 0, digits = 0, nullable = SQL_NULLABLE_UNKNOWN;
    SQLULEN size = 0;
    RETURN_IF_ERROR(st.Check(
        SQLDescribeColW(st.get(), i, name, 512, &name_len, &type, &size, &digits, &nullable),
        "describing column " + std::to_string(i)));
    ResultColumn c;
    c.name = FromW(name, std::min<size_t>(static_cast<size_t>(name_len), 511));
    c.sql_type = type;
    c.size = size;
    c.digits = digits;
    c.nullable = nullable != SQL_NO_NULLS;
    SQLWCHAR tn[256] = {};
    SQLSMALLINT tn_len = 0;
    if (SQL_SUCCEEDED(
            SQLColAttributeW(st.get(), i, SQL_DESC_TYPE_NAME, tn, sizeof tn, &tn_len, nullptr))) {
      c.type_name =
          FromW(tn, std::min<size_t>(static_cast<size_t>(tn_len) / sizeof(SQLWCHAR), 255));
    }
    cols.push_back(std::move(c));
  }
  return cols;
}

}  // namespace sluice::odbc
