#pragma once
// RecordBatch: an immutable set of rows in columnar form, plus the stream it belongs to and the
// origin of every row (for quarantine records raised by later stages). RecordBatchBuilder builds
// one row at a time or column by column; it is used by one thread at a time.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/column.h"
#include "core/types.h"

namespace sluice {

// Target size of a batch (DESIGN.md): about 64K rows or 4 MiB, whichever comes first.
inline constexpr int64_t kBatchRows = 65536;
inline constexpr size_t kBatchBytes = 4u << 20;

class RecordBatch {
 public:
  RecordBatch(SchemaPtr schema, std::vector<ColumnPtr> columns, int64_t num_rows)
      : schema_(std::move(schema)), columns_(std::move(columns)), num_rows_(num_rows) {}
  const SchemaPtr& schema() const { return schema_; }
  const Column& column(size_t i) const { return *columns_[i]; }
  const std::vector<ColumnPtr>& columns() const { return columns_; }
  int64_t num_rows() const { return num_rows_; }
  size_t ByteSize() const;

  // The stream (table, file set, topic) the rows came from.
  std::string stream;
  // Where the rows came from: a unit name (file path, table) and, per row, a line number or
  // offset within it. May be empty for sources that have no row-level origin.
  std::string origin_unit;
  std::vector<int64_t> origin_lines;

  // Change data (DESIGN.md "Data model"); both are empty in a batch of plain rows.
  // ops[i] is the operation of row i: 'c' insert, 'u' update, 'd' delete, 'r' snapshot read. A
  // delete carries at least the key columns of the old row.
  std::vector<char> ops;
  // unchanged[c][i] != 0: the source did not send column c of row i (an unchanged TOAST value),
  // so the sink leaves the stored value as it is. Either empty or one entry per column, each
  // either empty (no such value in that column) or one byte per row.
  std::vector<std::vector<uint8_t>> unchanged;
  // Where each change came from, for changelog sinks and for applying whole source transactions:
  // either empty or one entry per row.
  struct ChangeSource {
    std::string position;  // LSN "0/16B3748" or GTID "0-1-42" of the transaction's commit
    int64_t txid = 0;      // source transaction id (PostgreSQL xid; 0 when unknown)
    int64_t commit_us = 0;  // commit time, µs since the epoch (0 for snapshot reads)
    std::string before;    // the old row as a JSON object, when the source sent one ("" otherwise)
    // Or the old row typed: row `before_row` of `before_rows` (-1: none). A delete without either
    // has its own row as the old row.
    int64_t before_row = -1;
  };
  std::vector<ChangeSource> changes;
  // The old rows that ChangeSource::before_row indexes, with this batch's schema; `unchanged` there
  // marks columns the source did not send (a key-only old row). A source fills it only when the
  // sink writes before images (ConnectorContext::before_images): typed rows cost a fraction of
  // JSON text, and are rendered only where they are written.
  std::shared_ptr<const RecordBatch> before_rows;
  // The source database (or schema) and table of the changes, for the changelog `source` field.
  std::string source_db;
  std::string source_table;

  char op(int64_t i) const { return ops.empty() ? 'c' : ops[static_cast<size_t>(i)]; }
  bool is_unchanged(size_t c, int64_t i) const {
    return c < unchanged.size() && !unchanged[c].empty() && unchanged[c][static_cast<size_t>(i)] != 0;
  }
  // Sets the per-row metadata (origin lines, ops, unchanged marks, change sources) to that of rows `rows` of
  // `from`, in order; used when rows are filtered out of a batch.
  void TakeRowMeta(const RecordBatch& from, const std::vector<int64_t>& rows);

 private:
  SchemaPtr schema_;
  std::vector<ColumnPtr> columns_;
  int64_t num_rows_;
};

using RecordBatchPtr = std::shared_ptr<const RecordBatch>;

// The rows `rows` (ascending) of `batch`, with their per-row metadata; `batch` itself when every
// row is selected.
RecordBatchPtr SelectRows(const RecordBatchPtr& batch, const std::vector<int64_t>& rows);
// Where row `row` came from, for quarantine records: "data/orders.csv:17", or the stream and the
// row's place in its batch when the source has no row-level origin.
std::string RowOriginText(const RecordBatch& batch, int64_t row);
// Row `row` as a JSON object of column name to value: the raw form of a quarantined row.
std::string RowJson(const RecordBatch& batch, int64_t row);
void AppendRowJson(const RecordBatch& batch, int64_t row, std::string& out);

class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(SchemaPtr schema);
  const SchemaPtr& schema() const { return schema_; }
  ColumnBuilder& column(size_t i) { return columns_[i]; }
  size_t num_columns() const { return columns_.size(); }
  int64_t num_rows() const { return num_rows_; }
  size_t ByteSize() const;
  // Byte size is summed only every 256 rows: it walks every column.
  bool Full() const {
    return num_rows_ >= kBatchRows || ((num_rows_ & 255) == 0 && num_rows_ > 0 && ByteSize() >= kBatchBytes);
  }

  // After a value has been appended to every column: the row is complete.
  void CommitRow(int64_t origin_line) {
    ++num_rows_;
    origin_lines_.push_back(origin_line);
  }
  // Drops the values appended since the last CommitRow.
  void RollbackRow();
  // Widens the schema by one nullable field; rows already built get null for it.
  void AddField(const Field& field);
  // Replaces column `i` (the rows built so far, converted) and its field's type.
  void ReplaceColumn(size_t i, const DataType& type, ColumnBuilder column);
  // Builds the batch and leaves the builder empty, with the same schema.
  RecordBatchPtr Finish(const std::string& stream, const std::string& origin_unit);

 private:
  SchemaPtr schema_;
  std::vector<ColumnBuilder> columns_;
  int64_t num_rows_ = 0;
  std::vector<int64_t> origin_lines_;
};

}  // namespace sluice
