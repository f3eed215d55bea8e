#include "connectors/mysql/mysql_types.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "core/values.h"

namespace sluice::mysql {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(std::string& out, std::string_view bytes) {
  size_t at = out.size();
  out.resize(at + bytes.size() * 2);
  char* p = out.data() + at;
  for (unsigned char c : bytes) {
    *p++ = kHex[c >> 4];
    *p++ = kHex[c & 15];
  }
}

Result<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2) return Status::Corruption("odd number of hex digits");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    auto digit = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::Corruption("not a hex digit");
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// The LOAD DATA escapes for one text value: backslash, tab, newline, NUL and CR.
void AppendLoadEscaped(std::string& out, std::string_view s) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const char* esc = c == '\\'   ? "\\\\"
                      : c == '\t' ? "\\t"
                      : c == '\n' ? "\\n"
                      : c == '\0' ? "\\0"
                      : c == '\r' ? "\\r"
                                  : nullptr;
    if (!esc) continue;
    out.append(s.data() + start, i - start);
    out += esc;
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

}  // namespace

std::string DdlType(const DataType& t, bool key, bool mariadb) {
  const char* bin_collation = mariadb ? "utf8mb4_nopad_bin" : "utf8mb4_0900_bin";
  switch (t.id) {
    case TypeId::kBool:
      return "BOOLEAN";
    case TypeId::kInt64:
      return "BIGINT";
    case TypeId::kFloat64:
      return "DOUBLE";
    case TypeId::kDecimal: {
      int p = t.precision == 0 ? 38 : t.precision;
      int s = std::min<int>(t.scale, p);
      return "DECIMAL(" + std::to_string(p) + "," + std::to_string(s) + ")";
    }
    case TypeId::kString:
    case TypeId::kJson:
      if (key) return std::string("VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ") + bin_collation;
      return t.id == TypeId::kJson ? "JSON" : "LONGTEXT";
    case TypeId::kBinary:
      return key ? "VARBINARY(255)" : "LONGBLOB";
    case TypeId::kDate:
      return "DATE";
    case TypeId::kTime:
      return "TIME(6)";
    case TypeId::kTimestamp:
      return "DATETIME(6)";
  }
  return "LONGTEXT";
}

void AppendSqlLiteral(std::string& out, const Column& col, int64_t row, const Connection& conn) {
  if (col.IsNull(row)) {
    out += "NULL";
    return;
  }
  char buf[kMaxTextForm];
  switch (col.type().id) {
    case TypeId::kBool:
      out += col.BoolAt(row) ? '1' : '0';
      return;
    case TypeId::kInt64:
    case TypeId::kFloat64:
      AppendValueText(col, row, out);
      return;
    case TypeId::kDecimal:
      out.append(buf, PutTextForm(buf, col, row));
      return;
    case TypeId::kDate:
    case TypeId::kTime:
      out += '\'';
      out.append(buf, PutTextForm(buf, col, row));
      out += '\'';
      return;
    case TypeId::kTimestamp:
      // DATETIME has no zone: a tz value goes in as its UTC wall clock.
      out += '\'';
      out.append(buf, PutTimestamp(buf, col.Int64At(row), false));
      out += '\'';
      return;
    case TypeId::kString:
    case TypeId::kJson:
      out += '\'';
      conn.AppendEscaped(out, col.BytesAt(row));
      out += '\'';
      return;
    case TypeId::kBinary:
      out += "X'";
      AppendHex(out, col.BytesAt(row));
      out += '\'';
      return;
  }
}

void AppendLoadValue(std::string& out, const Column& col, int64_t row) {
  if (col.IsNull(row)) {
    out += "\\N";
    return;
  }
  char buf[kMaxTextForm];
  switch (col.type().id) {
    case TypeId::kBool:
      out += col.BoolAt(row) ? '1' : '0';
      return;
    case TypeId::kInt64:
    case TypeId::kFloat64:
      AppendValueText(col, row, out);
      return;
    case TypeId::kTimestamp:
      out.append(buf, PutTimestamp(buf, col.Int64At(row), false));
      return;
    case TypeId::kDecimal:
    case TypeId::kDate:
    case TypeId::kTime:
      out.append(buf, PutTextForm(buf, col, row));
      return;
    case TypeId::kString:
    case TypeId::kJson:
      AppendLoadEscaped(out, col.BytesAt(row));
      return;
    case TypeId::kBinary:
      AppendHex(out, col.BytesAt(row));
      return;
  }
}

Result<SourceColumn> MapColumn(const std::string& table, const std::string& name,
                               const std::string& data_type, const std::string& column_type,
                               int64_t precision, int64_t scale, bool json_checked) {
  SourceColumn c;
  c.name = name;
  c.server_type = column_type;
  const std::string dt = ToLower(data_type);
  const std::string ct = ToLower(column_type);
  auto set = [&](FetchKind k, DataType t) {
    c.fetch = k;
    c.type = t;
    return c;
  };
  if (dt == "tinyint" && StartsWith(ct, "tinyint(1)"))
    return set(FetchKind::kBool, DataType::Bool());
  if (dt == "bigint" && Contains(ct, "unsigned"))
    return set(FetchKind::kUInt64, DataType::Decimal(20, 0));
  if (dt == "tinyint" || dt == "smallint" || dt == "mediumint" || dt == "int" || dt == "integer" ||
      dt == "bigint" || dt == "year") {
    return set(FetchKind::kInt, DataType::Int64());
  }
  if (dt == "bit") return set(FetchKind::kBit, DataType::Int64());
  if (dt == "float") return set(FetchKind::kFloat, DataType::Float64());
  if (dt == "double" || dt == "real" || dt == "double precision")
    return set(FetchKind::kDouble, DataType::Float64());
  if (dt == "decimal" || dt == "numeric") {
    if (precision > 38) return set(FetchKind::kDecimalText, DataType::String());
    return set(FetchKind::kDecimal,
               DataType::Decimal(static_cast<int>(precision), static_cast<int>(scale)));
  }
  if (dt == "json" || json_checked) return set(FetchKind::kJson, DataType::Json());
  if (dt == "char" || dt == "varchar" || dt == "tinytext" || dt == "text" || dt == "mediumtext" ||
      dt == "longtext" || dt == "enum" || dt == "set" || dt == "uuid" || dt == "inet4" ||
      dt == "inet6") {
    return set(FetchKind::kString, DataType::String());
  }
  if (dt == "binary" || dt == "varbinary" || dt == "tinyblob" || dt == "blob" ||
      dt == "mediumblob" || dt == "longblob") {
    return set(FetchKind::kBinary, DataType::Binary());
  }
  if (dt == "date") return set(FetchKind::kDate, DataType::Date());
  if (dt == "time") return set(FetchKind::kTime, DataType::Time());
  if (dt == "datetime") return set(FetchKind::kDateTime, DataType::Timestamp(false));
  if (dt == "timestamp") return set(FetchKind::kTimestamp, DataType::Timestamp(true));
  return Status::Permanent("mysql table " + table + ": column " + QuoteIdent(name) + " has type " +
                           column_type +
                           ", which sluice cannot read; leave it out with columns: [...]");
}

std::string ValueJson(const Value& v) {
  char buf[kMaxTextForm];
  switch (v.kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kInt:
      return std::to_string(v.i);
    case Value::Kind::kUInt:
      return std::to_string(static_cast<uint64_t>(v.i));
    case Value::Kind::kDouble: {
      std::string s = FormatFloat64(v.d);
      return std::isfinite(v.d) ? s : JsonQuote(s);
    }
    case Value::Kind::kText:
      return JsonQuote(v.s);
    case Value::Kind::kBytes: {
      std::string hex;
      AppendHex(hex, v.s);
      return JsonQuote(hex);
    }
    case Value::Kind::kDate:
      return JsonQuote(std::string(buf, PutDate(buf, v.i)));
    case Value::Kind::kTime:
      return JsonQuote(std::string(buf, PutTime(buf, v.i)));
    case Value::Kind::kDateTime:
      return JsonQuote(std::string(buf, PutTimestamp(buf, v.i, false)));
  }
  return "null";
}

Result<Value> ValueFromJson(const std::string& json, FetchKind kind) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  auto bad = [&](const char* what) {
    return Status::Corruption("checkpoint value " + PrintableExcerpt(json, 60) + " is not " + what);
  };
  if (j.is_discarded()) return bad("JSON");
  if (j.is_null()) return Value::Null();
  switch (kind) {
    case FetchKind::kBool:
    case FetchKind::kInt:
    case FetchKind::kBit:
      if (!j.is_number_integer()) return bad("an integer");
      return Value::Int(j.get<int64_t>());
    case FetchKind::kUInt64:
      if (!j.is_number_integer()) return bad("an integer");
      return j.is_number_unsigned() ? Value::UInt(j.get<uint64_t>()) : Value::Int(j.get<int64_t>());
    case FetchKind::kFloat:
    case FetchKind::kDouble:
      if (!j.is_number()) return bad("a number");
      return Value::Double(j.get<double>());
    case FetchKind::kDecimal:
    case FetchKind::kDecimalText:
    case FetchKind::kString:
    case FetchKind::kJson:
      if (!j.is_string()) return bad("a string");
      return Value::Text(j.get<std::string>());
    case FetchKind::kBinary: {
      if (!j.is_string()) return bad("a hex string");
      auto bytes = FromHex(j.get<std::string>());
      if (!bytes.ok()) return bad("a hex string");
      return Value::Bytes(std::move(bytes).value());
    }
    case FetchKind::kDate: {
      int32_t days = 0;
      if (!j.is_string() || !ParseDate(j.get<std::string>(), &days)) return bad("a date");
      return Value::Date(days);
    }
    case FetchKind::kTime: {
      int64_t micros = 0;
      if (!j.is_string() || !ParseTime(j.get<std::string>(), &micros)) return bad("a time");
      return Value::Time(micros);
    }
    case FetchKind::kDateTime:
    case FetchKind::kTimestamp: {
      int64_t micros = 0;
      bool zone = false;
      if (!j.is_string() || !ParseTimestamp(j.get<std::string>(), &micros, &zone))
        return bad("a timestamp");
      return Value::DateTime(micros);
    }
  }
  return bad("a value");
}

}  // namespace sluice::mysql
