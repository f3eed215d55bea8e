#include "core/record_batch.h"

#include "core/strings.h"
#include "core/values.h"

namespace sluice {

size_t RecordBatch::ByteSize() const {
  size_t n = 0;
  for (const auto& c : columns_) n += c->ByteSize();
  return n + origin_lines.size() * sizeof(int64_t);
}

RecordBatchBuilder::RecordBatchBuilder(SchemaPtr schema) : schema_(std::move(schema)) {
  columns_.reserve(schema_->size());
  for (const Field& f : schema_->fields()) columns_.emplace_back(f.type);
}

size_t RecordBatchBuilder::ByteSize() const {
  size_t n = 0;
  for (const auto& c : columns_) n += c.ByteSize();
  return n;
}

void RecordBatchBuilder::RollbackRow() {
  for (auto& c : columns_) c.Truncate(num_rows_);
}

void RecordBatchBuilder::AddField(const Field& field) {
  auto grown = std::make_shared<Schema>(*schema_);
  grown->AddField(field);
  schema_ = grown;
  columns_.emplace_back(field.type);
  for (int64_t i = 0; i < num_rows_; ++i) columns_.back().AppendNull();
}

void RecordBatchBuilder::ReplaceColumn(size_t i, const DataType& type, ColumnBuilder column) {
  std::vector<Field> fields = schema_->fields();
  fields[i].type = type;
  schema_ = std::make_shared<const Schema>(std::move(fields));
  columns_[i] = std::move(column);
}

RecordBatchPtr RecordBatchBuilder::Finish(const std::string& stream,
                                          const std::string& origin_unit) {
  std::vector<ColumnPtr> cols;
  cols.reserve(columns_.size());
  for (auto& c : columns_) cols.push_back(c.Finish());
  auto batch = std::make_shared<RecordBatch>(schema_, std::move(cols), num_rows_);
  batch->stream = stream;
  batch->origin_unit = origin_unit;
  batch->origin_lines = std::move(origin_lines_);
  origin_lines_.clear();
  num_rows_ = 0;
  return batch;
}

void RecordBatch::TakeRowMeta(const RecordBatch& from, const std::vector<int64_t>& rows) {
  auto take = [&](const auto& src, auto& dst) {
    dst.clear();
    if (src.empty()) return;
    dst.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) dst[i] = src[static_cast<size_t>(rows[i])];
  };
  take(from.origin_lines, origin_lines);
  take(from.ops, ops);
  take(from.changes, changes);
  before_rows = from.before_rows;
  source_db = from.source_db;
  source_table = from.source_table;
  unchanged.assign(from.unchanged.size(), {});
  for (size_t c = 0; c < from.unchanged.size(); ++c) take(from.unchanged[c], unchanged[c]);
}

RecordBatchPtr SelectRows(const RecordBatchPtr& batch, const std::vector<int64_t>& rows) {
  if (static_cast<int64_t>(rows.size()) == batch->num_rows()) return batch;
  // Runs of consecutive rows {first, count}: each is one copy per buffer of each column.
  std::vector<std::pair<int64_t, int64_t>> runs;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
    runs.emplace_back(rows[i], static_cast<int64_t>(j - i));
    i = j;
  }
  const Schema& schema = *batch->schema();
  std::vector<ColumnPtr> cols;
  cols.reserve(schema.size());
  for (size_t c = 0; c < schema.size(); ++c) {
    const Column& src = batch->column(c);
    ColumnBuilder b(schema.field(c).type);
    size_t bytes = 0;
    if (b.type().IsVarWidth()) {
      const auto& off = src.offsets();
      for (const auto& [first, count] : runs) {
        bytes += static_cast<size_t>(off[static_cast<size_t>(first + count)] - off[static_cast<size_t>(first)]);
      }
    }
    b.Reserve(static_cast<int64_t>(rows.size()), bytes);
    for (const auto& [first, count] : runs) b.AppendRange(src, first, count);
    cols.push_back(b.Finish());
  }
  auto out = std::make_shared<RecordBatch>(batch->schema(), std::move(cols), static_cast<int64_t>(rows.size()));
  out->stream = batch->stream;
  out->origin_unit = batch->origin_unit;
  out->TakeRowMeta(*batch, rows);
  return out;
}

std::string RowOriginText(const RecordBatch& batch, int64_t row) {
  if (!batch.origin_unit.empty() && row < static_cast<int64_t>(batch.origin_lines.size())) {
    return batch.origin_unit + ":" + std::to_string(batch.origin_lines[static_cast<size_t>(row)]);
  }
  return batch.stream + ": row " + std::to_string(row + 1) + " of a batch";
}

std::string RowJson(const RecordBatch& batch, int64_t row) {
  std::string out;
  AppendRowJson(batch, row, out);
  return out;
}

void AppendRowJson(const RecordBatch& batch, int64_t row, std::string& out) {
  out += '{';
  const Schema& schema = *batch.schema();
  for (size_t c = 0; c < schema.size(); ++c) {
    if (c) out += ',';
    AppendJsonString(out, schema.field(c).name);
    out += ':';
    AppendValueJson(batch.column(c), row, out);
  }
  out += '}';
}

}  // namespace sluice
