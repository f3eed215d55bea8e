#include "quality/quarantine.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <sys/time.h>

#include <cstdio>
#include <ctime>

#include "core/strings.h"
#include "state/sqlite_db.h"

namespace sluice {

std::string QuarantineNow() { return UtcNowIso(6); }

namespace {
// The rows of a query selecting id, stream, origin, position, rule, column_name, reason, raw,
// recorded_at.
Result<std::vector<QuarantineEntry>> ReadEntries(SqliteStmt& q) {
  std::vector<QuarantineEntry> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    QuarantineEntry e;
    e.id = q.ColumnText(0);
    e.row.stream = q.ColumnText(1);
    e.row.origin = q.ColumnText(2);
    e.row.position_key = q.ColumnText(3);
    e.row.rule = q.ColumnText(4);
    e.row.column = q.ColumnText(5);
    e.row.reason = q.ColumnText(6);
    e.row.raw = q.ColumnText(7);
    e.recorded_at = q.ColumnText(8);
    out.push_back(std::move(e));
  }
  return out;
}
}  // namespace

QuarantineStore::~QuarantineStore() = default;

Status QuarantineStore::DeleteOlderThan(const std::string& pipeline, const std::vector<std::string>& ids,
                                        const std::string& before) {
  if (ids.empty()) return Status::OK();
  RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    ASSIGN_OR_RETURN(SqliteStmt d, db_->Prepare(
        "DELETE FROM quarantine WHERE pipeline = ?1 AND id = ?2 AND recorded_at < ?3"));
    for (const auto& id : ids) {
      d.BindText(1, pipeline);
      d.BindText(2, id);
      d.BindText(3, before);
      RETURN_IF_ERROR(d.Run());
    }
    return Status::OK();
  };
  Status st = body();
  if (!st.ok()) {
    (void)db_->Exec("ROLLBACK");
    return st;
  }
  return db_->Exec("COMMIT");
}

Result<std::unique_ptr<QuarantineStore>> QuarantineStore::Open(const std::string& dir) {
  auto q = std::unique_ptr<QuarantineStore>(new QuarantineStore());
  q->path_ = dir + "/quarantine.db";
  q->db_ = std::make_unique<SqliteDb>();
  Status st = q->db_->Open(q->path_);
  if (!st.ok()) return st.WithContext("quarantine");
  RETURN_IF_ERROR(q->db_->Exec(
      "CREATE TABLE IF NOT EXISTS quarantine (id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, "
      "stream TEXT NOT NULL, origin TEXT NOT NULL, position TEXT NOT NULL, rule TEXT NOT NULL, "
      "column_name TEXT NOT NULL, reason TEXT NOT NULL, raw BLOB, contract_version INTEGER NOT NULL, "
      "recorded_at TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS quarantine_by_pipeline ON quarantine (pipeline, stream);"));
  return q;
}

std::string QuarantineStore::RecordId(const std::string& pipeline, const RejectedRow& row,
                                      int ordinal, int contract_version) {
  std::string key = pipeline + '\x1f' + row.stream + '\x1f' + row.position_key + '\x1f' +
                    std::to_string(ordinal) + '\x1f' + std::to_string(contract_version);
  XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

Status QuarantineStore::Write(const std::string& pipeline, const std::vector<RejectedRow>& rows,
                              int contract_version) {
  if (rows.empty()) return Status::OK();
  const std::string now = QuarantineNow();
  RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    ASSIGN_OR_RETURN(SqliteStmt ins, db_->Prepare(
        "INSERT OR REPLACE INTO quarantine (id, pipeline, stream, origin, position, rule, column_name, "
        "reason, raw, contract_version, recorded_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"));
    // Rows rejected at the same position (several violations of one row) get ordinals 0, 1 ...
    std::string last_key;
    int ordinal = 0;
    for (const RejectedRow& r : rows) {
      ordinal = (r.position_key == last_key) ? ordinal + 1 : 0;
      last_key = r.position_key;
      ins.BindText(1, RecordId(pipeline, r, ordinal, contract_version));
      ins.BindText(2, pipeline);
      ins.BindText(3, r.stream);
      ins.BindText(4, r.origin);
      ins.BindText(5, r.position_key);
      ins.BindText(6, r.rule);
      ins.BindText(7, r.column);
      ins.BindText(8, r.reason);
      ins.BindBlob(9, r.raw);
      ins.BindInt64(10, contract_version);
      ins.BindText(11, now);
      RETURN_IF_ERROR(ins.Run());
    }
    return Status::OK();
  };
  Status st = body();
  if (!st.ok()) {
    (void)db_->Exec("ROLLBACK");
    return st.WithContext("quarantine " + path_);
  }
  return db_->Exec("COMMIT");
}

Result<std::vector<QuarantineSummaryRow>> QuarantineStore::Summarize(const std::string& pipeline) {
  ASSIGN_OR_RETURN(SqliteStmt q, db_->Prepare(
      "SELECT stream, rule, column_name, COUNT(*), MIN(reason) FROM quarantine WHERE pipeline = ?1 "
      "GROUP BY stream, rule, column_name ORDER BY COUNT(*) DESC"));
  q.BindText(1, pipeline);
  std::vector<QuarantineSummaryRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.ColumnText(0), q.ColumnText(1), q.ColumnText(2), q.ColumnInt64(3), q.ColumnText(4)});
  }
  return out;
}

Result<std::vector<QuarantineEntry>> QuarantineStore::List(const std::string& pipeline, int64_t limit) {
  ASSIGN_OR_RETURN(SqliteStmt q, db_->Prepare(
      "SELECT id, stream, origin, position, rule, column_name, reason, raw, recorded_at FROM quarantine "
      "WHERE pipeline = ?1 ORDER BY recorded_at, origin LIMIT ?2"));
  q.BindText(1, pipeline);
  q.BindInt64(2, limit);
  return ReadEntries(q);
}

Result<std::vector<QuarantineEntry>> QuarantineStore::SampleOfRule(const std::string& pipeline,
                                                                   const std::string& rule, int64_t limit) {
  // instr, not LIKE: a rule name may hold % or _.
  ASSIGN_OR_RETURN(SqliteStmt q, db_->Prepare(
      "SELECT id, stream, origin, position, rule, column_name, reason, raw, recorded_at FROM quarantine "
      "WHERE pipeline = ?1 AND instr(',' || rule || ',', ',' || ?2 || ',') > 0 "
      "ORDER BY recorded_at DESC, origin LIMIT ?3"));
  q.BindText(1, pipeline);
  q.BindText(2, rule);
  q.BindInt64(3, limit);
  return ReadEntries(q);
}

Result<int64_t> QuarantineStore::Count(const std::string& pipeline) {
  ASSIGN_OR_RETURN(SqliteStmt q, db_->Prepare("SELECT COUNT(*) FROM quarantine WHERE pipeline = ?1"));
  q.BindText(1, pipeline);
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.ColumnInt64(0) : 0;
}

Result<std::vector<std::pair<std::string, int64_t>>> QuarantineStore::CountByStream(const std::string& pipeline) {
  ASSIGN_OR_RETURN(SqliteStmt q, db_->Prepare(
      "SELECT stream, COUNT(*) FROM quarantine WHERE pipeline = ?1 GROUP BY stream ORDER BY stream"));
  q.BindText(1, pipeline);
  std::vector<std::pair<std::string, int64_t>> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.emplace_back(q.ColumnText(0), q.ColumnInt64(1));
  }
  return out;
}

Status QuarantineStore::Clear(const std::string& pipeline, const std::string& stream) {
  ASSIGN_OR_RETURN(SqliteStmt d, db_->Prepare(
      stream.empty() ? "DELETE FROM quarantine WHERE pipeline = ?1"
                     : "DELETE FROM quarantine WHERE pipeline = ?1 AND stream = ?2"));
  d.BindText(1, pipeline);
  if (!stream.empty()) d.BindText(2, stream);
  return d.Run();
}

}  // namespace sluice
