#include "connectors/mysql/mysql_reader.h"

#include <mysql.h>

#include <charconv>
#include <cstring>

#include "core/strings.h"
#include "core/values.h"

namespace sluice::mysql {
namespace {

constexpr int64_t kMicrosPerDay = 86400000000LL;

// The shortest decimal text of a FLOAT, as double: 0.1f reads as 0.1, as the server shows it,
// not as 0.100000001490116.
double FloatAsShown(float f) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = f;
  std::from_chars(buf, r.ptr, d);
  return d;
}

bool BitValue(std::string_view bytes, int64_t* out) {
  uint64_t v = 0;
  for (unsigned char c : bytes) {
    if (v >> 56) return false;
    v = (v << 8) | c;
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

bool ZeroDate(const MYSQL_TIME& t) { return t.year == 0 || t.month == 0 || t.day == 0; }

int64_t DayMicros(const MYSQL_TIME& t) {
  return ((static_cast<int64_t>(t.hour) * 60 + t.minute) * 60 + t.second) * 1000000 + t.second_part;
}

std::string TimeText(const MYSQL_TIME& t) {
  char buf[80];
  if (t.time_type == MYSQL_TIMESTAMP_TIME) {
    std::snprintf(buf, sizeof buf, "%s%02u:%02u:%02u.%06lu", t.neg ? "-" : "", t.hour, t.minute,
                  t.second, t.second_part);
  } else if (t.time_type == MYSQL_TIMESTAMP_DATE) {
    std::snprintf(buf, sizeof buf, "%04u-%02u-%02u", t.year, t.month, t.day);
  } else {
    std::snprintf(buf, sizeof buf, "%04u-%02u-%02u %02u:%02u:%02u.%06lu", t.year, t.month, t.day,
                  t.hour, t.minute, t.second, t.second_part);
  }
  return buf;
}

// Appends one text value of kind `k` to `b`; false (and `why`) when sluice cannot hold it.
bool AppendText(ColumnBuilder& b, const SourceColumn& col, std::string_view v, const char** why) {
  switch (col.fetch) {
    case FetchKind::kBool:
    case FetchKind::kInt: {
      int64_t x;
      if (!ParseInt64(v, &x)) return *why = "not an integer", false;
      if (col.fetch == FetchKind::kBool)
        b.AppendBool(x != 0);
      else
        b.AppendInt64(x);
      return true;
    }
    case FetchKind::kUInt64:
    case FetchKind::kDecimal: {
      int128_t d;
      if (!ParseDecimal(v, col.type.precision, col.type.scale, &d))
        return *why = "does not fit the decimal type", false;
      b.AppendDecimal(d);
      return true;
    }
    case FetchKind::kFloat:
    case FetchKind::kDouble: {
      double d;
      if (!ParseFloat64(v, &d)) return *why = "not a number", false;
      b.AppendFloat64(d);
      return true;
    }
    case FetchKind::kDecimalText:
    case FetchKind::kString:
    case FetchKind::kJson:
      if (!IsValidUtf8(v)) return *why = "not valid UTF-8", false;
      b.AppendBytes(v);
      return true;
    case FetchKind::kBinary:
      b.AppendBytes(v);
      return true;
    case FetchKind::kBit: {
      int64_t x;
      if (!BitValue(v, &x)) return *why = "a BIT value above 2^63-1", false;
      b.AppendInt64(x);
      return true;
    }
    case FetchKind::kDate: {
      int32_t days;
      if (!ParseDate(v, &days)) return *why = "not a calendar date (a zero date?)", false;
      b.AppendDate(days);
      return true;
    }
    case FetchKind::kTime: {
      int64_t micros;
      if (!ParseTime(v, &micros))
        return *why = "a TIME outside 00:00:00-23:59:59.999999, which a time of day cannot hold",
               false;
      b.AppendInt64(micros);
      return true;
    }
    case FetchKind::kDateTime:
    case FetchKind::kTimestamp: {
      int64_t micros;
      bool zone;
      if (!ParseTimestamp(v, &micros, &zone))
        return *why = "not a calendar date and time (a zero date?)", false;
      b.AppendInt64(micros);
      return true;
    }
  }
  return *why = "unsupported", false;
}

Value TextValue(const SourceColumn& col, std::string_view v) {
  switch (col.fetch) {
    case FetchKind::kBool:
    case FetchKind::kInt: {
      int64_t x = 0;
      ParseInt64(v, &x);
      return Value::Int(x);
    }
    case FetchKind::kBit: {
      int64_t x = 0;
      BitValue(v, &x);
      return Value::Int(x);
    }
    case FetchKind::kUInt64: {
      uint64_t x = 0;
      std::from_chars(v.data(), v.data() + v.size(), x);
      return Value::UInt(x);
    }
    case FetchKind::kFloat:
    case FetchKind::kDouble: {
      double d = 0;
      ParseFloat64(v, &d);
      return Value::Double(d);
    }
    case FetchKind::kBinary:
      return Value::Bytes(std::string(v));
    case FetchKind::kDate: {
      int32_t days = 0;
      ParseDate(v, &days);
      return Value::Date(days);
    }
    case FetchKind::kTime: {
      int64_t micros = 0;
      ParseTime(v, &micros);
      return Value::Time(micros);
    }
    case FetchKind::kDateTime:
    case FetchKind::kTimestamp: {
      int64_t micros = 0;
      bool zone;
      ParseTimestamp(v, &micros, &zone);
      return Value::DateTime(micros);
    }
    default:
      return Value::Text(std::string(v));
  }
}

// ---------------------------------------------------------------------------------------------

class TextReader final : public RowReader {
 public:
  TextReader(MYSQL* conn, MYSQL_RES* res, const std::vector<SourceColumn>& cols)
      : conn_(conn), res_(res), cols_(cols) {}
  ~TextReader() override {
    // Dropping an unfinished streamed result reads (and discards) the rest of it.
    if (res_) mysql_free_result(res_);
  }

  Result<bool> Next(RecordBatchBuilder& out, RowIssue* issue) override {
    issue->column.clear();
    row_ = mysql_fetch_row(res_);
    if (row_ == nullptr) {
      if (mysql_errno(conn_))
        return ErrorStatus(mysql_errno(conn_), mysql_error(conn_), "mysql: reading rows");
      return false;
    }
    len_ = mysql_fetch_lengths(res_);
    for (size_t c = 0; c < cols_.size(); ++c) {
      ColumnBuilder& b = out.column(c);
      if (row_[c] == nullptr) {
        b.AppendNull();
        continue;
      }
      const char* why = nullptr;
      if (!AppendText(b, cols_[c], std::string_view(row_[c], len_[c]), &why)) {
        out.RollbackRow();
        issue->column = cols_[c].name;
        issue->reason = std::string("the value of ") + cols_[c].server_type + " column " +
                        QuoteIdent(cols_[c].name) + " is " + why;
        return true;
      }
    }
    return true;
  }

  Value Get(size_t c) const override {
    if (row_ == nullptr || row_[c] == nullptr) return Value::Null();
    return TextValue(cols_[c], std::string_view(row_[c], len_[c]));
  }

  std::string RowJson() const override {
    std::string out = "{";
    for (size_t c = 0; c < cols_.size(); ++c) {
      if (c) out += ',';
      AppendJsonString(out, cols_[c].name);
      out += ':';
      if (row_[c] == nullptr)
        out += "null";
      else
        AppendJsonString(out, std::string_view(row_[c], len_[c]));
    }
    return out + "}";
  }

  uint64_t row_bytes() const override {
    uint64_t n = 0;
    for (size_t c = 0; c < cols_.size(); ++c) n += len_[c] + 1;
    return n;
  }

 private:
  MYSQL* conn_;
  MYSQL_RES* res_;
  const std::vector<SourceColumn>& cols_;
  MYSQL_ROW row_ = nullptr;
  unsigned long* len_ = nullptr;
};

// ---------------------------------------------------------------------------------------------

struct Cell {
  union {
    int64_t i;
    uint64_t u;
    double d;
    float f;
  };
  MYSQL_TIME t;
  std::vector<char> bytes;
  unsigned long length = 0;
  my_bool is_null = 0;
  my_bool error = 0;
  bool var = false;
  std::string_view view() const { return {bytes.data(), std::min<size_t>(length, bytes.size())}; }
};

class BinaryReader final : public RowReader {
 public:
  BinaryReader(MYSQL_STMT* stmt, const std::vector<SourceColumn>& cols)
      : stmt_(stmt), cols_(cols), cells_(cols.size()), bind_(cols.size()) {}
  ~BinaryReader() override { mysql_stmt_free_result(stmt_); }

  Status Bind() {
    for (size_t c = 0; c < cols_.size(); ++c) {
      Cell& cell = cells_[c];
      MYSQL_BIND& b = bind_[c];
      std::memset(&b, 0, sizeof b);
      b.length = &cell.length;
      b.is_null = &cell.is_null;
      b.error = &cell.error;
      switch (cols_[c].fetch) {
        case FetchKind::kBool:
        case FetchKind::kInt:
        case FetchKind::kUInt64:
          b.buffer_type = MYSQL_TYPE_LONGLONG;
          b.buffer = &cell.i;
          b.is_unsigned = cols_[c].fetch == FetchKind::kUInt64;
          break;
        case FetchKind::kFloat:
          b.buffer_type = MYSQL_TYPE_FLOAT;
          b.buffer = &cell.f;
          break;
        case FetchKind::kDouble:
          b.buffer_type = MYSQL_TYPE_DOUBLE;
          b.buffer = &cell.d;
          break;
        case FetchKind::kDate:
        case FetchKind::kTime:
        case FetchKind::kDateTime:
        case FetchKind::kTimestamp:
          b.buffer_type = cols_[c].fetch == FetchKind::kDate   ? MYSQL_TYPE_DATE
                          : cols_[c].fetch == FetchKind::kTime ? MYSQL_TYPE_TIME
                                                               : MYSQL_TYPE_DATETIME;
          b.buffer = &cell.t;
          break;
        default:
          cell.var = true;
          cell.bytes.resize(256);
          b.buffer_type = MYSQL_TYPE_BLOB;
          b.buffer = cell.bytes.data();
          b.buffer_length = cell.bytes.size();
      }
    }
    if (mysql_stmt_bind_result(stmt_, bind_.data()) != 0) return Error("binding the result");
    return Status::OK();
  }

  Result<bool> Next(RecordBatchBuilder& out, RowIssue* issue) override {
    issue->column.clear();
    int rc = mysql_stmt_fetch(stmt_);
    if (rc == MYSQL_NO_DATA) return false;
    if (rc == 1) return Error("reading rows");
    if (rc == MYSQL_DATA_TRUNCATED) RETURN_IF_ERROR(FetchLongValues());
    for (size_t c = 0; c < cols_.size(); ++c) {
      const char* why = nullptr;
      if (!Append(out.column(c), c, &why)) {
        out.RollbackRow();
        issue->column = cols_[c].name;
        issue->reason = std::string("the value of ") + cols_[c].server_type + " column " +
                        QuoteIdent(cols_[c].name) + " is " + why;
        return true;
      }
    }
    return true;
  }

  Value Get(size_t c) const override {
    const Cell& cell = cells_[c];
    if (cell.is_null) return Value::Null();
    switch (cols_[c].fetch) {
      case FetchKind::kBool:
      case FetchKind::kInt:
        return Value::Int(cell.i);
      case FetchKind::kUInt64:
        return Value::UInt(cell.u);
      case FetchKind::kFloat:
        return Value::Double(FloatAsShown(cell.f));
      case FetchKind::kDouble:
        return Value::Double(cell.d);
      case FetchKind::kDate:
        return Value::Date(DaysFromCivil(cell.t.year, cell.t.month, cell.t.day));
      case FetchKind::kTime:
        return Value::Time((cell.t.neg ? -1 : 1) * DayMicros(cell.t));
      case FetchKind::kDateTime:
      case FetchKind::kTimestamp:
        return Value::DateTime(DaysFromCivil(cell.t.year, cell.t.month, cell.t.day) *
                                   kMicrosPerDay +
                               DayMicros(cell.t));
      case FetchKind::kBit: {
        int64_t x = 0;
        BitValue(cell.view(), &x);
        return Value::Int(x);
      }
      case FetchKind::kBinary:
        return Value::Bytes(std::string(cell.view()));
      default:
        return Value::Text(std::string(cell.view()));
    }
  }

  std::string RowJson() const override {
    std::string out = "{";
    for (size_t c = 0; c < cols_.size(); ++c) {
      if (c) out += ',';
      AppendJsonString(out, cols_[c].name);
      out += ':';
      const Cell& cell = cells_[c];
      if (cell.is_null) {
        out += "null";
      } else if (cell.var) {
        AppendJsonString(out, cell.view());
      } else if (bind_[c].buffer_type == MYSQL_TYPE_DATE ||
                 bind_[c].buffer_type == MYSQL_TYPE_TIME ||
                 bind_[c].buffer_type == MYSQL_TYPE_DATETIME) {
        AppendJsonString(out, TimeText(cell.t));
      } else {
        out += ValueJson(Get(c));
      }
    }
    return out + "}";
  }

  uint64_t row_bytes() const override {
    uint64_t n = 0;
    for (const Cell& cell : cells_) n += cell.var ? cell.length + 1 : 8;
    return n;
  }

 private:
  Status Error(const char* what) const {
    return ErrorStatus(mysql_stmt_errno(stmt_), mysql_stmt_error(stmt_),
                       std::string("mysql: ") + what);
  }

  // Values longer than their buffer: the buffer grows to fit and the value is fetched again.
  Status FetchLongValues() {
    bool rebind = false;
    for (size_t c = 0; c < cols_.size(); ++c) {
      Cell& cell = cells_[c];
      if (!cell.var || cell.is_null || cell.length <= cell.bytes.size()) continue;
      cell.bytes.resize(std::max<size_t>(cell.length, cell.bytes.size() * 2));
      bind_[c].buffer = cell.bytes.data();
      bind_[c].buffer_length = cell.bytes.size();
      if (mysql_stmt_fetch_column(stmt_, &bind_[c], static_cast<unsigned>(c), 0) != 0)
        return Error("reading a long value");
      rebind = true;
    }
    if (rebind && mysql_stmt_bind_result(stmt_, bind_.data()) != 0)
      return Error("binding the result");
    return Status::OK();
  }

  bool Append(ColumnBuilder& b, size_t c, const char** why) {
    const Cell& cell = cells_[c];
    if (cell.is_null) {
      b.AppendNull();
      return true;
    }
    switch (cols_[c].fetch) {
      case FetchKind::kBool:
        b.AppendBool(cell.i != 0);
        return true;
      case FetchKind::kInt:
        b.AppendInt64(cell.i);
        return true;
      case FetchKind::kUInt64:
        b.AppendDecimal(static_cast<int128_t>(cell.u));
        return true;
      case FetchKind::kFloat:
        b.AppendFloat64(FloatAsShown(cell.f));
        return true;
      case FetchKind::kDouble:
        b.AppendFloat64(cell.d);
        return true;
      case FetchKind::kDate:
        if (ZeroDate(cell.t)) return *why = "a zero date, which is no calendar date", false;
        b.AppendDate(DaysFromCivil(cell.t.year, cell.t.month, cell.t.day));
        return true;
      case FetchKind::kTime:
        if (cell.t.neg || cell.t.day > 0 || cell.t.hour > 23) {
          return *why = "a TIME outside 00:00:00-23:59:59.999999, which a time of day cannot hold",
                 false;
        }
        b.AppendInt64(DayMicros(cell.t));
        return true;
      case FetchKind::kDateTime:
      case FetchKind::kTimestamp:
        if (ZeroDate(cell.t)) return *why = "a zero date, which is no calendar date", false;
        b.AppendInt64(DaysFromCivil(cell.t.year, cell.t.month, cell.t.day) * kMicrosPerDay +
                      DayMicros(cell.t));
        return true;
      default:
        return AppendText(b, cols_[c], cell.view(), why);
    }
  }

  MYSQL_STMT* stmt_;
  const std::vector<SourceColumn>& cols_;
  std::vector<Cell> cells_;
  std::vector<MYSQL_BIND> bind_;
};

Result<SourceColumn> FieldColumn(const MYSQL_FIELD& f) {
  SourceColumn c;
  c.name = std::string(f.name, f.name_length);
  auto set = [&](FetchKind k, DataType t, const char* server) {
    c.fetch = k;
    c.type = t;
    c.server_type = server;
    return c;
  };
  const bool is_unsigned = f.flags & UNSIGNED_FLAG;
  switch (f.type) {
    case MYSQL_TYPE_TINY:
      if (f.length == 1) return set(FetchKind::kBool, DataType::Bool(), "tinyint(1)");
      return set(FetchKind::kInt, DataType::Int64(), "tinyint");
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_YEAR:
      return set(FetchKind::kInt, DataType::Int64(), "int");
    case MYSQL_TYPE_LONGLONG:
      if (is_unsigned) return set(FetchKind::kUInt64, DataType::Decimal(20, 0), "bigint unsigned");
      return set(FetchKind::kInt, DataType::Int64(), "bigint");
    case MYSQL_TYPE_FLOAT:
      return set(FetchKind::kFloat, DataType::Float64(), "float");
    case MYSQL_TYPE_DOUBLE:
      return set(FetchKind::kDouble, DataType::Float64(), "double");
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
      int scale = static_cast<int>(f.decimals);
      int precision = static_cast<int>(f.length) - (scale > 0 ? 1 : 0) - (is_unsigned ? 0 : 1);
      if (precision > 38) return set(FetchKind::kDecimalText, DataType::String(), "decimal");
      return set(FetchKind::kDecimal, DataType::Decimal(std::max(precision, 1), scale), "decimal");
    }
    case MYSQL_TYPE_BIT:
      return set(FetchKind::kBit, DataType::Int64(), "bit");
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
      return set(FetchKind::kDate, DataType::Date(), "date");
    case MYSQL_TYPE_TIME:
      return set(FetchKind::kTime, DataType::Time(), "time");
    case MYSQL_TYPE_DATETIME:
      return set(FetchKind::kDateTime, DataType::Timestamp(false), "datetime");
    case MYSQL_TYPE_TIMESTAMP:
      return set(FetchKind::kTimestamp, DataType::Timestamp(true), "timestamp");
    case MYSQL_TYPE_JSON:
      return set(FetchKind::kJson, DataType::Json(), "json");
    case MYSQL_TYPE_NULL:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
      return set(FetchKind::kString, DataType::String(), "string");
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB: {
      MARIADB_CONST_STRING format{nullptr, 0};
      if (mariadb_field_attr(&format, &f, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 && format.str &&
          std::string_view(format.str, format.length) == "json") {
        return set(FetchKind::kJson, DataType::Json(), "json");
      }
      if (f.charsetnr == 63) return set(FetchKind::kBinary, DataType::Binary(), "binary");
      return set(FetchKind::kString, DataType::String(), "string");
    }
    default:
      return Status::Permanent(
          "mysql query: result column " + QuoteIdent(c.name) + " has a type (" +
          std::to_string(static_cast<int>(f.type)) +
          ", e.g. geometry) that sluice cannot read; convert it in the query (ST_AsText ...)");
  }
}

}  // namespace

Result<std::unique_ptr<RowReader>> MakeBinaryReader(Statement& stmt,
                                                    const std::vector<SourceColumn>& cols) {
  auto r = std::make_unique<BinaryReader>(stmt.raw(), cols);
  RETURN_IF_ERROR(r->Bind());
  return std::unique_ptr<RowReader>(std::move(r));
}

Result<std::unique_ptr<RowReader>> MakeTextReader(Connection& conn,
                                                  const std::vector<SourceColumn>& cols) {
  MYSQL_RES* res = mysql_use_result(conn.raw());
  if (res == nullptr) return conn.Error("mysql " + conn.describe() + ": reading rows");
  if (mysql_num_fields(res) != cols.size()) {
    mysql_free_result(res);
    return Status::Internal("mysql: the result has an unexpected number of columns");
  }
  return std::unique_ptr<RowReader>(new TextReader(conn.raw(), res, cols));
}

Result<std::vector<SourceColumn>> ResultColumns(Statement& stmt, bool* has_result) {
  std::vector<SourceColumn> out;
  MYSQL_RES* meta = mysql_stmt_result_metadata(stmt.raw());
  *has_result = meta != nullptr;
  if (!meta) return out;
  const unsigned n = mysql_num_fields(meta);
  MYSQL_FIELD* fields = mysql_fetch_fields(meta);
  Status st;
  for (unsigned i = 0; i < n && st.ok(); ++i) {
    auto c = FieldColumn(fields[i]);
    if (c.ok())
      out.push_back(std::move(c).value());
    else
      st = c.status();
  }
  mysql_free_result(meta);
  if (!st.ok()) return st;
  return out;
}

}  // namespace sluice::mysql
