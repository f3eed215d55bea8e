#pragma once
// Values of an SQLite result row as sluice reads them: the sluice type of a declared column type,
// a row's cells captured in their storage class, and a cell appended to a column as a type (or
// why it does not fit). Shared by the sqlite source's table reads and its trigger change log.

#include <sqlite3.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/column.h"
#include "core/types.h"

namespace sluice::sqlite_cells {

// The sluice type of a declared column type. Names SQLite gives an affinity are read by that
// affinity (its rules: INT, then CHAR/CLOB/TEXT, then BLOB, then REAL/FLOA/DOUB); names that
// say more (BOOLEAN, DATE, DECIMAL(p,s), JSON) are read as what they say.
DataType TypeOfDeclared(std::string_view declared);

// "integer", "real", "text", "blob" or "null".
const char* StorageName(int sqlite_type);

// One value of the current row, captured before decoding: sqlite3_column_type is undefined
// after a conversion, so each value is read once, in its own storage class.
struct Cell {
  int type = SQLITE_NULL;
  int64_t i = 0;
  double d = 0;
  std::string_view bytes;  // text or blob; valid until the next step
};

// The text form of a cell (SQL NULL is nullopt): what checkpoints and quarantine records hold.
std::optional<std::string> CellText(const Cell& c);
// The first `n` columns of the statement's current row.
std::vector<Cell> ReadCells(sqlite3_stmt* st, size_t n);
// Appends `c` to `out` as `type`; an empty string when it fits, else why it does not.
std::string AppendCell(const Cell& c, const DataType& type, ColumnBuilder& out);

}  // namespace sluice::sqlite_cells
