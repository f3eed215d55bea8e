// The initial copy of mode: cdc. On a first run the slot is created with EXPORT_SNAPSHOT and the
// tables are read inside one REPEATABLE READ transaction that imports that snapshot (SET
// TRANSACTION SNAPSHOT), so the copy is exactly the database at the slot's consistent point, and
// streaming from that point neither misses nor repeats a change.
//
// A keyed table is read in primary-key order, page by page (`WHERE (key) > (last) ORDER BY key
// LIMIT page_size`); each page ends with a boundary whose position holds the last key, so a
// killed copy resumes after the last committed page. The exported snapshot does not survive the
// run that made it: a resumed copy reads the remaining keys in a new snapshot, and the changes
// between the slot's point and that snapshot are then streamed over rows that already hold them.
// With a replicate sink (insert-or-update by key, delete by key) that converges to the same rows;
// README.md says so. A table without a primary key is read in one piece (no boundary inside).

#include <libpq-fe.h>

#include "connectors/postgres/pg_cdc_internal.h"
#include "core/log.h"
#include "core/strings.h"

namespace sluice::pgsrc {

namespace po = pg::pgoutput;

Status CdcSource::RunSnapshots(Emitter& out) {
  bool any = false;
  for (const auto& t : tables_) any = any || t.needs_snapshot;
  if (!any) return Status::OK();
  ASSIGN_OR_RETURN(snap_, PgConn::Connect(conn_opts_));
  RETURN_IF_ERROR(snap_->Exec("SET DateStyle = ISO; SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
                              "SET bytea_output = hex; SET IntervalStyle = postgres"));
  RETURN_IF_ERROR(snap_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  if (!exported_snapshot_.empty()) {
    RETURN_IF_ERROR(snap_->Exec("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(exported_snapshot_)));
  }
  for (auto& t : tables_) {
    if (!t.needs_snapshot) continue;
    ctx_.log->Info("postgres cdc: copying " + t.qualified,
                   {{"snapshot", exported_snapshot_.empty() ? "new (resumed copy)" : "exported by the slot"},
                    {"after_rows", std::to_string(t.state->snapshot_rows)}});
    RETURN_IF_ERROR(SnapshotTable(t, out));
    t.needs_snapshot = false;
  }
  (void)snap_->Exec("COMMIT");
  snap_.reset();
  exported_snapshot_.clear();
  return Status::OK();
}

// An envelope with `t`'s position (and no rows).
Status CdcSource::EmitTablePosition(CdcTable& t, Emitter& out, bool boundary) {
  Envelope env;
  env.positions.push_back({t.stream, kCdcKey, t.state->ToJson()});
  env.bytes_in = pending_bytes_;
  pending_bytes_ = 0;
  env.boundary = boundary;
  return out.Emit(std::move(env));
}

Status CdcSource::SnapshotTable(CdcTable& t, Emitter& out) {
  std::string list;
  for (size_t i = 0; i < t.cols.size(); ++i) list += (i ? ", " : "") + QuoteIdent(t.cols[i].name);
  std::vector<int> key_idx;
  for (const auto& k : t.pk) {
    for (size_t i = 0; i < t.cols.size(); ++i) {
      if (t.cols[i].name == k) key_idx.push_back(static_cast<int>(i));
    }
  }
  const bool keyed = !t.pk.empty() && key_idx.size() == t.pk.size();
  RecordBatch::ChangeSource base;
  base.position = po::LsnText(t.state->lsn);
  po::Tuple tuple;
  auto append_result = [&](const PgResult& res) {
    for (int r = 0; r < res.rows(); ++r) {
      tuple.resize(static_cast<size_t>(res.cols()));
      for (int c = 0; c < res.cols(); ++c) {
        tuple[static_cast<size_t>(c)] = res.IsNull(r, c) ? po::TupleValue{'n', {}} : po::TupleValue{'t', res.Get(r, c)};
        pending_bytes_ += res.Get(r, c).size();
      }
      AppendRow(t, 'r', tuple, nullptr, "", base);
    }
  };
  if (!keyed) {
    RETURN_IF_ERROR(snap_->Exec("DECLARE sluice_cdc_copy NO SCROLL CURSOR FOR SELECT " + list + " FROM " + t.qualified));
    for (;;) {
      if (out.StopRequested()) return Status::Cancelled("stopped during the copy of " + t.qualified);
      ASSIGN_OR_RETURN(PgResult res, snap_->Query("FETCH FORWARD " + std::to_string(page_size_) + " FROM sluice_cdc_copy"));
      txn_ordinal_ = t.state->snapshot_rows;
      append_result(res);
      t.state->snapshot_rows += res.rows();
      RETURN_IF_ERROR(FlushTable(t, out));  // boundary=false: a keyless copy cannot resume midway
      if (res.rows() < page_size_) break;
    }
    RETURN_IF_ERROR(snap_->Exec("CLOSE sluice_cdc_copy"));
  } else {
    std::string order;
    for (size_t i = 0; i < t.pk.size(); ++i) order += (i ? ", " : "") + QuoteIdent(t.pk[i]);
    for (;;) {
      if (out.StopRequested()) return Status::Cancelled("stopped during the copy of " + t.qualified);
      std::string sql = "SELECT " + list + " FROM " + t.qualified;
      std::vector<std::optional<std::string>> params;
      if (t.state->last_key) {
        std::string ps;
        for (size_t i = 0; i < t.pk.size(); ++i) {
          ps += (i ? ", $" : "$") + std::to_string(i + 1) + "::" + t.sql_types[t.pk[i]];
          params.push_back(i < t.state->last_key->size() ? (*t.state->last_key)[i] : std::nullopt);
        }
        sql += " WHERE (" + order + ") > (" + ps + ")";
      }
      sql += " ORDER BY " + order + " LIMIT " + std::to_string(page_size_);
      ASSIGN_OR_RETURN(PgResult res, snap_->Query(sql, params));
      txn_ordinal_ = t.state->snapshot_rows;
      append_result(res);
      if (res.rows() > 0) {
        KeyText last;
        for (int k : key_idx) {
          const int r = res.rows() - 1;
          last.push_back(res.IsNull(r, k) ? std::nullopt : std::optional<std::string>(std::string(res.Get(r, k))));
        }
        t.state->last_key = std::move(last);
      }
      t.state->snapshot_rows += res.rows();
      RETURN_IF_ERROR(FlushTable(t, out));
      if (res.rows() < page_size_) break;
      RETURN_IF_ERROR(EmitTablePosition(t, out, true));
    }
  }
  t.state->snapshot_done = true;
  t.state->last_key.reset();
  ctx_.log->Info("postgres cdc: copied " + t.qualified, {{"rows", std::to_string(t.state->snapshot_rows)}});
  return EmitTablePosition(t, out, true);
}

}  // namespace sluice::pgsrc
