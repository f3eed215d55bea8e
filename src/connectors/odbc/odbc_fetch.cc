#include "connectors/odbc/odbc_fetch.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "core/values.h"

namespace sluice::odbc {
namespace {

SQLSMALLINT CType(Fetch f) {
  switch (f) {
    case odbc::Fetch::kInt64:
      return SQL_C_SBIGINT;
    case odbc::Fetch::kDouble:
      return SQL_C_DOUBLE;
    case odbc::Fetch::kText:
    case odbc::Fetch::kGuid:
      return SQL_C_CHAR;
    case odbc::Fetch::kWideText:
      return SQL_C_WCHAR;
    case odbc::Fetch::kBinary:
      return SQL_C_BINARY;
    case odbc::Fetch::kDate:
      return SQL_C_TYPE_DATE;
    case odbc::Fetch::kTimestamp:
      return SQL_C_TYPE_TIMESTAMP;
  }
  return SQL_C_CHAR;
}

// Bytes of the terminator a driver writes after a text value.
size_t Terminator(Fetch f) {
  return f == Fetch::kText || f == Fetch::kGuid ? 1 : f == Fetch::kWideText ? 2 : 0;
}
bool VarWidth(Fetch f) {
  return f == Fetch::kText || f == Fetch::kGuid || f == Fetch::kWideText || f == Fetch::kBinary;
}

int64_t TimestampMicros(const SQL_TIMESTAMP_STRUCT& t) {
  const int64_t days = DaysFromCivil(t.year, t.month, t.day);
  return ((days * 24 + t.hour) * 60 + t.minute) * 60000000LL + t.second * 1000000LL +
         t.fraction / 1000;
}

std::string Hex(std::string_view b) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (unsigned char c : b) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Appends a value given as text, parsed as `type`; empty when it fits.
std::string AppendParsed(std::string_view text, const DataType& type, ColumnBuilder& out) {
  // Only built on failure: this runs for every decimal, time and bool value.
  auto bad = [&] {
    return "value " + PrintableExcerpt(text, 60) + " does not fit " + type.ToString();
  };
  switch (type.id) {
    case TypeId::kInt64: {
      int64_t v = 0;
      if (!ParseInt64(Trim(text), &v)) return bad();
      out.AppendInt64(v);
      return {};
    }
    case TypeId::kFloat64: {
      double v = 0;
      if (!ParseFloat64(Trim(text), &v)) return bad();
      out.AppendFloat64(v);
      return {};
    }
    case TypeId::kBool: {
      bool v = false;
      if (!ParseBool(Trim(text), &v)) return bad();
      out.AppendBool(v);
      return {};
    }
    case TypeId::kDecimal: {
      int128_t v = 0;
      if (!ParseDecimal(Trim(text), type.precision, type.scale, &v)) return bad();
      out.AppendDecimal(v);
      return {};
    }
    case TypeId::kDate: {
      int32_t v = 0;
      if (!ParseDate(Trim(text), &v)) return bad();
      out.AppendDate(v);
      return {};
    }
    case TypeId::kTime: {
      int64_t v = 0;
      if (!ParseTime(Trim(text), &v)) return bad();
      out.AppendInt64(v);
      return {};
    }
    case TypeId::kTimestamp: {
      int64_t v = 0;
      bool zone = false;
      if (!ParseTimestamp(Trim(text), &v, &zone)) return bad();
      out.AppendInt64(v);
      return {};
    }
    case TypeId::kJson:
      if (!nlohmann::json::accept(text))
        return "value is not valid JSON: " + PrintableExcerpt(text, 60);
      out.AppendBytes(text);
      return {};
    case TypeId::kString:
      if (!IsValidUtf8(text)) return "value is not valid UTF-8";
      out.AppendBytes(text);
      return {};
    case TypeId::kBinary:
      out.AppendBytes(text);
      return {};
  }
  return bad();
}

}  // namespace

Status BlockReader::Bind(Statement& st, const std::vector<ColumnPlan>& plans, size_t rows,
                         bool row_mode) {
  st_ = &st;
  row_mode_ = row_mode;
  cols_.clear();
  size_t row_bytes = 0;
  for (const ColumnPlan& p : plans) {
    Col c;
    c.plan = p;
    c.ctype = CType(p.fetch);
    if (p.fetch == Fetch::kDate) c.plan.width = sizeof(SQL_DATE_STRUCT);
    if (p.fetch == Fetch::kTimestamp) c.plan.width = sizeof(SQL_TIMESTAMP_STRUCT);
    if (p.fetch == Fetch::kInt64 || p.fetch == Fetch::kDouble) c.plan.width = 8;
    row_bytes += c.plan.width + sizeof(SQLLEN);
    cols_.push_back(std::move(c));
  }
  rows_ = row_mode ? 1
                   : std::clamp<size_t>(kBlockBytes / std::max<size_t>(1, row_bytes), 1,
                                        std::min(kMaxBlockRows, std::max<size_t>(1, rows)));
  for (Col& c : cols_) {
    c.buf.assign(rows_ * c.plan.width, 0);
    c.ind.assign(rows_, 0);
  }
  var_cols_.clear();
  if (row_mode) return Status::OK();
  for (size_t i = 0; i < cols_.size(); ++i) {
    if (VarWidth(cols_[i].plan.fetch)) var_cols_.push_back(i);
  }
  status_.assign(rows_, 0);
  SQLHSTMT h = st.get();
  RETURN_IF_ERROR(st.Check(SQLSetStmtAttr(h, SQL_ATTR_ROW_BIND_TYPE,
                                          reinterpret_cast<SQLPOINTER>(SQL_BIND_BY_COLUMN), 0),
                           "binding columns"));
  RETURN_IF_ERROR(
      st.Check(SQLSetStmtAttr(h, SQL_ATTR_ROW_ARRAY_SIZE, reinterpret_cast<SQLPOINTER>(rows_), 0),
               "setting the block size"));
  // A driver may lower the block size (01S02); the arrays are big enough for what it keeps.
  SQLULEN actual = rows_;
  if (SQL_SUCCEEDED(SQLGetStmtAttr(h, SQL_ATTR_ROW_ARRAY_SIZE, &actual, 0, nullptr)) &&
      actual >= 1 && actual < rows_) {
    rows_ = actual;
  }
  RETURN_IF_ERROR(
      st.Check(SQLSetStmtAttr(h, SQL_ATTR_ROWS_FETCHED_PTR, &fetched_, 0), "binding columns"));
  RETURN_IF_ERROR(
      st.Check(SQLSetStmtAttr(h, SQL_ATTR_ROW_STATUS_PTR, status_.data(), 0), "binding columns"));
  for (size_t i = 0; i < cols_.size(); ++i) {
    Col& c = cols_[i];
    RETURN_IF_ERROR(st.Check(SQLBindCol(h, static_cast<SQLUSMALLINT>(i + 1), c.ctype, c.buf.data(),
                                        static_cast<SQLLEN>(c.plan.width), c.ind.data()),
                             "binding column " + std::to_string(i + 1)));
  }
  return Status::OK();
}

Result<size_t> BlockReader::Fetch() {
  const SQLRETURN rc = SQLFetch(st_->get());
  if (rc == SQL_NO_DATA) return size_t{0};
  RETURN_IF_ERROR(st_->Check(rc, "fetching rows"));
  if (!row_mode_) return static_cast<size_t>(fetched_);
  for (size_t c = 0; c < cols_.size(); ++c) RETURN_IF_ERROR(GetWhole(c));
  return size_t{1};
}

Status BlockReader::GetWhole(size_t c) {
  Col& col = cols_[c];
  const auto n = static_cast<SQLUSMALLINT>(c + 1);
  if (!VarWidth(col.plan.fetch)) {
    return st_->Check(SQLGetData(st_->get(), n, col.ctype, col.buf.data(),
                                 static_cast<SQLLEN>(col.plan.width), &col.ind[0]),
                      "reading column " + std::to_string(n));
  }
  // Piece by piece: each call returns the next part of the value, the buffer minus terminator.
  col.whole.clear();
  const size_t avail = col.plan.width - Terminator(col.plan.fetch);
  for (;;) {
    SQLLEN ind = 0;
    const SQLRETURN rc = SQLGetData(st_->get(), n, col.ctype, col.buf.data(),
                                    static_cast<SQLLEN>(col.plan.width), &ind);
    if (rc == SQL_NO_DATA) break;
    RETURN_IF_ERROR(st_->Check(rc, "reading column " + std::to_string(n)));
    if (ind == SQL_NULL_DATA) {
      col.ind[0] = SQL_NULL_DATA;
      return Status::OK();
    }
    const bool partial = ind == SQL_NO_TOTAL || static_cast<size_t>(ind) > avail;
    col.whole.append(col.buf.data(), partial ? avail : static_cast<size_t>(ind));
    if (!partial) break;
  }
  col.ind[0] = static_cast<SQLLEN>(col.whole.size());
  return Status::OK();
}

bool BlockReader::Truncated(size_t r, size_t c) const {
  const Col& col = cols_[c];
  if (row_mode_ || !VarWidth(col.plan.fetch)) return false;
  const SQLLEN ind = col.ind[r];
  if (ind == SQL_NULL_DATA) return false;
  return ind == SQL_NO_TOTAL ||
         static_cast<size_t>(ind) > col.plan.width - Terminator(col.plan.fetch);
}

size_t BlockReader::NeededBytes(size_t r, size_t c) const {
  const SQLLEN ind = cols_[c].ind[r];
  if (ind == SQL_NO_TOTAL || ind < 0) return 0;
  return static_cast<size_t>(ind) + Terminator(cols_[c].plan.fetch);
}

std::string_view BlockReader::Bytes(size_t r, size_t c) const {
  const Col& col = cols_[c];
  if (row_mode_) return col.whole;
  return std::string_view(Cell(r, c), std::min(static_cast<size_t>(col.ind[r]), col.plan.width));
}

std::string BlockReader::Append(size_t r, size_t c, const DataType& type, ColumnBuilder& out) {
  if (IsNull(r, c)) {
    out.AppendNull();
    return {};
  }
  const Col& col = cols_[c];
  const odbc::Fetch f = col.plan.fetch;
  const char* p = Cell(r, c);
  switch (f) {
    case odbc::Fetch::kInt64:
      if (type.id == TypeId::kInt64) {
        int64_t v;
        std::memcpy(&v, p, 8);
        out.AppendInt64(v);
        return {};
      }
      break;
    case odbc::Fetch::kDouble:
      if (type.id == TypeId::kFloat64) {
        double v;
        std::memcpy(&v, p, 8);
        out.AppendFloat64(v);
        return {};
      }
      break;
    case odbc::Fetch::kDate:
      if (type.id == TypeId::kDate) {
        SQL_DATE_STRUCT d;
        std::memcpy(&d, p, sizeof d);
        out.AppendDate(DaysFromCivil(d.year, d.month, d.day));
        return {};
      }
      break;
    case odbc::Fetch::kTimestamp:
      if (type.id == TypeId::kTimestamp) {
        SQL_TIMESTAMP_STRUCT t;
        std::memcpy(&t, p, sizeof t);
        out.AppendInt64(TimestampMicros(t));
        return {};
      }
      break;
    case odbc::Fetch::kWideText:
      if (type.id == TypeId::kString) {
        const std::string_view w = Bytes(r, c);
        scratch_.clear();
        AppendUtf16AsUtf8(reinterpret_cast<const char16_t*>(w.data()), w.size() / 2, scratch_);
        out.AppendBytes(scratch_);
        return {};
      }
      break;
    case odbc::Fetch::kBinary:
      if (type.id == TypeId::kBinary) {
        out.AppendBytes(Bytes(r, c));
        return {};
      }
      break;
    case odbc::Fetch::kText:
      return AppendParsed(Bytes(r, c), type, out);
    case odbc::Fetch::kGuid:
      return AppendParsed(*Text(r, c), type, out);
  }
  if (f == odbc::Fetch::kBinary && type.id != TypeId::kBinary)
    return AppendParsed(Bytes(r, c), type, out);
  return AppendParsed(*Text(r, c), type, out);
}

std::optional<std::string> BlockReader::Text(size_t r, size_t c) const {
  if (IsNull(r, c)) return std::nullopt;
  const char* p = Cell(r, c);
  switch (cols_[c].plan.fetch) {
    case odbc::Fetch::kInt64: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return std::to_string(v);
    }
    case odbc::Fetch::kDouble: {
      double v;
      std::memcpy(&v, p, 8);
      return FormatFloat64(v);
    }
    case odbc::Fetch::kDate: {
      SQL_DATE_STRUCT d;
      std::memcpy(&d, p, sizeof d);
      return FormatDate(DaysFromCivil(d.year, d.month, d.day));
    }
    case odbc::Fetch::kTimestamp: {
      SQL_TIMESTAMP_STRUCT t;
      std::memcpy(&t, p, sizeof t);
      return FormatTimestamp(TimestampMicros(t), false);
    }
    case odbc::Fetch::kWideText: {
      const std::string_view w = Bytes(r, c);
      std::string s;
      AppendUtf16AsUtf8(reinterpret_cast<const char16_t*>(w.data()), w.size() / 2, s);
      return s;
    }
    case odbc::Fetch::kBinary:
      return Hex(Bytes(r, c));
    case odbc::Fetch::kText:
      return std::string(Bytes(r, c));
    case odbc::Fetch::kGuid:
      return ToLower(Bytes(r, c));
  }
  return std::nullopt;
}

}  // namespace sluice::odbc
