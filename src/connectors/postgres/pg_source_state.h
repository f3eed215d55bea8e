#pragma once
// The postgres source's rewriting of named query parameters; no server needed, so it is
// unit-tested. Its checkpoints live in connectors/sql/incremental_state.h.

#include <string>
#include <string_view>
#include <vector>

#include "connectors/sql/incremental_state.h"
#include "core/status.h"

namespace sluice::pg {

// The checkpoint types are shared by every SQL source (connectors/sql/incremental_state.h).
using sql::FullState;
using sql::IncrementalState;
using sql::KeyText;
using sql::RangeState;

// A query whose `:name` parameters became $1..$n. `names[i]` is the name bound as $(i+1).
struct BoundQuery {
  std::string sql;
  std::vector<std::string> names;
};

// Replaces `:name` with $n (the same name gets the same number) outside string literals,
// quoted identifiers, dollar-quoted strings and comments; `::` casts are left alone. An
// unterminated literal or comment is an error.
Result<BoundQuery> BindNamedParams(std::string_view sql);

}  // namespace sluice::pg
