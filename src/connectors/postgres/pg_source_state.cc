#include "connectors/postgres/pg_source_state.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace sluice::pg {

// ---- named parameters ----

Result<BoundQuery> BindNamedParams(std::string_view sql) {
  BoundQuery out;
  std::string& o = out.sql;
  o.reserve(sql.size());
  const size_t n = sql.size();
  auto ident_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  size_t i = 0;
  while (i < n) {
    const char c = sql[i];
    if (c == '\'') {
      // A string literal; E'...' also escapes with backslashes.
      const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                           (i < 2 || !ident_char(sql[i - 2]));
      size_t j = i + 1;
      for (;; ++j) {
        if (j >= n) return Status::InvalidArgument("query: unterminated string literal");
        if (escapes && sql[j] == '\\') {
          ++j;
          continue;
        }
        if (sql[j] == '\'') {
          if (j + 1 < n && sql[j + 1] == '\'') {
            ++j;
            continue;
          }
          break;
        }
      }
      o.append(sql.substr(i, j + 1 - i));
      i = j + 1;
    } else if (c == '"') {
      size_t j = i + 1;
      for (;; ++j) {
        if (j >= n) return Status::InvalidArgument("query: unterminated quoted identifier");
        if (sql[j] == '"') {
          if (j + 1 < n && sql[j + 1] == '"') {
            ++j;
            continue;
          }
          break;
        }
      }
      o.append(sql.substr(i, j + 1 - i));
      i = j + 1;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      if (j == std::string_view::npos) j = n;
      o.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      int depth = 0;  // PostgreSQL's block comments nest
      size_t j = i;
      for (;;) {
        if (j + 1 >= n) return Status::InvalidArgument("query: unterminated /* comment");
        if (sql[j] == '/' && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && sql[j + 1] == '/') {
          j += 2;
          if (--depth == 0) break;
        } else {
          ++j;
        }
      }
      o.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '$' && (i == 0 || !ident_char(sql[i - 1])) && i + 1 < n &&
               !std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      // $tag$ ... $tag$ ($1, a positional parameter, has a digit after the $).
      size_t j = i + 1;
      while (j < n && ident_char(sql[j])) ++j;
      if (j < n && sql[j] == '$') {
        const std::string_view tag = sql.substr(i, j + 1 - i);
        const size_t end = sql.find(tag, j + 1);
        if (end == std::string_view::npos) return Status::InvalidArgument("query: unterminated dollar-quoted string");
        o.append(sql.substr(i, end + tag.size() - i));
        i = end + tag.size();
      } else {
        o += c;
        ++i;
      }
    } else if (c == ':' && i + 1 < n && sql[i + 1] == ':') {
      o += "::";
      i += 2;
    } else if (c == ':' && i + 1 < n && (std::isalpha(static_cast<unsigned char>(sql[i + 1])) || sql[i + 1] == '_')) {
      size_t j = i + 1;
      while (j < n && ident_char(sql[j])) ++j;
      std::string name(sql.substr(i + 1, j - i - 1));
      auto it = std::find(out.names.begin(), out.names.end(), name);
      size_t num = static_cast<size_t>(it - out.names.begin()) + 1;
      if (it == out.names.end()) out.names.push_back(name);
      o += '$';
      o += std::to_string(num);
      i = j;
    } else {
      o += c;
      ++i;
    }
  }
  return out;
}

}  // namespace sluice::pg
