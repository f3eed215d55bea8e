#pragma once
// Table patterns in a relational source's `tables:` list: `public.order_*`, `*`, `shop.?_log`.
// A pattern is expanded against the database's catalog when the source opens, so tables created
// since the last run join the pipeline without a config change. Shared by the postgres, mysql,
// sqlite and odbc sources; it knows nothing of any database.

#include <string>
#include <vector>

#include "core/status.h"

namespace sluice::sql {

// One table the catalog lists.
struct CatalogTable {
  std::string schema;  // PostgreSQL schema, MySQL database, SQLite attached name
  std::string name;
};

// True when a `tables:` entry is a pattern: it holds '*', '?' or '['.
bool IsTablePattern(const std::string& entry);
bool AnyTablePattern(const std::vector<std::string>& entries);

// Expands `entries` in order. A plain name stays as written. A pattern with a '.' matches
// "schema.table" of every catalog table and yields qualified names; a pattern without one matches
// the tables of `default_schema` only and yields bare names. Matches come in catalog order (sort
// `catalog` first), and a table already listed is not repeated. A pattern that matches nothing is
// an InvalidArgument naming it and `where`, since it is more likely a typo than an empty database.
Result<std::vector<std::string>> ExpandTablePatterns(const std::vector<std::string>& entries,
                                                     const std::vector<CatalogTable>& catalog,
                                                     const std::string& default_schema, const std::string& where);

}  // namespace sluice::sql
