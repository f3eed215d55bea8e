#pragma once
// Schema evolution (DESIGN.md "Which schema wins", issue "Data contracts"): how a stream's schema
// may change between batches and runs. New columns, wider types and dropped columns follow the
// contract's `schema_evolution` policy, and a change that would lose data is never applied: it
// fails with a message that names the column, the old type and the new one.
//
// Widening keeps every value: int64 → float64 → string; date → timestamp; a decimal grows to hold
// both; anything else meets at string. int64 values beyond 2^53 never become float64 (they would
// round), so such a column widens to string instead.

#include <string>
#include <vector>

#include "core/column.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice {

// The narrowest type that holds every value of `a` and of `b` exactly.
DataType WidenType(const DataType& a, const DataType& b);

// True when every int64 value of `col` converts to float64 exactly (|v| <= 2^53).
bool Int64sFitFloat64(const Column& col);

// `col` converted to `to`, a type that WidenType allows; every value keeps its meaning (a number
// becomes its text, a date becomes midnight).
ColumnBuilder WidenColumn(const Column& col, const DataType& to);

struct SchemaChange {
  enum class Kind { kAdded, kWidened, kDropped };
  Kind kind;
  std::string column;
  DataType from, to;  // kWidened only
  std::string ToString() const;  // "column 'amount' widened from int64 to float64"
};

// A stream's stored schema meets the schema its source reports now (a database catalog, a
// replication relation message). Returns the schema to use, per `policy`:
//   evolve           columns are added, types widened, dropped columns kept (and null from now on)
//   discard_columns  new columns are left out; a type change or a dropped column is an error
//   discard_rows     as discard_columns (the rows are judged value by value later)
//   freeze           any change is an error
// `fixed` lists columns whose type a contract or `schema:` declares: those never widen.
Result<Schema> EvolveSchema(const Schema& stored, const Schema& incoming, const std::string& policy,
                            const std::vector<std::string>& fixed, std::vector<SchemaChange>* changes);

}  // namespace sluice
