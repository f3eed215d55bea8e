#pragma once
// SourcePosition, rejected rows and the envelope that flows from a source to the sink stage.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/record_batch.h"

namespace sluice {

// An opaque, serialisable resume point. `key` names a unit within the stream (for files:
// "file:<absolute path>"); `value` is the source's own JSON text (offset, cursor, LSN ...).
// The latest value per (stream, key) is what a commit stores.
struct SourcePosition {
  std::string stream;
  std::string key;
  std::string value;
};

// Committed positions, keyed by (stream, key).
using StateMap = std::map<std::pair<std::string, std::string>, std::string>;

// One row that did not make it into a batch (or was removed from one), with why.
struct RejectedRow {
  std::string stream;
  std::string origin;   // "data/orders.csv:17" or "orders@offset 1234"
  std::string position_key;  // stable per row: unit + byte offset (part of the deterministic id)
  std::string raw;      // the raw text or bytes of the row
  std::string rule;     // "parse", "type", "sink" ... (contracts add their rule names)
  std::string column;   // may be empty
  std::string reason;   // readable, names the column and value
};

struct RunCounters {
  int64_t rows_in = 0;
  int64_t rows_out = 0;
  int64_t rows_quarantined = 0;
  int64_t rows_skipped = 0;
  uint64_t bytes_in = 0;
  void Add(const RunCounters& o) {
    rows_in += o.rows_in;
    rows_out += o.rows_out;
    rows_quarantined += o.rows_quarantined;
    rows_skipped += o.rows_skipped;
    bytes_in += o.bytes_in;
  }
};

// What a source emits: rows, rejected rows, and the position reached once both are handled.
// Counting rule: rows_in = batch rows + rejected rows + rows_skipped.
struct Envelope {
  RecordBatchPtr batch;             // may be null
  std::vector<RejectedRow> rejects;
  int64_t rows_skipped = 0;
  std::string skip_reason;
  uint64_t bytes_in = 0;
  std::vector<SourcePosition> positions;  // resume points valid after this envelope
  // A commit group may end after this envelope (false inside a source transaction).
  bool boundary = true;
  // Ask the sink stage to close the commit group now (end of a unit, end of input).
  bool flush = false;
};

}  // namespace sluice
