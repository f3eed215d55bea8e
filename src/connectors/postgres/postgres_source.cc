// The `postgres` source. Each table is one stream, named as the user wrote it.
//
// mode: full reads every table inside one REPEATABLE READ, READ ONLY transaction with binary
// COPY, decoded straight into column builders. `parallel: N` splits a table into N ranges of its
// first primary-key column, read over N connections that all import the snapshot the first one
// exported. Each range is read in primary-key order, so its checkpoint is the last key read and
// a killed run resumes after it (no longer from the same snapshot: README).
//
// mode: incremental pages through `(cursor, key) > ($1, $2) ORDER BY cursor, key LIMIT n`, with
// the values bound, never interpolated. `lookback:` re-reads the rows below the checkpoint whose
// cursor is within the window and skips the ones already loaded.
//
// mode: query runs the user's SQL with `:cursor` bound to the last checkpointed value.

#include "connectors/postgres/postgres_source.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "config/tls.h"
#include "connectors/postgres/pg_source_internal.h"
#include "connectors/postgres/pg_trigger_source.h"
#include "connectors/sql/table_patterns.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"
#include "state/state_store.h"

namespace sluice::pgsrc {

const OptionSchema& PostgresSourceOptions() {
  static const OptionSchema schema = {
      pg::DsnOptionSpec(),
      TlsOptionSpec(),
      {"mode", OptionType::kEnum, "full",
       "full (a consistent snapshot of the tables), incremental (new and changed rows by a cursor "
       "column), query (the rows of `query:`), cdc (every insert, update and delete from the write-ahead log, "
       "by logical replication) or trigger (every insert, update and delete, logged by triggers sluice installs: no "
       "replication rights needed).", false, {"full", "incremental", "query", "cdc", "trigger"}},
      {"table", OptionType::kString, "", "The table to read (`orders`, `public.orders`); its stream is named as written."},
      {"tables", OptionType::kStringList, "", "Several tables; each is one stream, named as written."},
      {"columns", OptionType::kStringList, "", "The columns to read, in this order. Default: all of them."},
      {"parallel", OptionType::kInt, "1",
       "[full] Connections reading a table at once, each a range of its primary key, all in the same snapshot."},
      {"cursor", OptionType::kString, "",
       "[incremental, query] The column that grows with every insert and update: a timestamp, a date or a number."},
      {"key", OptionType::kStringList, "",
       "[incremental] Tie-breaker columns after the cursor, unique together. Default: the primary key."},
      {"page_size", OptionType::kInt, "65536",
       "[incremental, query, cdc] Rows fetched per round trip (and per batch); in cdc, rows per snapshot chunk."},
      {"lookback", OptionType::kString, "",
       "[incremental] Re-read rows whose cursor is this far below the checkpoint (a duration such as 5m for a "
       "time cursor, a number for a numeric one), to catch rows committed late; rows already loaded are skipped."},
      {"poll_interval", OptionType::kDuration, "",
       "[incremental, query, trigger] Keep polling at this interval until stopped. Default: read once and end."},
      {"null_cursor", OptionType::kEnum, "error",
       "[incremental] Rows whose cursor is NULL: error (stop the run, with their count), skip (count them as "
       "skipped) or include (load them on every run).", false, {"error", "skip", "include"}},
      {"deleted_flag", OptionType::kString, "",
       "[incremental] A tombstone column: rows where it is true (or, for other types, not null) are deletes."},
      {"query", OptionType::kString, "",
       "[query] The SQL to run. `:cursor` is bound (never interpolated) to the last checkpointed cursor value."},
      {"initial_cursor", OptionType::kString, "",
       "[incremental, query] The cursor value to start from on the first run."},
      {"stream", OptionType::kString, "", "[query] The stream name. Default: the pipeline name."},
      {"slot", OptionType::kString, "",
       "[cdc] The logical replication slot (created when missing). Default: sluice_<pipeline name>."},
      {"publication", OptionType::kString, "",
       "[cdc] The publication of the tables (created when missing, tables added to it). Default: sluice_<pipeline name>."},
      {"heartbeat_interval", OptionType::kDuration, "10s",
       "[cdc] How often the position is acknowledged to the server and slot lag logged; on a quiet database the "
       "slot still advances at this pace."},
      {"lag_warning", OptionType::kDuration, "5m",
       "[cdc] Warn when the oldest change not yet committed to the sink is older than this (commit time to now)."},
      {"lag_warning_bytes", OptionType::kSize, "1GiB",
       "[cdc] Warn when the slot holds back more WAL than this (the server cannot recycle it)."},
      {"stop_at", OptionType::kEnum, "never",
       "[cdc] never (stream until stopped) or caught_up (end once the changes committed before the run started "
       "are loaded).", false, {"never", "caught_up"}},
      {"snapshot", OptionType::kEnum, "initial",
       "[cdc] initial (copy the existing rows, as op r, in key-ordered chunks interleaved with the stream) or never "
       "(stream changes only).",
       false, {"initial", "never"}},
  };
  return schema;
}
// ---- libpq helpers ----

// A statement whose rows come back in binary form, the values bound as text parameters.
Result<PgResult> QueryBinary(PgConn& conn, const std::string& sql,
                             const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* res = PQexecParams(conn.raw(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, /*resultFormat=*/1);
  if (res == nullptr) return pg::StatusFromConn(conn.raw(), "postgres");
  PgResult owned(res);
  const ExecStatusType s = PQresultStatus(res);
  if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
    if (pg::SqlState(res).empty() && PQstatus(conn.raw()) == CONNECTION_BAD) {
      return pg::StatusFromConn(conn.raw(), "postgres");
    }
    return pg::StatusFromResult(res, "postgres");
  }
  return owned;
}

unsigned ParseOid(std::string_view s) { return static_cast<unsigned>(std::strtoul(std::string(s).c_str(), nullptr, 10)); }

// ---- catalog ----
std::string Literal(const std::optional<std::string>& text, const std::string& sql_type) {
  if (!text) return "NULL::" + sql_type;
  return pg::QuoteLiteral(*text) + "::" + sql_type;
}

bool SleepUnlessStopped(Emitter& out, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (out.StopRequested()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !out.StopRequested();
}

// Catalog look-ups, shared with mode: cdc (pg_cdc.cc) through pg_source_internal.h.

Result<Relation> ResolveRelation(PgConn& conn, const std::string& name) {
  auto [schema, table] = pg::SplitQualifiedName(name);
  static const char kSql[] =
      "SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.reltuples::float8 "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r','p','v','m','f') AND c.relname = $2 "
      "AND CASE WHEN $1 = '' THEN pg_table_is_visible(c.oid) ELSE n.nspname = $1 END";
  ASSIGN_OR_RETURN(PgResult r, conn.Query(kSql, {schema, table}));
  if (r.rows() == 0 && name.find('"') == std::string::npos && ToLower(table) != table) {
    // An unquoted name the way SQL reads it: folded to lower case.
    ASSIGN_OR_RETURN(r, conn.Query(kSql, {ToLower(schema), ToLower(table)}));
  }
  if (r.rows() == 0) {
    return Status::NotFound("postgres: table " + JsonQuote(name) + " not found (or not visible to this user)");
  }
  Relation rel;
  rel.relid = ParseOid(r.Get(0, 0));
  rel.nspname = r.Get(0, 1);
  rel.relname = r.Get(0, 2);
  rel.relkind = r.Get(0, 3).empty() ? 'r' : r.Get(0, 3)[0];
  rel.reltuples = std::strtod(std::string(r.Get(0, 4)).c_str(), nullptr);
  return rel;
}

// pg_type facts for `oids`, a domain followed to its base type (typmod: the column's, else the
// domain's).
Result<std::map<unsigned, PgTypeInfo>> ResolveTypes(PgConn& conn, const std::vector<unsigned>& oids) {
  std::map<unsigned, PgTypeInfo> out;
  std::vector<unsigned> todo(oids);
  std::map<unsigned, std::pair<unsigned, int>> domain_of;  // domain oid -> (base oid, typmod)
  for (int depth = 0; !todo.empty() && depth < 8; ++depth) {
    std::string arr = "{";
    for (size_t i = 0; i < todo.size(); ++i) arr += (i ? "," : "") + std::to_string(todo[i]);
    arr += "}";
    ASSIGN_OR_RETURN(PgResult r, conn.Query("SELECT oid, typname, typtype::text, typcategory::text, typelem, "
                                            "typbasetype, typtypmod FROM pg_type WHERE oid = ANY($1::oid[])",
                                            {arr}));
    todo.clear();
    for (int i = 0; i < r.rows(); ++i) {
      PgTypeInfo t;
      t.oid = ParseOid(r.Get(i, 0));
      t.name = r.Get(i, 1);
      t.typtype = r.Get(i, 2).empty() ? 'b' : r.Get(i, 2)[0];
      t.category = r.Get(i, 3).empty() ? 'U' : r.Get(i, 3)[0];
      t.elem = ParseOid(r.Get(i, 4));
      out[t.oid] = t;
      if (t.typtype == 'd') {
        const unsigned base = ParseOid(r.Get(i, 5));
        domain_of[t.oid] = {base, static_cast<int>(std::strtol(std::string(r.Get(i, 6)).c_str(), nullptr, 10))};
        if (!out.count(base)) todo.push_back(base);
      }
    }
  }
  // Replace each domain by its base type, keeping the domain's name for messages.
  for (auto& [oid, t] : out) {
    unsigned cur = oid;
    int typmod = -1;
    for (int hops = 0; domain_of.count(cur) && hops < 8; ++hops) {
      if (typmod < 0) typmod = domain_of[cur].second;
      cur = domain_of[cur].first;
    }
    if (cur != oid && out.count(cur)) {
      PgTypeInfo base = out[cur];
      base.name = t.name + " (" + base.name + ")";
      base.typmod = typmod;
      t = base;
    }
  }
  return out;
}
Result<std::vector<CatalogColumn>> ReadColumns(PgConn& conn, unsigned relid) {
  ASSIGN_OR_RETURN(PgResult r, conn.Query("SELECT attname, attnum, atttypid, atttypmod, attnotnull, "
                                          "format_type(atttypid, atttypmod) FROM pg_attribute "
                                          "WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                                          {std::to_string(relid)}));
  std::vector<CatalogColumn> cols;
  for (int i = 0; i < r.rows(); ++i) {
    CatalogColumn c;
    c.name = r.Get(i, 0);
    c.attnum = static_cast<int>(std::strtol(std::string(r.Get(i, 1)).c_str(), nullptr, 10));
    c.type_oid = ParseOid(r.Get(i, 2));
    c.typmod = static_cast<int>(std::strtol(std::string(r.Get(i, 3)).c_str(), nullptr, 10));
    c.notnull = r.Get(i, 4) == "t";
    c.sql_type = r.Get(i, 5);
    cols.push_back(std::move(c));
  }
  return cols;
}

Result<std::vector<std::string>> ReadPrimaryKey(PgConn& conn, unsigned relid) {
  ASSIGN_OR_RETURN(PgResult r, conn.Query("SELECT a.attname FROM pg_index i "
                                          "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
                                          "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                                          "WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord",
                                          {std::to_string(relid)}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

// ---- config ----

Status PostgresSource::Init() {
  ASSIGN_OR_RETURN(conn_opts_, pg::ParsePgConnOptions(opts_, block_, ctx_.base_dir));
  mode_ = opts_.GetString("mode");
  const ConfigNode* table = block_.Find("table");
  const ConfigNode* tables = block_.Find("tables");
  if (table && tables) return Status::InvalidArgument(tables->Where() + ": give either table: or tables:, not both");
  if (table) table_names_.push_back(opts_.GetString("table"));
  if (tables) table_names_ = opts_.GetList("tables");
  for (const auto& n : table_names_) {
    if (Trim(n).empty()) return Status::InvalidArgument((tables ? tables : table)->Where() + ": empty table name");
  }
  if (std::set<std::string>(table_names_.begin(), table_names_.end()).size() != table_names_.size()) {
    return Status::InvalidArgument(tables->Where() + ": a table is listed twice");
  }
  columns_ = opts_.GetList("columns");
  parallel_ = static_cast<int>(opts_.GetInt("parallel"));
  cursor_ = opts_.GetString("cursor");
  key_ = opts_.GetList("key");
  page_size_ = opts_.GetInt("page_size");
  if (opts_.Has("poll_interval")) poll_s_ = opts_.GetSeconds("poll_interval");
  null_cursor_ = opts_.GetString("null_cursor");
  deleted_flag_ = opts_.GetString("deleted_flag");
  initial_cursor_ = opts_.GetString("initial_cursor");
  stream_ = opts_.GetString("stream");
  if (stream_.empty()) stream_ = ctx_.pipeline;
  if (parallel_ < 1 || parallel_ > 64) {
    return Status::InvalidArgument(opts_.Node("parallel")->Where() + ": between 1 and 64");
  }
  if (page_size_ < 1) return Status::InvalidArgument(opts_.Node("page_size")->Where() + ": must be at least 1");
  if (poll_s_ && *poll_s_ <= 0) return Status::InvalidArgument(opts_.Node("poll_interval")->Where() + ": must be positive");
  return CheckModeOptions();
}

// Options that do nothing in the chosen mode are errors: silently ignoring `cursor:` in a full
// read would surprise whoever wrote it.
Status PostgresSource::CheckModeOptions() {
  static const std::map<std::string, std::set<std::string>> kOnly = {
      {"full", {"table", "tables", "columns", "parallel"}},
      {"incremental", {"table", "tables", "columns", "cursor", "key", "page_size", "lookback", "poll_interval",
                       "null_cursor", "deleted_flag", "initial_cursor"}},
      {"query", {"query", "cursor", "initial_cursor", "poll_interval", "page_size", "stream"}},
  };
  static const std::set<std::string> kCommon = {"type", "dsn", "tls", "mode"};
  const auto& allowed = kOnly.at(mode_);
  for (const auto& [k, v] : block_.entries()) {
    if (kCommon.count(k) || allowed.count(k)) continue;
    return Status::InvalidArgument(v.Where() + ": '" + k + "' does not apply to mode: " + mode_);
  }
  if (mode_ == "query") {
    if (opts_.GetString("query").empty()) return Status::InvalidArgument(block_.Where() + ": mode: query needs query:");
  } else if (table_names_.empty()) {
    return Status::InvalidArgument(block_.Where() + ": name the table to read with table: (or tables:)");
  }
  if (mode_ == "incremental" && cursor_.empty()) {
    return Status::InvalidArgument(block_.Where() + ": mode: incremental needs cursor: (the column that grows "
                                   "with every insert and update, such as updated_at)");
  }
  return Status::OK();
}

std::optional<DataType> PostgresSource::Declared(const std::string& stream, const std::string& column) const {
  return DeclaredType(ctx_, stream, column, table_names_.size() <= 1);
}

// ---- open ----

Status PostgresSource::Open(const StateMap& committed) {
  ASSIGN_OR_RETURN(conn_, PgConn::Connect(conn_opts_));
  if (mode_ == "query") return OpenQuery(committed);
  RETURN_IF_ERROR(ExpandTablePatterns());
  for (const auto& name : table_names_) RETURN_IF_ERROR(OpenTable(name));
  if (mode_ == "full") return LoadFullStates(committed);
  return LoadIncrementalStates(committed);
}

// `tables: [public.order_*]`: the catalog's tables and views, system schemas left out.
Status PostgresSource::ExpandTablePatterns() {
  if (!sql::AnyTablePattern(table_names_)) return Status::OK();
  ASSIGN_OR_RETURN(PgResult r, conn_->Query(
      "SELECT n.nspname, c.relname, current_schema() FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg\\_%' AND NOT c.relispartition ORDER BY 1, 2"));
  std::vector<sql::CatalogTable> catalog;
  std::string default_schema = "public";
  for (int i = 0; i < r.rows(); ++i) {
    catalog.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
    if (!r.IsNull(i, 2)) default_schema = std::string(r.Get(i, 2));
  }
  ASSIGN_OR_RETURN(table_names_, sql::ExpandTablePatterns(table_names_, catalog, default_schema, "postgres source tables:"));
  return Status::OK();
}

Status PostgresSource::OpenTable(const std::string& name) {
  Table t;
  t.name = name;
  ASSIGN_OR_RETURN(t.rel, ResolveRelation(*conn_, name));
  t.qualified = QuoteIdent(t.rel.nspname) + "." + QuoteIdent(t.rel.relname);
  ASSIGN_OR_RETURN(std::vector<CatalogColumn> catalog, ReadColumns(*conn_, t.rel.relid));
  RETURN_IF_ERROR(PlanTableColumns(t, catalog));
  tables_.push_back(std::move(t));
  return Status::OK();
}

Status PostgresSource::PlanTableColumns(Table& t, const std::vector<CatalogColumn>& catalog) {
  auto find = [&](const std::string& col) -> const CatalogColumn* {
    for (const auto& c : catalog) {
      if (c.name == col) return &c;
    }
    return nullptr;
  };
  auto missing = [&](const std::string& what, const std::string& col) {
    std::vector<std::string> names;
    for (const auto& c : catalog) names.push_back(c.name);
    return Status::InvalidArgument(block_.Where() + ": " + what + " " + JsonQuote(col) + " is not a column of " + t.name +
                                   " (columns: " + Join(names, ", ") + ")");
  };
  std::vector<const CatalogColumn*> chosen;
  if (columns_.empty()) {
    for (const auto& c : catalog) chosen.push_back(&c);
  } else {
    for (const auto& name : columns_) {
      const CatalogColumn* c = find(name);
      if (!c) return missing("columns:", name);
      if (std::find(chosen.begin(), chosen.end(), c) != chosen.end()) {
        return Status::InvalidArgument(block_.Where() + ": columns: lists " + JsonQuote(name) + " twice");
      }
      chosen.push_back(c);
    }
  }
  t.out_cols = chosen.size();
  // Columns the reads need (key, cursor, tombstone) but the user did not select ride along hidden.
  std::vector<std::string> keys;
  if (mode_ == "incremental" && !key_.empty()) {
    keys = key_;
  } else {
    ASSIGN_OR_RETURN(keys, ReadPrimaryKey(*conn_, t.rel.relid));
  }
  std::vector<std::string> needed = keys;
  if (mode_ == "incremental") {
    needed.push_back(cursor_);
    if (!deleted_flag_.empty()) needed.push_back(deleted_flag_);
  }
  for (const auto& n : needed) {
    const CatalogColumn* c = find(n);
    if (!c) {
      const std::string what = n == cursor_ ? "cursor:" : n == deleted_flag_ ? "deleted_flag:" : "key:";
      return missing(what, n);
    }
    if (std::find(chosen.begin(), chosen.end(), c) == chosen.end()) chosen.push_back(c);
  }
  std::vector<unsigned> oids;
  for (const auto* c : chosen) oids.push_back(c->type_oid);
  ASSIGN_OR_RETURN(auto types, ResolveTypes(*conn_, oids));
  Schema all, out;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const CatalogColumn& c = *chosen[i];
    PgTypeInfo ti = types[c.type_oid];
    if (ti.typmod < 0) ti.typmod = c.typmod;
    const bool visible = i < t.out_cols;
    ASSIGN_OR_RETURN(PgColumn col, pg::PlanColumn(c.name, ti, visible ? Declared(t.name, c.name) : std::nullopt));
    col.nullable = !c.notnull;
    all.AddField({col.name, col.type, col.nullable});
    if (visible) out.AddField({col.name, col.type, col.nullable});
    t.cols.push_back(std::move(col));
    t.sql_types.push_back(c.sql_type);
    t.attnums.push_back(c.attnum);
    t.notnull.push_back(c.notnull);
  }
  t.all_schema = std::make_shared<Schema>(std::move(all));
  t.schema = std::make_shared<Schema>(std::move(out));
  auto index_of = [&](const std::string& n) {
    for (size_t i = 0; i < t.cols.size(); ++i) {
      if (t.cols[i].name == n) return static_cast<int>(i);
    }
    return -1;
  };
  for (const auto& k : keys) t.key.push_back(index_of(k));
  if (mode_ == "incremental") {
    t.cursor = index_of(cursor_);
    if (!deleted_flag_.empty()) t.deleted = index_of(deleted_flag_);
    RETURN_IF_ERROR(CheckIncrementalColumns(t));
  }
  return Status::OK();
}

Status PostgresSource::CheckIncrementalColumns(Table& t) {
  if (t.key.empty()) {
    return Status::InvalidArgument(block_.Where() + ": " + t.name + " has no primary key; name the columns that "
                                   "tell rows with the same cursor apart with key:");
  }
  const PgColumn& c = t.cols[static_cast<size_t>(t.cursor)];
  using pg::Wire;
  const bool time = c.pg.oid == pg::oid::kTimestamp || c.pg.oid == pg::oid::kTimestamptz || c.pg.oid == pg::oid::kDate;
  const bool number = c.pg.oid == pg::oid::kInt2 || c.pg.oid == pg::oid::kInt4 || c.pg.oid == pg::oid::kInt8 ||
                      c.pg.oid == pg::oid::kNumeric || c.pg.oid == pg::oid::kFloat4 || c.pg.oid == pg::oid::kFloat8;
  if (!time && !number) {
    return Status::InvalidArgument(block_.Where() + ": cursor " + JsonQuote(cursor_) + " of " + t.name + " has type " +
                                   c.pg.name + "; a cursor is a timestamp, a date or a number");
  }
  if (!tables_.empty() && time != cursor_is_time_) {
    return Status::InvalidArgument(block_.Where() + ": the cursor of " + t.name + " is not of the same kind as in the other tables");
  }
  cursor_is_time_ = time;
  if (t.cursor >= 0 && std::find(t.key.begin(), t.key.end(), t.cursor) != t.key.end()) {
    // The cursor is already the keyset's first column. `key: [cursor]` says the cursor alone is
    // unique (an id that only grows on insert): the keyset is then the cursor by itself.
    t.key.erase(std::find(t.key.begin(), t.key.end(), t.cursor));
  }
  for (int k : t.key) {
    if (!t.notnull[static_cast<size_t>(k)]) {
      t.notes.push_back("warning: key column " + t.cols[static_cast<size_t>(k)].name +
                        " may be NULL; rows with a NULL key are never read by keyset pages");
    }
  }
  // lookback: a duration for a time cursor, a number for a numeric one.
  if (const ConfigNode* lb = opts_.Node("lookback"); lb && lookback_text_.empty()) {
    const std::string text = opts_.GetString("lookback");
    if (time) {
      auto s = ParseDurationSeconds(text);
      if (!s.ok() || *s < 0) return Status::InvalidArgument(lb->Where() + ": a duration such as 10m, for a time cursor");
      lookback_rank_ = static_cast<long double>(*s) * 1e6L;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6f seconds", *s);
      lookback_text_ = buf;
    } else {
      double v = 0;
      if (!ParseFloat64(text, &v) || v < 0 || !std::isfinite(v)) {
        return Status::InvalidArgument(lb->Where() + ": a non-negative number, for a numeric cursor");
      }
      lookback_rank_ = v;
      lookback_text_ = text;
    }
    if (lookback_rank_ == 0) lookback_text_.clear();
  }
  return Status::OK();
}
Status PostgresSource::OpenQuery(const StateMap& committed) {
  std::string sql = opts_.GetString("query");
  while (!sql.empty() && (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';')) sql.pop_back();
  auto bound = pg::BindNamedParams(sql);
  if (!bound.ok()) return Status::InvalidArgument(opts_.Node("query")->Where() + ": " + bound.status().message());
  for (const auto& n : bound->names) {
    if (n != "cursor") {
      return Status::InvalidArgument(opts_.Node("query")->Where() + ": unknown parameter :" + n +
                                     " (only :cursor is bound; write :: for a cast)");
    }
  }
  query_uses_cursor_ = !bound->names.empty();
  if (query_uses_cursor_ && cursor_.empty()) {
    return Status::InvalidArgument(opts_.Node("query")->Where() + ": :cursor needs cursor: (the result column whose "
                                   "largest value is bound next time)");
  }
  auto it = committed.find({stream_, kQueryKey});
  if (it != committed.end()) {
    auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (j.is_object() && j.contains("cursor") && j["cursor"].is_string()) query_cursor_ = j["cursor"].get<std::string>();
  }
  if (!query_cursor_ && !initial_cursor_.empty()) query_cursor_ = initial_cursor_;
  if (query_uses_cursor_ && !query_cursor_) {
    return Status::InvalidArgument(block_.Where() + ": set initial_cursor: (the value of :cursor on the first run)");
  }
  // The result's columns, from the server's description of the statement.
  PGresult* prep = PQprepare(conn_->raw(), "", bound->sql.c_str(), static_cast<int>(bound->names.size()), nullptr);
  PgResult prep_owned(prep);
  if (!prep || PQresultStatus(prep) != PGRES_COMMAND_OK) {
    if (!prep) return pg::StatusFromConn(conn_->raw(), "postgres: query");
    return pg::StatusFromResult(prep, "postgres: query");
  }
  PgResult desc(PQdescribePrepared(conn_->raw(), ""));
  if (!desc.raw() || PQresultStatus(desc.raw()) != PGRES_COMMAND_OK) {
    return desc.raw() ? pg::StatusFromResult(desc.raw(), "postgres: query") : pg::StatusFromConn(conn_->raw(), "postgres: query");
  }
  std::vector<unsigned> oids;
  for (int c = 0; c < desc.cols(); ++c) oids.push_back(desc.ColumnType(c));
  if (oids.empty()) return Status::InvalidArgument(opts_.Node("query")->Where() + ": the query returns no columns");
  ASSIGN_OR_RETURN(auto types, ResolveTypes(*conn_, oids));
  Schema schema;
  bool wrap = false;
  for (int c = 0; c < desc.cols(); ++c) {
    const std::string name = desc.ColumnName(c);
    if (schema.IndexOf(name) >= 0) {
      return Status::InvalidArgument(opts_.Node("query")->Where() + ": two result columns are named " + JsonQuote(name) +
                                     "; give them distinct aliases");
    }
    PgTypeInfo ti = types[desc.ColumnType(c)];
    if (ti.typmod < 0) ti.typmod = desc.ColumnTypmod(c);
    ASSIGN_OR_RETURN(PgColumn col, pg::PlanColumn(name, ti, Declared(stream_, name)));
    wrap = wrap || col.select != PgColumn::Select::kPlain;
    schema.AddField({col.name, col.type, true});
    if (name == cursor_) query_cursor_col_ = c;
    query_cols_.push_back(std::move(col));
  }
  if (!cursor_.empty() && query_cursor_col_ < 0) {
    return Status::InvalidArgument(opts_.Node("cursor")->Where() + ": the query returns no column " + JsonQuote(cursor_));
  }
  query_schema_ = std::make_shared<Schema>(std::move(schema));
  query_sql_ = bound->sql;
  if (wrap) {
    std::string list;
    for (size_t i = 0; i < query_cols_.size(); ++i) list += (i ? ", " : "") + query_cols_[i].SelectExpr("q.");
    query_sql_ = "SELECT " + list + " FROM (" + bound->sql + "\n) AS q";
  }
  return Status::OK();
}

// ---- plan ----

std::vector<std::string> PostgresSource::DescribePlan() {
  std::vector<std::string> lines;
  lines.push_back("postgres " + pg::DescribeDsn(conn_opts_.dsn) + ", mode " + mode_);
  if (mode_ == "query") {
    lines.push_back("stream " + stream_ + ": " + query_schema_->ToString());
    lines.push_back("query: " + query_sql_);
    if (query_uses_cursor_) lines.push_back(":cursor = " + (query_cursor_ ? JsonQuote(*query_cursor_) : "NULL"));
    return lines;
  }
  for (Table& t : tables_) {
    std::string line = t.name + ": " + std::to_string(t.out_cols) + " columns, ~" +
                       HumanCount(std::max(0.0, t.rel.reltuples)) + " rows";
    std::vector<std::string> keys;
    for (int k : t.key) keys.push_back(t.cols[static_cast<size_t>(k)].name);
    if (mode_ == "full") {
      line += t.keyed() ? ", key (" + Join(keys, ", ") + ")" : ", no primary key";
      line += ", " + std::to_string(t.full.ranges.size()) + " range(s)";
      if (t.resuming) line += ", resuming: " + std::to_string(t.full.DoneRanges()) + " done";
      lines.push_back(line);
      if (!t.keyed()) {
        lines.push_back("  note: without a primary key the table is read as one commit group; an interrupted "
                        "read starts it over");
      }
      if (parallel_ > 1 && t.full.ranges.size() == 1 && !t.resuming) {
        lines.push_back("  note: read by one connection (small table, no primary key, or a view)");
      }
      continue;
    }
    line += ", cursor " + cursor_ + (keys.empty() ? " (unique)" : ", key (" + Join(keys, ", ") + ")");
    line += t.inc.last ? ", from " + JsonQuote((*t.inc.last)[0].value_or("NULL")) : ", first run";
    lines.push_back(line);
    for (const auto& n : t.notes) lines.push_back("  " + n);
    auto indexed = conn_->Query("SELECT 1 FROM pg_index WHERE indrelid = $1 AND indkey[0] = $2",
                                {std::to_string(t.rel.relid), std::to_string(t.attnums[static_cast<size_t>(t.cursor)])});
    if (indexed.ok() && indexed->rows() == 0) {
      lines.push_back("  warning: no index starts with " + cursor_ + ": every page scans the whole table; "
                      "CREATE INDEX ON " + t.qualified + " (" + QuoteIdent(cursor_) + ")");
    }
    if (t.deleted < 0) {
      lines.push_back("  warning: deletes are not seen (incremental reads see only rows that exist); set "
                      "deleted_flag: for a tombstone column, or use change data capture");
    }
    // The page that reads past the checkpoint: the plan shows it touches only changed rows.
    std::vector<std::pair<std::string, Stmt>> pages = {{"page query plan:", t.inc.last ? NewRowsPage(t, *t.inc.last) : FirstPage(t)}};
    if (t.inc.last && !lookback_text_.empty()) pages.push_back({"lookback re-read plan:", WindowPage(t, std::nullopt)});
    for (const auto& [title, page] : pages) {
      auto plan = conn_->Query("EXPLAIN " + page.first, page.second);
      if (!plan.ok()) {
        lines.push_back("  (EXPLAIN failed: " + plan.status().message() + ")");
        continue;
      }
      lines.push_back("  " + title);
      for (int i = 0; i < plan->rows(); ++i) lines.push_back("    " + std::string(plan->Get(i, 0)));
    }
  }
  return lines;
}

void PostgresSource::SaveSchemas() {
  if (!ctx_.state || ctx_.dry_run) return;
  if (mode_ == "query") {
    (void)ctx_.state->SaveSchema(ctx_.pipeline, stream_, *query_schema_);
    return;
  }
  for (const Table& t : tables_) (void)ctx_.state->SaveSchema(ctx_.pipeline, t.name, *t.schema);
}

Status PostgresSource::Run(Emitter& out) {
  SaveSchemas();
  Status st = mode_ == "full" ? RunFull(out) : mode_ == "incremental" ? RunIncremental(out) : RunQuery(out);
  // A stop request is an orderly end: what was emitted is whole and positioned.
  if (st.IsCancelled()) return Status::OK();
  return st;
}

}  // namespace sluice::pgsrc

namespace sluice {


void AddPostgresSource(ConnectorRegistry& registry) {
  ConnectorInfo info;
  info.type = "postgres";
  info.kind = "source";
  info.summary = "PostgreSQL tables (full snapshot, parallel key ranges, incremental by cursor, change data capture) or a query";
  info.delivery = "exactly-once with a transactional sink; resumes per table, key range and cursor";
  info.options = pgsrc::PostgresSourceOptions();
  info.make_source = [](const ConnectorContext& ctx, const ConfigNode& block) -> Result<std::unique_ptr<Source>> {
    if (const ConfigNode* mode = block.Find("mode"); mode && mode->IsScalar() && mode->scalar() == "cdc") {
      return pgsrc::MakeCdcSource(ctx, block);
    }
    if (const ConfigNode* mode = block.Find("mode"); mode && mode->IsScalar() && mode->scalar() == "trigger") {
      return pgsrc::MakeTriggerSource(ctx, block);
    }
    auto s = std::make_unique<pgsrc::PostgresSource>(ctx, block);
    RETURN_IF_ERROR(s->Init());
    return std::unique_ptr<Source>(std::move(s));
  };
  registry.Add(std::move(info));
}

}  // namespace sluice
