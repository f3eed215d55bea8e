#include "runtime/unique_index.h"

#include "core/record_batch.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice {

Result<std::unique_ptr<UniqueKeyIndex>> UniqueKeyIndex::Open(const std::string& path, const std::string& pipeline,
                                                             std::vector<std::string> columns, const StateMap& committed) {
  std::unique_ptr<UniqueKeyIndex> idx(new UniqueKeyIndex());
  idx->pipeline_ = pipeline;
  idx->columns_ = std::move(columns);
  RETURN_IF_ERROR(idx->db_.Open(path));
  RETURN_IF_ERROR(idx->db_.Exec(
      "CREATE TABLE IF NOT EXISTS unique_keys (pipeline TEXT NOT NULL, stream TEXT NOT NULL, col TEXT NOT NULL, "
      "value TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (pipeline, stream, col, value)) WITHOUT ROWID"));
  int64_t durable = 0;
  if (auto it = committed.find({"", kUniqueSeqKey}); it != committed.end()) durable = std::atoll(it->second.c_str());
  // Values of a group the sink never committed: that group will be read again.
  ASSIGN_OR_RETURN(SqliteStmt forget, idx->db_.Prepare("DELETE FROM unique_keys WHERE pipeline = ?1 AND seq > ?2"));
  forget.BindText(1, pipeline);
  forget.BindInt64(2, durable);
  RETURN_IF_ERROR(forget.Run());
  idx->seq_ = durable + 1;
  ASSIGN_OR_RETURN(idx->find_, idx->db_.Prepare(
      "SELECT seq FROM unique_keys WHERE pipeline = ?1 AND stream = ?2 AND col = ?3 AND value = ?4"));
  ASSIGN_OR_RETURN(idx->insert_, idx->db_.Prepare(
      "INSERT OR IGNORE INTO unique_keys (pipeline, stream, col, value, seq) VALUES (?1, ?2, ?3, ?4, ?5)"));
  return idx;
}

Status UniqueKeyIndex::Begin() {
  if (in_txn_) return Status::OK();
  RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  in_txn_ = true;
  return Status::OK();
}

Result<RecordBatchPtr> UniqueKeyIndex::Filter(const RecordBatchPtr& batch, std::vector<RejectedRow>* rejects) {
  const Schema& schema = *batch->schema();
  std::vector<int> cols;
  for (const auto& name : columns_) cols.push_back(schema.IndexOf(name));
  RETURN_IF_ERROR(Begin());
  const int64_t n = batch->num_rows();
  std::vector<int64_t> kept;
  kept.reserve(static_cast<size_t>(n));
  std::vector<std::string> values(cols.size());
  for (int64_t row = 0; row < n; ++row) {
    std::string reason, column;
    for (size_t k = 0; k < cols.size() && reason.empty(); ++k) {
      values[k].clear();
      if (cols[k] < 0 || batch->column(static_cast<size_t>(cols[k])).IsNull(row)) continue;
      AppendValueText(batch->column(static_cast<size_t>(cols[k])), row, values[k]);
      find_.BindTextStatic(1, pipeline_);
      find_.BindTextStatic(2, batch->stream);
      find_.BindTextStatic(3, columns_[k]);
      find_.BindTextStatic(4, values[k]);
      ASSIGN_OR_RETURN(bool seen, find_.Step());
      find_.Reset();
      if (seen) {
        column = columns_[k];
        reason = "'" + PrintableExcerpt(values[k], 60) + "' in unique column '" + column +
                 "' was already loaded by an earlier run";
      }
    }
    if (!reason.empty()) {
      RejectedRow r;
      r.stream = batch->stream;
      r.origin = RowOriginText(*batch, row);
      r.position_key = r.origin + "#unique";
      r.raw = RowJson(*batch, row);
      r.rule = "unique";
      r.column = column;
      r.reason = reason;
      rejects->push_back(std::move(r));
      continue;
    }
    for (size_t k = 0; k < cols.size(); ++k) {
      if (cols[k] < 0 || batch->column(static_cast<size_t>(cols[k])).IsNull(row)) continue;
      insert_.BindTextStatic(1, pipeline_);
      insert_.BindTextStatic(2, batch->stream);
      insert_.BindTextStatic(3, columns_[k]);
      insert_.BindTextStatic(4, values[k]);
      insert_.BindInt64(5, seq_);
      RETURN_IF_ERROR(insert_.Run());
    }
    kept.push_back(row);
  }
  return SelectRows(batch, kept);
}

Status UniqueKeyIndex::Commit(SourcePosition* position) {
  if (in_txn_) {
    RETURN_IF_ERROR(db_.Exec("COMMIT"));
    in_txn_ = false;
  }
  *position = {"", kUniqueSeqKey, std::to_string(seq_)};
  ++seq_;
  return Status::OK();
}

void UniqueKeyIndex::Abort() {
  if (in_txn_) (void)db_.Exec("ROLLBACK");
  in_txn_ = false;
}

}  // namespace sluice
