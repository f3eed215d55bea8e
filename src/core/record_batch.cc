#include "core/record_batch.h"

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
    dst.reserve(rows.size());
    for (int64_t r : rows) dst.push_back(src[static_cast<size_t>(r)]);
  };
  take(from.origin_lines, origin_lines);
  take(from.ops, ops);
  unchanged.assign(from.unchanged.size(), {});
  for (size_t c = 0; c < from.unchanged.size(); ++c) take(from.unchanged[c], unchanged[c]);
}

}  // namespace sluice
