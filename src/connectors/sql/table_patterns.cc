#include "connectors/sql/table_patterns.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

namespace sluice::sql {

bool IsTablePattern(const std::string& entry) { return entry.find_first_of("*?[") != std::string::npos; }

bool AnyTablePattern(const std::vector<std::string>& entries) {
  return std::any_of(entries.begin(), entries.end(), IsTablePattern);
}

Result<std::vector<std::string>> ExpandTablePatterns(const std::vector<std::string>& entries,
                                                     const std::vector<CatalogTable>& catalog,
                                                     const std::string& default_schema, const std::string& where) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& name) {
    if (seen.insert(name).second) out.push_back(name);
  };
  for (const auto& entry : entries) {
    if (!IsTablePattern(entry)) {
      add(entry);
      continue;
    }
    const bool qualified = entry.find('.') != std::string::npos;
    size_t matched = 0;
    for (const auto& t : catalog) {
      if (!qualified && t.schema != default_schema) continue;
      const std::string name = qualified ? t.schema + "." + t.name : t.name;
      if (fnmatch(entry.c_str(), name.c_str(), FNM_NOESCAPE) != 0) continue;
      ++matched;
      add(name);
    }
    if (matched == 0) {
      return Status::InvalidArgument(where + ": the pattern '" + entry + "' matches no table" +
                                     (qualified ? "" : " in schema '" + default_schema + "'"));
    }
  }
  return out;
}

}  // namespace sluice::sql
