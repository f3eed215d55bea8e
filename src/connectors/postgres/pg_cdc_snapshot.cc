// The initial copy of mode: cdc, by watermarks (the DBLog approach), interleaved with the stream.
//
// The stream runs from the slot from the start. A table whose copy is not done is read in chunks
// of `page_size` rows in primary-key order, one chunk in flight at a time:
//   1. write a low watermark into the WAL: pg_logical_emit_message(true, 'sluice', 'low:<id>');
//   2. select the next chunk (`WHERE (key) > (last key) ORDER BY key LIMIT page_size`);
//   3. write a high watermark ('high:<id>').
// The stream then reaches the low watermark, the changes committed between the two, and the high
// one. Every key that a change between the watermarks touched is dropped from the chunk: the
// stream has that change and the selected row may be older than it. At the high watermark the rest
// is appended as op `r`, after the stream's changes up to that point and inside the high
// watermark's transaction, whose commit carries the table's progress (last key, done) in the
// position. So a chunk is in the sink exactly when its position is: kill -9 resumes from the last
// committed chunk, and no change is applied twice or lost, for changelog sinks as for replicate.
//
// Why a selected row that the window did not touch may go out at the high watermark: a change
// committed after the high watermark began after the SELECT's snapshot, and follows in the stream;
// a change before the low watermark is in the row already. One gap remains: PostgreSQL writes a
// commit record before it makes the transaction visible, so a transaction that commits just
// before the low watermark may be invisible to the SELECT. The SELECT's snapshot
// (pg_current_snapshot) is kept, and a change by a transaction it did not see drops its key too.
//
// A table without a primary key is selected whole as one chunk; a change of it between the
// watermarks (or unseen by the snapshot) spoils the chunk, and it is selected again.

#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "connectors/postgres/pg_cdc_internal.h"
#include "core/log.h"
#include "core/strings.h"

namespace sluice::pgsrc {

namespace po = pg::pgoutput;

namespace {

constexpr char kWatermarkPrefix[] = "sluice";

// Wraparound-aware "a is before b" for 32-bit transaction ids.
bool XidBefore(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

// A key as one string: each part is a null mark, or its length and text.
void AppendKeyPart(std::string& out, const std::optional<std::string_view>& v) {
  if (!v) {
    out += '\x01';
    return;
  }
  out += '\x02';
  out += std::to_string(v->size());
  out += ':';
  out.append(v->data(), v->size());
}

// "xmin:xmax:xip,xip" (xid8 values) into 32-bit ids.
bool ParseSnapshot(std::string_view text, CdcChunk* c) {
  auto num = [](std::string_view s, uint32_t* out) {
    if (s.empty()) return false;
    uint64_t v = 0;
    for (char ch : s) {
      if (ch < '0' || ch > '9') return false;
      v = v * 10 + static_cast<uint64_t>(ch - '0');
    }
    *out = static_cast<uint32_t>(v & 0xffffffffu);
    return true;
  };
  const size_t a = text.find(':');
  const size_t b = a == std::string_view::npos ? a : text.find(':', a + 1);
  if (b == std::string_view::npos) return false;
  if (!num(text.substr(0, a), &c->xmin) || !num(text.substr(a + 1, b - a - 1), &c->xmax))
    return false;
  std::string_view rest = text.substr(b + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    uint32_t x = 0;
    if (!num(rest.substr(0, comma), &x)) return false;
    c->xip.insert(x);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return true;
}

std::string NewRunId() {
  std::random_device rd;
  const uint64_t v =
      (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

bool CdcChunk::Sees(uint32_t xid) const {
  if (xmin == 0 && xmax == 0) return true;
  if (XidBefore(xid, xmin)) return true;
  return XidBefore(xid, xmax) && !xip.count(xid);
}

size_t CdcSource::NextSnapshotTable() const {
  size_t i = 0;
  while (i < tables_.size() && !(tables_[i].state && !tables_[i].state->snapshot_done)) ++i;
  return i;
}

bool CdcSource::SnapshotPending() const { return NextSnapshotTable() < tables_.size(); }

Status CdcSource::EmitWatermark(const std::string& content) {
  return snap_
      ->Query("SELECT pg_logical_emit_message(true, $1, $2)",
              {std::string(kWatermarkPrefix), content})
      .status();
}

Status CdcSource::StartChunk() {
  const size_t ti = NextSnapshotTable();
  if (ti == tables_.size()) return Status::OK();
  CdcTable& t = tables_[ti];
  if (!snap_) {
    ASSIGN_OR_RETURN(snap_, PgConn::Connect(conn_opts_));
    // The text forms of the stream (pgoutput.h), so selected keys compare equal to streamed ones.
    // synchronous_commit local: a watermark's commit flushes the WAL, which wakes the walsender
    // (with `off`, it waits for the WAL writer, up to wal_writer_delay per watermark).
    RETURN_IF_ERROR(snap_->Exec(
        "SET DateStyle = ISO; SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
        "SET bytea_output = hex; SET IntervalStyle = postgres; SET synchronous_commit = local"));
  }
  if (run_id_.empty()) run_id_ = NewRunId();
  CdcChunk c;
  c.table = ti;
  const std::string id = slot_ + ":" + run_id_ + ":" + std::to_string(++chunk_seq_);
  c.low = "low:" + id;
  c.high = "high:" + id;
  std::string list;
  for (size_t i = 0; i < t.cols.size(); ++i) {
    list += (i ? ", " : "") + QuoteIdent(t.cols[i].name);
    c.columns.push_back(t.cols[i].name);
  }
  std::vector<int> key_idx;
  for (const auto& k : t.pk) {
    for (size_t i = 0; i < t.cols.size(); ++i) {
      if (t.cols[i].name == k) key_idx.push_back(static_cast<int>(i));
    }
  }
  c.keyed = !t.pk.empty() && key_idx.size() == t.pk.size();
  std::string sql = "SELECT " + list + " FROM " + t.qualified;
  std::vector<std::optional<std::string>> params;
  if (c.keyed) {
    std::string order, ps;
    for (size_t i = 0; i < t.pk.size(); ++i) {
      order += (i ? ", " : "") + QuoteIdent(t.pk[i]);
      auto type = t.sql_types.find(t.pk[i]);
      ps += (i ? ", $" : "$") + std::to_string(i + 1) +
            "::" + (type != t.sql_types.end() ? type->second : "text");
    }
    if (t.state->last_key) {
      for (size_t i = 0; i < t.pk.size(); ++i) {
        params.push_back(i < t.state->last_key->size() ? (*t.state->last_key)[i] : std::nullopt);
      }
      sql += " WHERE (" + order + ") > (" + ps + ")";
    }
    sql += " ORDER BY " + order + " LIMIT " + std::to_string(page_size_);
  }
  if (chunk_seq_ == 1 || !t.state->last_key) {
    ctx_.log->Info("postgres cdc: snapshot of " + t.qualified,
                   {{"chunk_rows", c.keyed ? std::to_string(page_size_) : "all (no primary key)"},
                    {"after_rows", std::to_string(t.state->snapshot_rows)}});
  }
  RETURN_IF_ERROR(EmitWatermark(c.low));
  RETURN_IF_ERROR(snap_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  auto selected = [&]() -> Status {
    ASSIGN_OR_RETURN(PgResult snap, snap_->Query("SELECT pg_current_snapshot()::text"));
    if (snap.rows() != 1 || !ParseSnapshot(snap.Get(0, 0), &c)) {
      return Status::Corruption("postgres cdc: unreadable pg_current_snapshot()");
    }
    ASSIGN_OR_RETURN(c.rows, snap_->Query(sql, params));
    return snap_->Exec("COMMIT");
  }();
  if (!selected.ok()) {
    (void)snap_->Exec("ROLLBACK");
    return selected;
  }
  RETURN_IF_ERROR(EmitWatermark(c.high));
  const int n = c.rows.rows();
  c.dropped.assign(static_cast<size_t>(n), 0);
  if (c.keyed) {
    std::string key;
    for (int r = 0; r < n; ++r) {
      key.clear();
      for (int k : key_idx) {
        AppendKeyPart(key, c.rows.IsNull(r, k) ? std::nullopt
                                               : std::optional<std::string_view>(c.rows.Get(r, k)));
      }
      c.by_key.emplace(key, r);
    }
    if (n > 0) {
      KeyText last;
      for (int k : key_idx) {
        last.push_back(c.rows.IsNull(n - 1, k)
                           ? std::nullopt
                           : std::optional<std::string>(std::string(c.rows.Get(n - 1, k))));
      }
      c.last_key = std::move(last);
    }
  }
  chunk_ = std::move(c);
  return Status::OK();
}

void CdcSource::NoteChunkChange(const CdcTable& t, const po::RowChange& ch) {
  CdcChunk& c = *chunk_;
  if (!c.low_seen && c.Sees(txn_.xid)) return;  // before the window, and in the selected rows
  if (!c.keyed) {
    c.spoiled = true;
    return;
  }
  std::string key;
  auto drop = [&](const po::Tuple& tuple) {
    key.clear();
    for (const auto& k : t.pk) {
      size_t i = 0;
      while (i < t.cols.size() && t.cols[i].name != k) ++i;
      if (i >= tuple.size() || tuple[i].kind == 'u') return;
      AppendKeyPart(key, tuple[i].kind == 'n' ? std::nullopt
                                              : std::optional<std::string_view>(tuple[i].data));
    }
    auto it = c.by_key.find(key);
    if (it != c.by_key.end()) c.dropped[static_cast<size_t>(it->second)] = 1;
  };
  if (!ch.new_tuple.empty()) drop(ch.new_tuple);
  if (ch.old_kind) drop(ch.old_tuple);
}

Status CdcSource::OnWatermark(const po::LogicalMessage& m, Emitter& out) {
  if (!chunk_ || !m.transactional || m.prefix != kWatermarkPrefix) return Status::OK();
  CdcChunk& c = *chunk_;
  if (m.content == c.low) {
    c.low_seen = true;
    return Status::OK();
  }
  if (m.content != c.high) return Status::OK();  // another run's or another pipeline's
  CdcTable& t = tables_[c.table];
  bool same_columns = c.columns.size() == t.cols.size();
  for (size_t i = 0; same_columns && i < c.columns.size(); ++i)
    same_columns = c.columns[i] == t.cols[i].name;
  if (!c.low_seen || c.spoiled || !same_columns) {
    // Selected again: the table's progress is unchanged.
    ctx_.log->Info("postgres cdc: selecting a chunk of " + t.qualified + " again",
                   {{"why", !same_columns ? "its columns changed"
                            : c.spoiled   ? "a table without primary key changed meanwhile"
                                          : "no low watermark"}});
    chunk_.reset();
    return Status::OK();
  }
  RecordBatch::ChangeSource base;
  base.position = txn_lsn_text_;  // the high watermark's commit: where the rows are as selected
  po::Tuple tuple;
  const int n = c.rows.rows();
  int64_t emitted = 0;
  for (int r = 0; r < n; ++r) {
    if (c.dropped[static_cast<size_t>(r)]) continue;
    tuple.resize(static_cast<size_t>(c.rows.cols()));
    for (int col = 0; col < c.rows.cols(); ++col) {
      tuple[static_cast<size_t>(col)] =
          c.rows.IsNull(r, col) ? po::TupleValue{'n', {}} : po::TupleValue{'t', c.rows.Get(r, col)};
      pending_bytes_ += c.rows.Get(r, col).size();
    }
    AppendRow(t, 'r', tuple, nullptr, -1, base);
    ++emitted;
    // Inside a transaction: pieces without a boundary.
    if (t.builder->num_rows() >= kBatchRows) RETURN_IF_ERROR(FlushTable(t, out));
  }
  t.state->snapshot_rows += emitted;
  if (c.last_key) t.state->last_key = c.last_key;
  if (!c.keyed || n < page_size_) {
    t.state->snapshot_done = true;
    t.state->last_key.reset();
    ctx_.log->Info("postgres cdc: copied " + t.qualified,
                   {{"rows", std::to_string(t.state->snapshot_rows)}});
  }
  chunk_.reset();
  return Status::OK();
}

}  // namespace sluice::pgsrc
