// mode: full of the postgres source (README.md, "mode: full"): one snapshot over one or more
// connections, each table's ranges read in primary-key order with binary COPY, and the planning
// and resuming of those ranges.

#include <libpq-fe.h>

#include <algorithm>
#include <thread>

#include "connectors/postgres/pg_source_internal.h"
#include "connectors/sql/incremental_state.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice::pgsrc {
namespace {

// The COPY statement of one range of a full read.
std::string RangeCopySql(const Table& t, const pg::RangeState& r) {
  std::vector<std::string> preds;
  if (t.keyed()) {
    const size_t k0 = static_cast<size_t>(t.key[0]);
    if (r.lo) preds.push_back(t.Col(t.key[0]) + " >= " + Literal(r.lo, t.sql_types[k0]));
    if (r.hi) preds.push_back(t.Col(t.key[0]) + " < " + Literal(r.hi, t.sql_types[k0]));
    if (r.last && r.last->size() == t.key.size()) {
      std::string vals = "(";
      for (size_t i = 0; i < t.key.size(); ++i) {
        vals += (i ? ", " : "") + Literal((*r.last)[i], t.sql_types[static_cast<size_t>(t.key[i])]);
      }
      preds.push_back(t.Tuple(t.key) + " > " + vals + ")");
    }
  }
  std::string sql = "COPY (SELECT " + t.SelectList() + " FROM " + t.qualified + " AS t";
  if (!preds.empty()) sql += " WHERE " + Join(preds, " AND ");
  if (t.keyed()) sql += t.OrderBy(t.key);
  return sql + ") TO STDOUT (FORMAT binary)";
}

}  // namespace

Result<std::vector<pg::RangeState>> PostgresSource::PlanRanges(const Table& t) {
  std::vector<pg::RangeState> one(1);
  const bool sampleable = t.rel.relkind == 'r' || t.rel.relkind == 'm' || t.rel.relkind == 'p';
  if (!t.keyed() || parallel_ <= 1 || t.rel.reltuples < kMinRowsToSplit || !sampleable) return one;
  const PgColumn& k = t.cols[static_cast<size_t>(t.key[0])];
  const std::string col = QuoteIdent(k.name);
  std::vector<std::string> bounds;
  if (k.wire == pg::Wire::kInt2 || k.wire == pg::Wire::kInt4 || k.wire == pg::Wire::kInt8) {
    // Integer keys: even steps between min and max (both read from the index).
    ASSIGN_OR_RETURN(PgResult r, conn_->Query("SELECT min(" + col + ")::text, max(" + col + ")::text FROM " + t.qualified));
    int64_t lo = 0, hi = 0;
    if (r.rows() == 0 || r.IsNull(0, 0) || !ParseInt64(r.Get(0, 0), &lo) || !ParseInt64(r.Get(0, 1), &hi)) return one;
    const int128_t step = (static_cast<int128_t>(hi) - lo + 1) / parallel_;
    if (step < 1) return one;
    for (int i = 1; i < parallel_; ++i) bounds.push_back(std::to_string(static_cast<int64_t>(lo + step * i)));
  } else {
    // Other keys: quantiles of a sample of about kSampleRows rows.
    const double pct = std::clamp(100.0 * kSampleRows / std::max(t.rel.reltuples, 1.0), 0.01, 100.0);
    std::string fractions = "{";
    for (int i = 1; i < parallel_; ++i) fractions += (i > 1 ? "," : "") + std::to_string(static_cast<double>(i) / parallel_);
    fractions += "}";
    char pct_text[32];
    std::snprintf(pct_text, sizeof pct_text, "%.4f", pct);
    ASSIGN_OR_RETURN(PgResult r, conn_->Query("SELECT b::text FROM unnest((SELECT percentile_disc($1::float8[]) WITHIN GROUP "
                                              "(ORDER BY s." + col + ") FROM " + t.qualified + " AS s TABLESAMPLE SYSTEM (" +
                                              pct_text + "))) WITH ORDINALITY AS u(b, o) WHERE b IS NOT NULL ORDER BY o",
                                              {fractions}));
    for (int i = 0; i < r.rows(); ++i) {
      std::string b(r.Get(i, 0));
      if (bounds.empty() || bounds.back() != b) bounds.push_back(std::move(b));
    }
  }
  std::vector<pg::RangeState> ranges(bounds.size() + 1);
  for (size_t i = 0; i < bounds.size(); ++i) {
    ranges[i].hi = bounds[i];
    ranges[i + 1].lo = bounds[i];
  }
  return ranges;
}

Status PostgresSource::LoadFullStates(const StateMap& committed) {
  // A run that finished every table leaves them all done: the next run takes a new snapshot.
  // Otherwise the previous run was interrupted, and its unfinished tables and ranges resume.
  // A replace sink shows positions only of a load it has not swapped in yet: all done there
  // means the read is complete and only the swap is missing (a kill between the last commit and
  // it), so nothing is read again; a new snapshot would land on top of the staged rows.
  std::vector<std::optional<pg::FullState>> states;
  bool all_done = true;
  for (const Table& t : tables_) {
    auto it = committed.find({t.name, kFullKey});
    states.push_back(it == committed.end() ? std::nullopt : pg::FullState::FromJson(it->second));
    if (!states.back() || !states.back()->Done()) all_done = false;
  }
  for (size_t i = 0; i < tables_.size(); ++i) {
    Table& t = tables_[i];
    if (!sql::StartFullReadAgain(ctx_.sink_mode, all_done) && states[i]) {
      t.full = *states[i];
      t.resuming = true;
      continue;
    }
    ASSIGN_OR_RETURN(t.full.ranges, PlanRanges(t));
  }
  return Status::OK();
}
// ---- mode: full ----

Status PostgresSource::RunFull(Emitter& out) {
  struct Unit {
    size_t table, range;
    pg::RangeState state;
  };
  std::vector<Unit> units;
  for (size_t ti = 0; ti < tables_.size(); ++ti) {
    for (size_t ri = 0; ri < tables_[ti].full.ranges.size(); ++ri) {
      if (!tables_[ti].full.ranges[ri].done) units.push_back({ti, ri, tables_[ti].full.ranges[ri]});
    }
  }
  if (units.empty()) return Status::OK();
  const size_t workers = std::min<size_t>(static_cast<size_t>(parallel_), units.size());
  std::vector<std::unique_ptr<PgConn>> conns;
  conns.push_back(std::move(conn_));
  for (size_t i = 1; i < workers; ++i) {
    ASSIGN_OR_RETURN(auto c, PgConn::Connect(conn_opts_));
    conns.push_back(std::move(c));
  }
  // One snapshot for every table and every connection.
  RETURN_IF_ERROR(conns[0]->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  if (workers > 1) {
    ASSIGN_OR_RETURN(PgResult snap, conns[0]->Query("SELECT pg_export_snapshot()"));
    const std::string id(snap.Get(0, 0));
    for (size_t i = 1; i < workers; ++i) {
      RETURN_IF_ERROR(conns[i]->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT " +
                                     pg::QuoteLiteral(id)));
    }
  }
  ctx_.log->Info("postgres: reading a snapshot", {{"tables", std::to_string(tables_.size())},
                                                   {"ranges", std::to_string(units.size())},
                                                   {"connections", std::to_string(workers)}});
  PieceQueue queue(2 * workers + 2);
  std::atomic<size_t> next{0};
  std::atomic<size_t> live{workers};
  std::mutex err_mu;
  Status first_error;
  stop_ = false;
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= units.size() || stop_) break;
        Status st = ReadRange(*conns[w], units[i].table, units[i].range, units[i].state, queue);
        if (!st.ok()) {
          if (!st.IsCancelled()) {
            std::lock_guard<std::mutex> lock(err_mu);
            if (first_error.ok()) first_error = st;
          }
          stop_ = true;
          queue.Close();
          break;
        }
      }
      if (live.fetch_sub(1) == 1) queue.Close();
    });
  }
  Status emit_status;
  while (auto p = queue.Pop()) {
    emit_status = EmitPiece(*p, out);
    // A stop (SIGTERM) ends the read after this batch; what was emitted is positioned.
    if (emit_status.ok() && out.StopRequested()) emit_status = Status::Cancelled("stop requested");
    if (!emit_status.ok()) {
      stop_ = true;
      queue.Close();
      break;
    }
  }
  for (auto& t : threads) t.join();
  for (auto& c : conns) (void)c->Exec("COMMIT");
  if (!first_error.ok()) return first_error;
  return emit_status;
}

Status PostgresSource::ReadRange(PgConn& conn, size_t ti, size_t ri, pg::RangeState r, PieceQueue& q) {
  const Table& t = tables_[ti];
  RecordBatchBuilder b(t.all_schema);
  pg::CopyDecoder dec(&t.cols, &b, pg::RowOriginInfo{t.name, t.name, t.key});
  dec.SetFirstRow(r.rows);
  int64_t sent_rows = r.rows;
  uint64_t sent_bytes = 0;
  auto push = [&](bool done) -> Status {
    Piece p;
    p.table = ti;
    p.range = ri;
    p.done = done;
    if (b.num_rows() > 0) p.batch = t.Project(b.Finish(t.name, t.name));
    p.rejects = dec.TakeRejects();
    p.last = dec.LastKeyText();
    p.rows = dec.rows() - sent_rows;
    p.bytes = dec.bytes() - sent_bytes;
    sent_rows = dec.rows();
    sent_bytes = dec.bytes();
    if (!q.Push(std::move(p))) return Status::Cancelled("stopping");
    return Status::OK();
  };
  Status st = conn.CopyOut(RangeCopySql(t, r), [&](std::string_view chunk) -> Status {
    if (stop_) return Status::Cancelled("stopping");
    RETURN_IF_ERROR(dec.Feed(chunk));
    return b.Full() ? push(false) : Status::OK();
  });
  if (!st.ok()) return st.IsCancelled() ? st : st.WithContext(t.name);
  RETURN_IF_ERROR(dec.Finish().WithContext(t.name));
  return push(true);
}

Status PostgresSource::EmitPiece(Piece& p, Emitter& out) {
  Table& t = tables_[p.table];
  pg::RangeState& r = t.full.ranges[p.range];
  r.rows += p.rows;
  if (!p.last.empty()) r.last = std::move(p.last);
  r.done = r.done || p.done;
  if (!t.keyed()) t.keyless_open = !p.done;
  Envelope env;
  env.batch = std::move(p.batch);
  env.rejects = std::move(p.rejects);
  env.bytes_in = p.bytes;
  // A table without a key cannot resume mid-way: no commit may end inside its read.
  env.boundary = std::none_of(tables_.begin(), tables_.end(), [](const Table& x) { return x.keyless_open; });
  env.flush = t.full.Done();
  if (t.keyed() || p.done) env.positions.push_back({t.name, kFullKey, t.full.ToJson()});
  if (env.flush) {
    int64_t rows = 0;
    for (const auto& x : t.full.ranges) rows += x.rows;
    ctx_.log->Info("postgres: table read", {{"table", t.name}, {"rows", std::to_string(rows)}});
  }
  return out.Emit(std::move(env));
}
}  // namespace sluice::pgsrc
