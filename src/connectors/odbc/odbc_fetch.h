#pragma once
// Reads the rows of an executed statement in blocks: every column bound column-wise to an array
// of SQL_ATTR_ROW_ARRAY_SIZE rows, one SQLFetch per block, values appended from the arrays
// straight into column builders. With one row per block (`row_mode`) nothing is bound and each
// value is read whole with SQLGetData, for values longer than a bound buffer.
//
// Lifecycle: Bind after the statement is executed, then Fetch until it returns 0. One thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connectors/odbc/odbc_conn.h"
#include "connectors/odbc/odbc_types.h"
#include "core/column.h"

namespace sluice::odbc {

// Rows per fetch: as many as fit this many bytes of buffers, within [1, kMaxBlockRows]. The
// driver writes a block row by row and the builders read it column by column, so a block that
// stays in cache is faster than a big one.
inline constexpr size_t kBlockBytes = 1u << 20;
inline constexpr size_t kMaxBlockRows = 4096;

class BlockReader {
 public:
  // `rows` is the most rows per block wanted (a page's size); `row_mode` reads with SQLGetData.
  Status Bind(Statement& st, const std::vector<ColumnPlan>& plans, size_t rows, bool row_mode);
  // The next block; 0 rows at the end of the result.
  Result<size_t> Fetch();
  size_t block_rows() const { return rows_; }

  bool IsNull(size_t r, size_t c) const { return Ind(r, c) == SQL_NULL_DATA; }
  // A bound value longer than its buffer: only row mode reads it whole.
  bool Truncated(size_t r, size_t c) const;
  // The bytes a truncated value needs, terminator included; 0 when the driver does not say.
  size_t NeededBytes(size_t r, size_t c) const;
  // The columns whose value in row `r` is truncated.
  std::vector<size_t> TruncatedColumns(size_t r) const {
    std::vector<size_t> out;
    for (size_t c : var_cols_) {
      if (Truncated(r, c)) out.push_back(c);
    }
    return out;
  }
  // Any value of row `r` truncated.
  bool RowTruncated(size_t r) const {
    for (size_t c : var_cols_) {
      if (Truncated(r, c)) return true;
    }
    return false;
  }
  // Appends the value as `type` (the plan's type, or a type declared by the pipeline, reached
  // through the text form). Empty when it fits, else why not.
  std::string Append(size_t r, size_t c, const DataType& type, ColumnBuilder& out);
  // The value's text form (nullopt for NULL): what checkpoints, quarantine records and bound
  // parameters use. Binary values are hex.
  std::optional<std::string> Text(size_t r, size_t c) const;

 private:
  struct Col {
    ColumnPlan plan;
    SQLSMALLINT ctype = 0;
    std::vector<char> buf;    // rows_ * plan.width bytes
    std::vector<SQLLEN> ind;  // rows_ indicators
    std::string whole;        // row mode: the whole value of a variable-width column
  };
  SQLLEN Ind(size_t r, size_t c) const { return cols_[c].ind[r]; }
  const char* Cell(size_t r, size_t c) const {
    return cols_[c].buf.data() + r * cols_[c].plan.width;
  }
  // The bytes of a variable-width value (wide text still UTF-16).
  std::string_view Bytes(size_t r, size_t c) const;
  Status GetWhole(size_t c);

  Statement* st_ = nullptr;
  std::vector<Col> cols_;
  std::vector<size_t> var_cols_;  // bound variable-width columns, the only ones that truncate
  size_t rows_ = 1;
  bool row_mode_ = false;
  SQLULEN fetched_ = 0;
  std::vector<SQLUSMALLINT> status_;
  std::string scratch_;
};

}  // namespace sluice::odbc
