#pragma once
// The changelog form of change data, shared by the changelog sinks (sqlite, postgres) and the
// Debezium envelope of the jsonl sink: one event per row of a batch, with its operation, the old
// row, the new row and where the change came from, each as JSON text. No database client here.
//
// - `after` is the row as a JSON object, without the columns the source marked unchanged (TOAST
//   values it did not send): every other column is there, null or not, so a column missing from
//   `after` means "unchanged". A delete has no `after`.
// - `before` is the old row as the source sent it (RecordBatch::ChangeSource::before, as JSON, or
//   a row of RecordBatch::before_rows, rendered here as `after` is). A delete
//   without one has the deleted row as the batch carries it (at least the key columns, as
//   Debezium's delete events do); other changes without one have no `before`.
// - `source` is {"db","table","position","txid","ts_us"}: the source database and table (the
//   stream name when the source names no table), the commit LSN or GTID, the transaction id and
//   the commit time in µs. Unknown values are null (snapshot reads have no commit time).

#include <cstdint>
#include <string>

#include "core/record_batch.h"

namespace sluice::sql {

// The column names of a changelog table, in order (after the sink's own `_sluice_seq`).
inline constexpr const char* kChangelogColumns[] = {"op", "before", "after", "source"};

// Row `row`'s `after` object, or "" for a delete.
std::string ChangeAfterJson(const RecordBatch& batch, int64_t row);
// Row `row`'s `before` object, or "" when there is none.
std::string ChangeBeforeJson(const RecordBatch& batch, int64_t row);
// Row `row`'s `source` object.
std::string ChangeSourceJson(const RecordBatch& batch, int64_t row);

// `batch` as changelog rows: columns op (string: c, u, d or r), before, after and source (json,
// null when absent), one row per row of `batch` in its order, with the same stream and origins.
RecordBatchPtr ChangelogBatch(const RecordBatch& batch);

// Row `row` as a Debezium-style change event: {"before","after","source":{"connector":"sluice",
// "db","table","lsn" or "gtid","txId","ts_ms"},"op","ts_ms"}. A PostgreSQL LSN is written as
// Debezium's number; a position that is neither an LSN nor a GTID (a trigger log's sequence
// number) as "position". `now_ms` is the time the event is written, Debezium's top-level ts_ms.
std::string DebeziumEventJson(const RecordBatch& batch, int64_t row, int64_t now_ms);
// The same, appended to `out` (no string of its own per event).
void AppendDebeziumEventJson(const RecordBatch& batch, int64_t row, int64_t now_ms, std::string& out);

}  // namespace sluice::sql
