#pragma once
// Key compaction for the upsert and replicate modes of the SQL sinks (postgres, sqlite): each key
// of a batch is reduced to its final operation in source order, so that one statement never
// touches a key twice (ON CONFLICT DO UPDATE refuses that) and the end state is the one the
// source reached. Generic over RecordBatch: no database client here.
//
// Final operations: 'c' insert or update the whole row; 'd' delete; 'R' delete, then insert
// (a delete followed by a re-insert: columns the new row does not set must not survive); 'p'
// update the columns the source sent and leave the `unchanged` ones as stored. An update that
// leaves a column unchanged takes that column from an earlier operation on the same key in the
// batch when there is one.

#include <cstdint>
#include <string>
#include <vector>

#include "core/record_batch.h"

namespace sluice::sql {

struct CompactedRows {
  int64_t num_rows = 0;
  // One per batch column: the batch's own column, or a built one in `owned`.
  std::vector<const Column*> columns;
  std::vector<ColumnPtr> owned;
  // Per compacted row: the final operation ('c', 'd', 'R', 'p'), as a 1-byte string column.
  ColumnPtr ops;
  // Per compacted row: '1'/'0' per batch column ('1': leave the stored value), or null when
  // every column was sent. A string column.
  ColumnPtr unchanged;
  // Per compacted row: the batch row it stands for (its last operation).
  std::vector<int64_t> batch_row;
  // Batch rows whose key has a null: they cannot be applied by key.
  std::vector<int64_t> null_key_rows;
  bool has_deletes = false;  // some row is 'd' or 'R'
  bool has_partial = false;  // some row is 'p'
};

// The bytes that identify row `r`'s key, into `out`: equal keys give equal bytes within one batch
// (whose columns each have one type). Variable-width values carry their length, so that
// ("ab","c") and ("a","bc") differ; -0.0 and 0.0 are the same key.
void KeyBytes(const RecordBatch& batch, const std::vector<int>& key_fields, int64_t r, std::string& out);

// `key_fields`: the batch columns of the key. With `apply_ops` false (upsert) every row counts
// as an insert-or-update and only the last row of each key is kept.
CompactedRows CompactByKey(const RecordBatch& batch, const std::vector<int>& key_fields,
                           bool apply_ops);

}  // namespace sluice::sql
