#include "connectors/sqlite/sqlite_cells.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "core/values.h"

namespace sluice::sqlite_cells {
namespace {

// Decimal type of a NUMERIC/DECIMAL column declared without (p,s).
constexpr int kDefaultDecimalPrecision = 38;
constexpr int kDefaultDecimalScale = 10;

// "DECIMAL(12, 2)" -> (12, 2); false without a (p,s) suffix.
bool ParsePrecisionScale(std::string_view decl, int* p, int* s) {
  const size_t open = decl.find('(');
  if (open == std::string_view::npos) return false;
  const size_t close = decl.find(')', open);
  if (close == std::string_view::npos) return false;
  auto parts = Split(decl.substr(open + 1, close - open - 1), ',');
  int64_t pv = 0, sv = 0;
  if (parts.empty() || parts.size() > 2 || !ParseInt64(Trim(parts[0]), &pv)) return false;
  if (parts.size() == 2 && !ParseInt64(Trim(parts[1]), &sv)) return false;
  if (pv < 1 || pv > 38 || sv < 0 || sv > pv) return false;
  *p = static_cast<int>(pv);
  *s = static_cast<int>(sv);
  return true;
}

std::string FormatReal(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

DataType TypeOfDeclared(std::string_view declared) {
  const std::string d = ToLower(Trim(declared));
  auto has = [&](const char* w) { return d.find(w) != std::string::npos; };
  if (d.empty()) return DataType::String();  // untyped: numbers are read as their text
  if (has("bool")) return DataType::Bool();
  if (has("json")) return DataType::Json();
  if (has("datetime") || has("timestamp")) return DataType::Timestamp(has("tz") || has("zone"));
  if (has("date")) return DataType::Date();
  if (StartsWith(d, "time")) return DataType::Time();
  if (has("decimal") || has("numeric")) {
    int p = kDefaultDecimalPrecision, s = kDefaultDecimalScale;
    (void)ParsePrecisionScale(d, &p, &s);
    return DataType::Decimal(p, s);
  }
  if (has("int")) return DataType::Int64();
  if (has("char") || has("clob") || has("text")) return DataType::String();
  if (has("blob")) return DataType::Binary();
  if (has("real") || has("floa") || has("doub")) return DataType::Float64();
  return DataType::String();
}

const char* StorageName(int t) {
  switch (t) {
    case SQLITE_INTEGER: return "integer";
    case SQLITE_FLOAT: return "real";
    case SQLITE_TEXT: return "text";
    case SQLITE_BLOB: return "blob";
    default: return "null";
  }
}


std::optional<std::string> CellText(const Cell& c) {
  switch (c.type) {
    case SQLITE_NULL: return std::nullopt;
    case SQLITE_INTEGER: return std::to_string(c.i);
    case SQLITE_FLOAT: return FormatReal(c.d);
    default: return std::string(c.bytes);
  }
}

std::vector<Cell> ReadCells(sqlite3_stmt* st, size_t n) {
  std::vector<Cell> cells(n);
  for (size_t k = 0; k < n; ++k) {
    const int i = static_cast<int>(k);
    Cell& c = cells[k];
    c.type = sqlite3_column_type(st, i);
    if (c.type == SQLITE_INTEGER) {
      c.i = sqlite3_column_int64(st, i);
    } else if (c.type == SQLITE_FLOAT) {
      c.d = sqlite3_column_double(st, i);
    } else if (c.type == SQLITE_TEXT) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      c.bytes = std::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(st, i)));
    } else if (c.type == SQLITE_BLOB) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
      c.bytes = std::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(st, i)));
    }
  }
  return cells;
}

std::string AppendCell(const Cell& c, const DataType& type, ColumnBuilder& out) {
  if (c.type == SQLITE_NULL) {
    out.AppendNull();
    return {};
  }
  const std::string mismatch = std::string(StorageName(c.type)) + " value does not fit " + type.ToString();
  switch (type.id) {
    case TypeId::kInt64:
      if (c.type != SQLITE_INTEGER) return mismatch;
      out.AppendInt64(c.i);
      return {};
    case TypeId::kFloat64:
      if (c.type == SQLITE_INTEGER) out.AppendFloat64(static_cast<double>(c.i));
      else if (c.type == SQLITE_FLOAT) out.AppendFloat64(c.d);
      else return mismatch;
      return {};
    case TypeId::kBool: {
      bool b = false;
      if (c.type == SQLITE_INTEGER && (c.i == 0 || c.i == 1)) b = c.i == 1;
      else if (c.type != SQLITE_TEXT || !ParseBool(c.bytes, &b)) return mismatch;
      out.AppendBool(b);
      return {};
    }
    case TypeId::kDecimal: {
      // Decimals are usually TEXT (exact); an INTEGER or REAL is read through its text form.
      if (c.type == SQLITE_BLOB) return mismatch;
      // A REAL here is a decimal SQLite's NUMERIC affinity stored as a double: 15 significant
      // digits give back the literal that was written (0.07, not 0.070000000000000007).
      int128_t v = 0;
      char real[40];
      if (c.type == SQLITE_FLOAT) std::snprintf(real, sizeof real, "%.15g", c.d);
      const std::string text = c.type == SQLITE_FLOAT ? std::string(real) : CellText(c).value_or("");
      if (!ParseDecimal(text, type.precision, type.scale, &v)) return mismatch + ": " + PrintableExcerpt(text, 60);
      out.AppendDecimal(v);
      return {};
    }
    case TypeId::kDate: {
      int32_t days = 0;
      if (c.type != SQLITE_TEXT || !ParseDate(c.bytes, &days)) return mismatch;
      out.AppendDate(days);
      return {};
    }
    case TypeId::kTime: {
      int64_t us = 0;
      if (c.type != SQLITE_TEXT || !ParseTime(c.bytes, &us)) return mismatch;
      out.AppendInt64(us);
      return {};
    }
    case TypeId::kTimestamp: {
      int64_t us = 0;
      bool zone = false;
      if (c.type != SQLITE_TEXT || !ParseTimestamp(c.bytes, &us, &zone)) return mismatch;
      out.AppendInt64(us);
      return {};
    }
    case TypeId::kString:
      if (c.type == SQLITE_BLOB) return mismatch;
      if (c.type == SQLITE_TEXT) {
        if (!IsValidUtf8(c.bytes)) return "text value is not valid UTF-8";
        out.AppendBytes(c.bytes);
      } else {
        out.AppendBytes(*CellText(c));
      }
      return {};
    case TypeId::kBinary:
      if (c.type != SQLITE_BLOB && c.type != SQLITE_TEXT) return mismatch;
      out.AppendBytes(c.bytes);
      return {};
    case TypeId::kJson:
      if (c.type == SQLITE_BLOB) return mismatch;
      if (c.type == SQLITE_TEXT) {
        if (!nlohmann::json::accept(c.bytes)) return "text value is not valid JSON";
        out.AppendBytes(c.bytes);
      } else {
        out.AppendBytes(*CellText(c));
      }
      return {};
  }
  return mismatch;
}

}  // namespace sluice::sqlite_cells
