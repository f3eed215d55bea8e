#include "connectors/odbc/odbc_types.h"

#include <sql.h>
#include <sqlext.h>

#include <algorithm>

#include "core/strings.h"

namespace sluice::odbc {
namespace {

// Text buffers of values parsed from their text form: decimals up to 38 digits with sign,
// point and terminator; times with a fraction; booleans.
constexpr size_t kNumberTextBytes = 48;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits "k=v;k={v;v};..." into (key, value start, value end) triples over `conn`.
struct Attr {
  std::string key;
  size_t begin = 0, end = 0;  // the value, braces included
};

std::vector<Attr> ParseAttrs(std::string_view conn) {
  std::vector<Attr> out;
  size_t i = 0;
  while (i < conn.size()) {
    const size_t eq = conn.find('=', i);
    if (eq == std::string_view::npos) break;
    Attr a;
    a.key = ToLower(Trim(conn.substr(i, eq - i)));
    size_t j = eq + 1;
    while (j < conn.size() && IsSpace(conn[j])) ++j;
    if (j < conn.size() && conn[j] == '{') {
      // A braced value ends at the first '}' not doubled as "}}".
      size_t k = j + 1;
      while (k < conn.size()) {
        if (conn[k] == '}') {
          if (k + 1 < conn.size() && conn[k + 1] == '}') {
            k += 2;
            continue;
          }
          break;
        }
        ++k;
      }
      a.begin = eq + 1;
      a.end = std::min(conn.size(), k + 1);
      i = conn.find(';', a.end);
    } else {
      a.begin = eq + 1;
      i = conn.find(';', eq + 1);
      a.end = i == std::string_view::npos ? conn.size() : i;
    }
    out.push_back(std::move(a));
    if (i == std::string_view::npos) break;
    ++i;
  }
  return out;
}

bool IsSecretKey(const std::string& key) { return key == "pwd" || key == "password"; }

std::string TypeWords(const std::string& type_name, int sql_type) {
  return (type_name.empty() ? std::string("?") : type_name) + " (ODBC SQL type " +
         std::to_string(sql_type) + ")";
}

}  // namespace

Result<ColumnPlan> PlanColumn(const std::string& column, int sql_type, const std::string& type_name,
                              uint64_t size, int digits) {
  const std::string name = ToLower(type_name);
  ColumnPlan p;
  auto var = [&](Fetch f, DataType t, uint64_t bytes, bool long_type) {
    p.type = t;
    p.fetch = f;
    p.bounded = !long_type && bytes > 0 && bytes <= kMaxBoundBytes;
    p.width = p.bounded ? static_cast<size_t>(bytes) : kUnboundedGuessBytes;
    return p;
  };
  switch (sql_type) {
    case SQL_BIT:
      return ColumnPlan{DataType::Bool(), Fetch::kText, 8, true};
    case SQL_TINYINT:
    case SQL_SMALLINT:
    case SQL_INTEGER:
    case SQL_BIGINT:
      return ColumnPlan{DataType::Int64(), Fetch::kInt64, 8, true};
    case SQL_REAL:
    case SQL_FLOAT:
    case SQL_DOUBLE:
      return ColumnPlan{DataType::Float64(), Fetch::kDouble, 8, true};
    case SQL_NUMERIC:
    case SQL_DECIMAL:
      // Beyond 38 digits a decimal is kept as its text (DESIGN.md, data model).
      if (size < 1 || size > 38 || digits < 0 || static_cast<uint64_t>(digits) > size) {
        return ColumnPlan{DataType::String(), Fetch::kText,
                          std::max<size_t>(kNumberTextBytes, size + 4), true};
      }
      return ColumnPlan{DataType::Decimal(static_cast<int>(size), digits), Fetch::kText,
                        kNumberTextBytes, true};
    case SQL_TYPE_DATE:
    case SQL_DATE:
      return ColumnPlan{DataType::Date(), Fetch::kDate, 8, true};
    case SQL_TYPE_TIME:
    case SQL_TIME:
      return ColumnPlan{DataType::Time(), Fetch::kText, kNumberTextBytes, true};
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
      return ColumnPlan{DataType::Timestamp(false), Fetch::kTimestamp, 16, true};
    case SQL_GUID:
      return ColumnPlan{DataType::String(), Fetch::kGuid, kNumberTextBytes, true};
    case SQL_CHAR:
    case SQL_VARCHAR:
    case SQL_LONGVARCHAR:
    case SQL_WCHAR:
    case SQL_WVARCHAR:
    case SQL_WLONGVARCHAR: {
      // Drivers that hand booleans over as text (psqlodbc's BoolsAsChar) still name the type.
      if (name == "bool" || name == "boolean")
        return ColumnPlan{DataType::Bool(), Fetch::kText, 8, true};
      const DataType t = name == "json" || name == "jsonb" ? DataType::Json() : DataType::String();
      // `size` is in characters; a character may take two UTF-16 units, plus the terminator.
      const bool long_type = sql_type == SQL_LONGVARCHAR || sql_type == SQL_WLONGVARCHAR;
      return var(Fetch::kWideText, t, size == 0 ? 0 : (2 * size + 1) * sizeof(char16_t), long_type);
    }
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY:
      return var(Fetch::kBinary, DataType::Binary(), size, sql_type == SQL_LONGVARBINARY);
    default:
      return Status::InvalidArgument(
          "odbc source: column " + JsonQuote(column) + " has type " +
          TypeWords(type_name, sql_type) +
          ", which sluice does not read; CAST it in a query: (mode: query) or leave "
          "it out with columns:");
  }
}

std::string RedactConnectionString(std::string_view conn) {
  std::string out(conn);
  auto attrs = ParseAttrs(conn);
  // Replace from the end so that earlier offsets stay valid.
  for (auto it = attrs.rbegin(); it != attrs.rend(); ++it) {
    if (IsSecretKey(it->key)) out.replace(it->begin, it->end - it->begin, "***");
  }
  return out;
}

std::vector<std::string> ConnectionSecrets(std::string_view conn) {
  std::vector<std::string> out;
  for (const Attr& a : ParseAttrs(conn)) {
    if (!IsSecretKey(a.key)) continue;
    std::string v(Trim(conn.substr(a.begin, a.end - a.begin)));
    if (v.size() >= 2 && v.front() == '{' && v.back() == '}') {
      out.push_back(v);  // the braced form may be echoed too
      v = v.substr(1, v.size() - 2);
    }
    if (!v.empty()) out.push_back(v);
  }
  // Longest first, so that a secret containing another is replaced whole.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + 3))
      text.replace(at, s.size(), "***");
  }
  return text;
}

Status StatusFromDiagnostic(const std::string& sqlstate, const std::string& message) {
  const std::string text = "odbc source: [" + sqlstate + "] " + message;
  const std::string lower = ToLower(message);
  const bool auth = lower.find("authentication") != std::string::npos ||
                    lower.find("password") != std::string::npos ||
                    lower.find("login failed") != std::string::npos;
  if (StartsWith(sqlstate, "28")) return Status::Permanent(text);
  if (StartsWith(sqlstate, "08")) return auth ? Status::Permanent(text) : Status::Transient(text);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "HYT00" || sqlstate == "HYT01") {
    return Status::Transient(text);
  }
  if (sqlstate == "IM002" || sqlstate == "IM003" || sqlstate == "01000") {
    return Status::InvalidArgument(text + " (check Driver= or the DSN name, and odbcinst.ini)");
  }
  return Status::Permanent(text);
}

std::u16string Utf8ToUtf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0xFFFD;
    size_t n = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 6) {
      n = 2;
    } else if ((c >> 4) == 14) {
      n = 3;
    } else if ((c >> 3) == 30) {
      n = 4;
    }
    if (n > 1) {
      if (i + n > s.size()) {
        n = 1;
      } else {
        cp = c & (0x7F >> n);
        for (size_t k = 1; k < n; ++k)
          cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      }
    }
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

void AppendUtf16AsUtf8(const char16_t* s, size_t n, std::string& out) {
  // Most text is ASCII: copy runs of it without branching per byte kind.
  size_t ascii = 0;
  while (ascii < n && s[ascii] < 0x80) ++ascii;
  const size_t start = out.size();
  out.resize(start + ascii);
  for (size_t i = 0; i < ascii; ++i) out[start + i] = static_cast<char>(s[i]);
  for (size_t i = ascii; i < n; ++i) {
    uint32_t cp = s[i];
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
      continue;
    }
    if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] < 0xE000) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (s[i + 1] - 0xDC00);
      ++i;
    } else if (cp >= 0xD800 && cp < 0xE000) {
      cp = 0xFFFD;  // a lone surrogate
    }
    if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    }
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace sluice::odbc
