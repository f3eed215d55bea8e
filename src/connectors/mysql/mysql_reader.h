#pragma once
// Reading a result set row by row straight into column builders, in either protocol: the binary
// protocol of a prepared statement (values arrive typed), or the text protocol of a plain query
// streamed with mysql_use_result. Both decode the same FetchKinds into the same values; README.md
// ("Performance") says which one the full snapshot uses and why.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/mysql/mysql_conn.h"
#include "connectors/mysql/mysql_types.h"
#include "core/record_batch.h"

namespace sluice::mysql {

// Why the row just read was left out of the batch: a value sluice cannot hold (a zero date, a
// TIME beyond one day, invalid UTF-8 ...).
struct RowIssue {
  std::string column;
  std::string reason;
};

class RowReader {
 public:
  virtual ~RowReader() = default;
  // Reads the next row. Returns false at the end of the result. When every value fits, they are
  // appended to `out` and the caller commits the row (CommitRow) or drops it (RollbackRow);
  // otherwise nothing is appended and `issue` says why (its column is empty when the values fit).
  virtual Result<bool> Next(RecordBatchBuilder& out, RowIssue* issue) = 0;
  // Column `c` of the row just read, typed (for keys, cursors and tombstone flags).
  virtual Value Get(size_t c) const = 0;
  // The row just read as a JSON object of its values' text (the raw form of a rejected row).
  virtual std::string RowJson() const = 0;
  // Bytes of the row just read, as the server sent them (about).
  virtual uint64_t row_bytes() const = 0;
};

// For a statement that was executed and returns `cols` (in that order).
Result<std::unique_ptr<RowReader>> MakeBinaryReader(Statement& stmt,
                                                    const std::vector<SourceColumn>& cols);
// For a plain query sent with mysql_real_query on `conn`; the reader streams it (mysql_use_result)
// and must be destroyed before `conn` runs anything else.
Result<std::unique_ptr<RowReader>> MakeTextReader(Connection& conn,
                                                  const std::vector<SourceColumn>& cols);

// The sluice columns of a prepared statement's result, from its metadata (query mode). MariaDB's
// JSON shows as a LONGTEXT column with the extended type "json".
Result<std::vector<SourceColumn>> ResultColumns(Statement& stmt, bool* has_result);

}  // namespace sluice::mysql
