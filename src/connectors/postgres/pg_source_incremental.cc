// mode: incremental and mode: query of the postgres source (README.md): keyset pages over a
// cursor column with a lookback window, and a user's query with :cursor bound.

#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include "connectors/postgres/pg_source_internal.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice::pgsrc {

long double PostgresSource::CursorRank(const std::string& text) const {
  if (cursor_is_time_) {
    int64_t us = 0;
    bool zone = false;
    if (ParseTimestamp(text, &us, &zone)) return static_cast<long double>(us);
    int32_t days = 0;
    if (ParseDate(text, &days)) return static_cast<long double>(days) * 86400e6L;
    return 0;
  }
  return std::strtold(text.c_str(), nullptr);
}

Status PostgresSource::LoadIncrementalStates(const StateMap& committed) {
  for (Table& t : tables_) {
    auto it = committed.find({t.name, kIncrementalKey});
    if (it == committed.end()) continue;
    auto s = pg::IncrementalState::FromJson(it->second, [&](const std::string& c) { return CursorRank(c); });
    if (!s || (s->last && s->last->size() != t.key.size() + 1)) {
      return Status::Permanent("postgres: the checkpoint of " + t.name + " does not match cursor: and key: (they "
                               "changed since it was written?); `sluice state reset` to read the table again");
    }
    t.inc = std::move(*s);
  }
  return Status::OK();
}
// ---- mode: incremental ----

Status PostgresSource::Poll(Emitter& out, const std::function<Status()>& pass) {
  for (;;) {
    RETURN_IF_ERROR(pass());
    if (!poll_s_ || out.StopRequested()) return Status::OK();
    if (!SleepUnlessStopped(out, *poll_s_)) return Status::OK();
  }
}

Status PostgresSource::RunIncremental(Emitter& out) {
  return Poll(out, [&]() -> Status {
    for (Table& t : tables_) {
      if (out.StopRequested()) return Status::OK();
      RETURN_IF_ERROR(ReadIncremental(t, out));
    }
    return Status::OK();
  });
}

std::vector<int> PostgresSource::Keyset(const Table& t) const {
  std::vector<int> ks = {t.cursor};
  ks.insert(ks.end(), t.key.begin(), t.key.end());
  return ks;
}

PostgresSource::Stmt PostgresSource::FirstPage(const Table& t) const {
  Stmt s;
  s.first = "SELECT " + t.SelectList() + " FROM " + t.qualified + " AS t WHERE " + t.Col(t.cursor) + " IS NOT NULL";
  if (!initial_cursor_.empty()) {
    s.first += " AND " + t.Col(t.cursor) + " >= $1::" + t.sql_types[static_cast<size_t>(t.cursor)];
    s.second.push_back(initial_cursor_);
  }
  s.first += t.OrderBy(Keyset(t)) + " LIMIT " + std::to_string(page_size_);
  return s;
}

// The rows at or below the checkpoint whose cursor is within the lookback, after `after`.
PostgresSource::Stmt PostgresSource::WindowPage(const Table& t, const std::optional<KeyText>& after) const {
  const std::vector<int> ks = Keyset(t);
  const std::string ctype = t.sql_types[static_cast<size_t>(t.cursor)];
  Stmt s;
  int n = 1;
  s.first = "SELECT " + t.SelectList() + " FROM " + t.qualified + " AS t WHERE " + t.Col(t.cursor) + " >= ($1::" + ctype +
            " - $2::" + (cursor_is_time_ ? "interval" : "numeric") + ")";
  n = 3;
  s.second = {(*t.inc.last)[0], lookback_text_};
  s.first += " AND " + t.Tuple(ks) + " <= " + t.Params(ks, &n);
  for (const auto& v : *t.inc.last) s.second.push_back(v);
  if (after) {
    s.first += " AND " + t.Tuple(ks) + " > " + t.Params(ks, &n);
    for (const auto& v : *after) s.second.push_back(v);
  }
  s.first += t.OrderBy(ks) + " LIMIT " + std::to_string(page_size_);
  return s;
}

PostgresSource::Stmt PostgresSource::NewRowsPage(const Table& t, const KeyText& after) const {
  const std::vector<int> ks = Keyset(t);
  Stmt s;
  int n = 1;
  s.first = "SELECT " + t.SelectList() + " FROM " + t.qualified + " AS t WHERE " + t.Tuple(ks) + " > " + t.Params(ks, &n) +
            t.OrderBy(ks) + " LIMIT " + std::to_string(page_size_);
  s.second.assign(after.begin(), after.end());
  return s;
}

Status PostgresSource::ReadIncremental(Table& t, Emitter& out) {
  const std::string ccol = QuoteIdent(cursor_);
  if (null_cursor_ != "include") {
    ASSIGN_OR_RETURN(PgResult nulls, conn_->Query("SELECT count(*) FROM " + t.qualified + " WHERE " + ccol + " IS NULL"));
    const int64_t count = std::strtoll(std::string(nulls.Get(0, 0)).c_str(), nullptr, 10);
    if (count > 0 && null_cursor_ == "error") {
      return Status::Permanent("postgres: " + std::to_string(count) + " row(s) of " + t.name + " have a NULL " + cursor_ +
                               ", which incremental reads never see; set null_cursor: skip (count them as skipped) "
                               "or include (load them on every run), or give them a cursor value");
    }
    if (count > 0) {
      Envelope env;
      env.rows_skipped = count;
      env.skip_reason = "NULL cursor " + cursor_ + " in " + t.name + " (null_cursor: skip)";
      RETURN_IF_ERROR(out.Emit(std::move(env)));
    }
  }
  const std::vector<int> ks = Keyset(t);
  int64_t ordinal = 0;
  // The rows of the lookback window, up to the checkpoint: the ones already loaded are skipped.
  if (t.inc.last && !lookback_text_.empty()) {
    std::optional<KeyText> after;
    for (;;) {
      if (out.StopRequested()) return Status::OK();
      Stmt page = WindowPage(t, after);
      ASSIGN_OR_RETURN(PgResult res, QueryBinary(*conn_, page.first, page.second));
      std::vector<bool> seen(static_cast<size_t>(res.rows()));
      int64_t skipped = 0;
      for (int r = 0; r < res.rows(); ++r) {
        KeyText row = pg::ResultRowText(res.raw(), r, t.cols, ks);
        if (t.inc.Seen(row)) {
          seen[static_cast<size_t>(r)] = true;
          ++skipped;
        } else {
          t.inc.Remember(row, CursorRank(row[0].value_or("")));
        }
        if (r == res.rows() - 1) after = std::move(row);
      }
      RETURN_IF_ERROR(EmitPage(t, res, &seen, skipped, &ordinal, out));
      if (res.rows() < page_size_) break;
    }
  }
  // Rows past the checkpoint.
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    Stmt page = t.inc.last ? NewRowsPage(t, *t.inc.last) : FirstPage(t);
    ASSIGN_OR_RETURN(PgResult res, QueryBinary(*conn_, page.first, page.second));
    if (res.rows() > 0) {
      if (!lookback_text_.empty()) {
        for (int r = 0; r < res.rows(); ++r) {
          KeyText row = pg::ResultRowText(res.raw(), r, t.cols, ks);
          t.inc.Remember(row, CursorRank(row[0].value_or("")));
        }
      }
      t.inc.last = pg::ResultRowText(res.raw(), res.rows() - 1, t.cols, ks);
      if (!lookback_text_.empty()) t.inc.ForgetBelow(CursorRank((*t.inc.last)[0].value_or("")) - lookback_rank_);
    }
    const bool end = res.rows() < page_size_;
    if (res.rows() > 0 || end) RETURN_IF_ERROR(EmitPage(t, res, nullptr, 0, &ordinal, out));
    if (end) break;
  }
  if (null_cursor_ == "include") RETURN_IF_ERROR(ReadNullCursors(t, out));
  return Status::OK();
}

// null_cursor: include: the rows without a cursor, by key, on every run.
Status PostgresSource::ReadNullCursors(Table& t, Emitter& out) {
  std::optional<KeyText> after;
  int64_t ordinal = 0;
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    int n = 1;
    std::string sql = "SELECT " + t.SelectList() + " FROM " + t.qualified + " AS t WHERE " + t.Col(t.cursor) + " IS NULL";
    std::vector<std::optional<std::string>> params;
    if (t.key.empty()) {
      // key: [cursor]: nothing to page by, so the NULL-cursor rows come in one result.
      ASSIGN_OR_RETURN(PgResult res, QueryBinary(*conn_, sql));
      return EmitPage(t, res, nullptr, 0, &ordinal, out);
    }
    if (after) {
      sql += " AND " + t.Tuple(t.key) + " > " + t.Params(t.key, &n);
      params.assign(after->begin(), after->end());
    }
    sql += t.OrderBy(t.key) + " LIMIT " + std::to_string(page_size_);
    ASSIGN_OR_RETURN(PgResult res, QueryBinary(*conn_, sql, params));
    if (res.rows() > 0) after = pg::ResultRowText(res.raw(), res.rows() - 1, t.cols, t.key);
    const bool end = res.rows() < page_size_;
    if (res.rows() > 0 || end) RETURN_IF_ERROR(EmitPage(t, res, nullptr, 0, &ordinal, out));
    if (end) return Status::OK();
  }
}

// One page as an envelope: its rows (deletes marked by the tombstone), the skipped count and the
// table's position; the table's last page flushes.
Status PostgresSource::EmitPage(Table& t, const PgResult& res, const std::vector<bool>* skip, int64_t skipped,
                                int64_t* ordinal, Emitter& out) {
  RecordBatchBuilder b(t.all_schema);
  Envelope env;
  RETURN_IF_ERROR(pg::DecodeResultRows(res.raw(), t.cols, b, pg::RowOriginInfo{t.name, t.name, Keyset(t)}, ordinal,
                                       &env.rejects, skip));
  if (b.num_rows() > 0) {
    RecordBatchPtr batch = b.Finish(t.name, t.name);
    if (t.deleted >= 0) {
      const Column& flag = batch->column(static_cast<size_t>(t.deleted));
      auto mut = std::const_pointer_cast<RecordBatch>(batch);
      // 'c' is the op of a plain row (insert, or update an existing key); 'd' deletes the key.
      mut->ops.resize(static_cast<size_t>(batch->num_rows()));
      for (int64_t i = 0; i < batch->num_rows(); ++i) {
        const bool deleted = flag.type().id == TypeId::kBool ? !flag.IsNull(i) && flag.BoolAt(i) : !flag.IsNull(i);
        mut->ops[static_cast<size_t>(i)] = deleted ? 'd' : 'c';
      }
    }
    env.batch = t.Project(std::move(batch));
    env.bytes_in = env.batch->ByteSize();
  }
  env.rows_skipped = skipped;
  if (skipped > 0) env.skip_reason = "already loaded (re-read within lookback: " + opts_.GetString("lookback") + ")";
  env.positions.push_back({t.name, kIncrementalKey, t.inc.ToJson()});
  env.flush = res.rows() < page_size_;
  return out.Emit(std::move(env));
}

// ---- mode: query ----

Status PostgresSource::RunQuery(Emitter& out) {
  return Poll(out, [&]() -> Status {
    // The whole result is one commit group: the cursor checkpoint (its largest value) is only
    // right once every row of the result is loaded, whatever order the query returns them in.
    RETURN_IF_ERROR(conn_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
    std::vector<std::optional<std::string>> params;
    if (query_uses_cursor_) params.push_back(query_cursor_);
    ASSIGN_OR_RETURN(PgResult declared, QueryBinary(*conn_, "DECLARE sluice_rows BINARY NO SCROLL CURSOR FOR " + query_sql_, params));
    (void)declared;
    std::optional<std::string> max_cursor = query_cursor_;
    long double max_rank = 0;
    const bool time_cursor = query_cursor_col_ >= 0 &&
                             (query_cols_[static_cast<size_t>(query_cursor_col_)].type.id == TypeId::kTimestamp ||
                              query_cols_[static_cast<size_t>(query_cursor_col_)].type.id == TypeId::kDate);
    auto rank = [&](const std::string& text) -> long double {
      if (time_cursor) {
        int64_t us = 0;
        bool zone = false;
        int32_t days = 0;
        if (ParseTimestamp(text, &us, &zone)) return static_cast<long double>(us);
        if (ParseDate(text, &days)) return static_cast<long double>(days) * 86400e6L;
        return 0;
      }
      return std::strtold(text.c_str(), nullptr);
    };
    if (max_cursor) max_rank = rank(*max_cursor);
    int64_t ordinal = 0;
    const pg::RowOriginInfo origin{stream_, stream_, {}};
    for (;;) {
      if (out.StopRequested()) {
        (void)conn_->Exec("ROLLBACK");
        return Status::Cancelled("stop requested");
      }
      ASSIGN_OR_RETURN(PgResult res, QueryBinary(*conn_, "FETCH FORWARD " + std::to_string(page_size_) + " FROM sluice_rows"));
      if (query_cursor_col_ >= 0) {
        for (int r = 0; r < res.rows(); ++r) {
          auto v = pg::ResultRowText(res.raw(), r, query_cols_, {query_cursor_col_})[0];
          if (!v) continue;
          const long double k = rank(*v);
          if (!max_cursor || k > max_rank) {
            max_cursor = std::move(v);
            max_rank = k;
          }
        }
      }
      RecordBatchBuilder b(query_schema_);
      Envelope env;
      RETURN_IF_ERROR(pg::DecodeResultRows(res.raw(), query_cols_, b, origin, &ordinal, &env.rejects));
      if (b.num_rows() > 0) {
        env.batch = b.Finish(stream_, stream_);
        env.bytes_in = env.batch->ByteSize();
      }
      const bool end = res.rows() < page_size_;
      env.boundary = end;
      env.flush = end;
      if (end) {
        nlohmann::json pos = nlohmann::json::object();
        pos["cursor"] = max_cursor ? nlohmann::json(*max_cursor) : nlohmann::json(nullptr);
        env.positions.push_back({stream_, kQueryKey, pos.dump()});
      }
      if (env.batch || !env.rejects.empty() || end) RETURN_IF_ERROR(out.Emit(std::move(env)));
      if (end) break;
    }
    RETURN_IF_ERROR(conn_->Exec("CLOSE sluice_rows; COMMIT"));
    query_cursor_ = max_cursor;
    return Status::OK();
  });
}
}  // namespace sluice::pgsrc
