// The `sqlite` source. Each table is one stream, named as the user wrote it.
//
// The database is opened read-only (`immutable: true` for files nothing writes to, such as a
// copy on read-only media). SQLite is dynamically typed: a column's declared type only gives it
// an affinity, and any value of any storage class can sit in any column. The declared type picks
// the column's sluice type; a value whose storage class does not fit it quarantines its row.
//
// mode: full reads every table inside one read transaction (a consistent snapshot), each in
// primary-key order, so its checkpoint is the last key read and a killed run resumes after it.
// mode: incremental pages through `(cursor, key) > (?, ?) ORDER BY cursor, key LIMIT n`, with
// the values bound, and re-reads a lookback window, skipping the rows already loaded.
// mode: query runs the user's SQL with `:cursor` bound to the last checkpointed value.

#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "connectors/connector.h"
#include "connectors/sql/incremental_state.h"
#include "connectors/sql/table_patterns.h"
#include "connectors/sqlite/sqlite_cells.h"
#include "connectors/sqlite/sqlite_trigger_source.h"
#include "core/log.h"
#include "core/record_batch.h"
#include "core/strings.h"
#include "core/values.h"
#include "state/sqlite_db.h"

namespace sluice {
namespace {

using sql::KeyText;
using sqlite_cells::AppendCell;
using sqlite_cells::Cell;
using sqlite_cells::CellText;
using sqlite_cells::ReadCells;
using sqlite_cells::TypeOfDeclared;

constexpr char kFullKey[] = "full";
constexpr char kIncrementalKey[] = "incremental";
constexpr char kQueryKey[] = "query";

const OptionSchema& SqliteSourceOptions() {
  static const OptionSchema schema = {
      {"path", OptionType::kString, "", "SQLite database file, opened read-only (read-write in mode: trigger); relative to the pipeline file", true},
      {"immutable", OptionType::kBool, "false",
       "Open with immutable=1: no locks and no WAL lookups, for a file nothing writes to while it is read."},
      {"mode", OptionType::kEnum, "full",
       "full (a consistent snapshot of the tables), incremental (new and changed rows by a cursor "
       "column), query (the rows of `query:`) or trigger (every insert, update and delete, captured by "
       "triggers that sluice installs).", false, {"full", "incremental", "query", "trigger"}},
      {"table", OptionType::kString, "", "The table to read (`orders`, `main.orders`); its stream is named as written."},
      {"tables", OptionType::kStringList, "", "Several tables; each is one stream, named as written."},
      {"columns", OptionType::kStringList, "", "The columns to read, in this order. Default: all of them."},
      {"cursor", OptionType::kString, "",
       "[incremental, query] The column that grows with every insert and update: a timestamp, a date or a number."},
      {"key", OptionType::kStringList, "",
       "[incremental] Tie-breaker columns after the cursor, unique together. Default: the primary key."},
      {"page_size", OptionType::kInt, "65536", "[incremental] Rows per page (and per batch)."},
      {"lookback", OptionType::kString, "",
       "[incremental] Re-read rows whose cursor is this far below the checkpoint (a duration such as 5m for a "
       "time cursor, a number for a numeric one), to catch rows written late; rows already loaded are skipped."},
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
  };
  return schema;
}

// Cursor values ordered: a time's microseconds, a number's value.
long double CursorRank(const std::optional<std::string>& text, bool time) {
  if (!text) return 0;
  if (time) {
    int64_t us = 0;
    bool zone = false;
    int32_t days = 0;
    if (ParseTimestamp(*text, &us, &zone)) return static_cast<long double>(us);
    if (ParseDate(*text, &days)) return static_cast<long double>(days) * 86400e6L;
    return 0;
  }
  return std::strtold(text->c_str(), nullptr);
}

bool IsTimeType(const DataType& t) { return t.id == TypeId::kTimestamp || t.id == TypeId::kDate; }
bool IsNumberType(const DataType& t) {
  return t.id == TypeId::kInt64 || t.id == TypeId::kFloat64 || t.id == TypeId::kDecimal;
}

// Sleeps `seconds`, waking early on a stop request. False when stopped.
bool SleepUnlessStopped(Emitter& out, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (out.StopRequested()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !out.StopRequested();
}

// "file:" URI of a path: %, ? and # are escaped so that they stay part of the name.
std::string FileUri(const std::string& path, bool immutable) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      uri += buf;
    } else {
      uri += c;
    }
  }
  return uri + (immutable ? "?mode=ro&immutable=1" : "?mode=ro");
}

// A read-only connection; closes on destruction.
class ReadOnlyDb {
 public:
  ReadOnlyDb() = default;
  ReadOnlyDb(const ReadOnlyDb&) = delete;
  ReadOnlyDb& operator=(const ReadOnlyDb&) = delete;
  ~ReadOnlyDb() {
    if (db_) sqlite3_close_v2(db_);
  }
  Status Open(const std::string& path, const std::string& shown, bool immutable) {
    if (!std::filesystem::exists(path)) return Status::NotFound("sqlite source: no database file " + shown);
    const int rc = sqlite3_open_v2(FileUri(path, immutable).c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, "sqlite source: opening " + shown, db_);
    sqlite3_busy_timeout(db_, 5000);
    return Status::OK();
  }
  sqlite3* get() const { return db_; }
  Result<SqliteStmt> Prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, "sqlite source", db_);
    return SqliteStmt(db_, st);
  }
  Status Exec(const std::string& sql) {
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::OK() : SqliteStatus(rc, "sqlite source", db_);
  }

 private:
  sqlite3* db_ = nullptr;
};

struct SourceColumn {
  std::string name;
  std::string declared;  // as declared in the table ("" for an expression)
  DataType type;
  bool notnull = false;
};

// One table being read, with everything its reads need.
struct Table {
  std::string name;       // as configured: the stream's name
  std::string qualified;  // "schema"."table"
  std::string db_schema, db_table;  // unquoted parts of `qualified`
  std::vector<SourceColumn> cols;  // the output columns, then hidden ones the reads need
  size_t out_cols = 0;
  SchemaPtr all_schema, schema;
  std::vector<int> key;  // primary key (full) or cursor's tie-breakers (incremental)
  int cursor = -1;
  int deleted = -1;
  sql::FullState full;
  sql::IncrementalState inc;
  bool keyless_open = false;  // a full read without a key is in progress

  std::string Col(int i) const { return QuoteSqlIdent(cols[static_cast<size_t>(i)].name); }
  std::string SelectList() const {
    std::string s;
    for (size_t i = 0; i < cols.size(); ++i) s += (i ? ", " : "") + QuoteSqlIdent(cols[i].name);
    return s;
  }
  std::string Tuple(const std::vector<int>& idx) const {
    std::string s = "(";
    for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + Col(idx[i]);
    return s + ")";
  }
  static std::string Marks(size_t n) {
    std::string s = "(";
    for (size_t i = 0; i < n; ++i) s += i ? ", ?" : "?";
    return s + ")";
  }
  std::string OrderBy(const std::vector<int>& idx) const {
    std::string s = " ORDER BY ";
    for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + Col(idx[i]);
    return s;
  }
};

// Binds a value read earlier (its text form) back, typed as its column so that comparisons
// match the stored storage class.
void BindKeyValue(SqliteStmt& st, int i, const std::optional<std::string>& v, const DataType& type) {
  int64_t n = 0;
  double d = 0;
  if (!v) st.BindNull(i);
  else if (type.id == TypeId::kInt64 && ParseInt64(*v, &n)) st.BindInt64(i, n);
  else if (type.id == TypeId::kFloat64 && ParseFloat64(*v, &d)) st.BindDouble(i, d);
  else st.BindText(i, *v);
}

class SqliteSource : public Source {
 public:
  SqliteSource(ConnectorContext ctx, const ConfigNode& block)
      : ctx_(std::move(ctx)), block_(block), opts_(&block_, &SqliteSourceOptions()) {}

  Status Init();
  Status Open(const StateMap& committed) override;
  Status Run(Emitter& out) override;
  std::vector<std::string> DescribePlan() override;

 private:
  Status CheckModeOptions();
  std::optional<DataType> Declared(const std::string& stream, const std::string& column) const;
  Status OpenTable(const std::string& name);
  Result<std::string> ResolveTable(const std::string& name, std::string* schema, std::string* table);
  Status PlanColumns(Table& t, const std::string& schema, const std::string& table);
  Status CheckIncremental(Table& t);
  Status LoadStates(const StateMap& committed);
  Status OpenQuery(const StateMap& committed);

  Status RunFull(Emitter& out);
  Status ReadFullTable(Table& t, Emitter& out);
  Status Poll(Emitter& out, const std::function<Status()>& pass);
  Status ReadIncremental(Table& t, Emitter& out);
  Status CountNullCursors(Table& t, Emitter& out);
  Status ReadWindow(Table& t, Emitter& out, int64_t* ordinal);
  Status ReadNewRows(Table& t, Emitter& out, int64_t* ordinal);
  Status ReadNullCursors(Table& t, Emitter& out);
  Status RunQuery(Emitter& out);

  // Decodes the current row of `st` into `b`, or into a reject. Returns the row's cells.
  std::vector<Cell> DecodeRow(sqlite3_stmt* st, const Table& t, RecordBatchBuilder& b, int64_t ordinal,
                              std::vector<RejectedRow>* rejects) const;
  // Steps a page statement, decoding every row; `visit` sees each row's cells first and says
  // whether to keep it (false: the row is skipped).
  Result<int64_t> ReadPage(SqliteStmt& st, Table& t, RecordBatchBuilder& b, Envelope& env, int64_t* ordinal,
                           const std::function<bool(const std::vector<Cell>&)>& visit);
  void FinishPage(Table& t, RecordBatchBuilder& b, Envelope& env) const;
  KeyText RowKey(const std::vector<Cell>& cells, const std::vector<int>& idx) const;
  std::vector<int> Keyset(const Table& t) const;

  ConnectorContext ctx_;
  ConfigNode block_;
  Options opts_;
  std::string path_, shown_path_;
  ReadOnlyDb db_;
  std::string mode_;
  std::vector<std::string> table_names_, columns_, key_;
  std::string cursor_, null_cursor_, deleted_flag_, initial_cursor_;
  int64_t page_size_ = kBatchRows;
  std::optional<double> poll_s_;
  long double lookback_rank_ = 0;  // in cursor ranks (microseconds or the number)
  bool cursor_is_time_ = false;
  std::vector<Table> tables_;
  // mode: query
  std::string stream_;
  Table query_;  // the query's result columns; no key
  int query_cursor_col_ = -1;
  std::optional<std::string> query_cursor_;
};

// ---- config ----

Status SqliteSource::Init() {
  shown_path_ = opts_.GetString("path");
  if (shown_path_.empty()) return Status::InvalidArgument(block_.Where() + ": path: required (the database file)");
  std::filesystem::path p(shown_path_);
  if (p.is_relative() && !ctx_.base_dir.empty()) p = std::filesystem::path(ctx_.base_dir) / p;
  path_ = p.lexically_normal().string();
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
  cursor_ = opts_.GetString("cursor");
  key_ = opts_.GetList("key");
  page_size_ = opts_.GetInt("page_size");
  if (opts_.Has("poll_interval")) poll_s_ = opts_.GetSeconds("poll_interval");
  null_cursor_ = opts_.GetString("null_cursor");
  deleted_flag_ = opts_.GetString("deleted_flag");
  initial_cursor_ = opts_.GetString("initial_cursor");
  stream_ = opts_.GetString("stream");
  if (stream_.empty()) stream_ = ctx_.pipeline;
  if (page_size_ < 1) return Status::InvalidArgument(opts_.Node("page_size")->Where() + ": must be at least 1");
  if (poll_s_ && *poll_s_ <= 0) return Status::InvalidArgument(opts_.Node("poll_interval")->Where() + ": must be positive");
  return CheckModeOptions();
}

// Options that do nothing in the chosen mode are errors: silently ignoring `cursor:` in a full
// read would surprise whoever wrote it.
Status SqliteSource::CheckModeOptions() {
  static const std::map<std::string, std::set<std::string>> kOnly = {
      {"full", {"table", "tables", "columns"}},
      {"incremental", {"table", "tables", "columns", "cursor", "key", "page_size", "lookback", "poll_interval",
                       "null_cursor", "deleted_flag", "initial_cursor"}},
      {"query", {"query", "cursor", "initial_cursor", "poll_interval", "stream"}},
  };
  static const std::set<std::string> kCommon = {"type", "path", "immutable", "mode"};
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

std::optional<DataType> SqliteSource::Declared(const std::string& stream, const std::string& column) const {
  return DeclaredType(ctx_, stream, column, table_names_.size() <= 1);
}

// ---- open ----

Status SqliteSource::Open(const StateMap& committed) {
  RETURN_IF_ERROR(db_.Open(path_, shown_path_, opts_.GetBool("immutable")));
  if (mode_ == "query") return OpenQuery(committed);
  if (sql::AnyTablePattern(table_names_)) {
    // `tables: [order_*]`: tables and views of every attached database, SQLite's own left out.
    ASSIGN_OR_RETURN(SqliteStmt st, db_.Prepare(
        "SELECT schema, name FROM pragma_table_list WHERE type IN ('table', 'view') AND schema <> 'temp' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY 1, 2"));
    std::vector<sql::CatalogTable> catalog;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      catalog.push_back({st.ColumnText(0), st.ColumnText(1)});
    }
    ASSIGN_OR_RETURN(table_names_, sql::ExpandTablePatterns(table_names_, catalog, "main", "sqlite source tables:"));
  }
  for (const auto& name : table_names_) RETURN_IF_ERROR(OpenTable(name));
  return LoadStates(committed);
}

// A name is first looked up whole (a table may have a dot in its name), then as schema.table.
Result<std::string> SqliteSource::ResolveTable(const std::string& name, std::string* schema, std::string* table) {
  ASSIGN_OR_RETURN(SqliteStmt st, db_.Prepare("SELECT 1 FROM pragma_table_info(?1, ?2) LIMIT 1"));
  auto exists = [&](const std::string& s, const std::string& t) -> Result<bool> {
    st.Reset();
    st.BindText(1, t);
    st.BindText(2, s);
    return st.Step();
  };
  ASSIGN_OR_RETURN(bool whole, exists("main", name));
  if (whole) {
    *schema = "main";
    *table = name;
  } else {
    const size_t dot = name.find('.');
    bool split = false;
    if (dot != std::string::npos) {
      ASSIGN_OR_RETURN(split, exists(name.substr(0, dot), name.substr(dot + 1)));
    }
    if (!split) return Status::NotFound("sqlite source: table " + JsonQuote(name) + " not found in " + shown_path_);
    *schema = name.substr(0, dot);
    *table = name.substr(dot + 1);
  }
  return QuoteSqlIdent(*schema) + "." + QuoteSqlIdent(*table);
}

Status SqliteSource::OpenTable(const std::string& name) {
  Table t;
  t.name = name;
  ASSIGN_OR_RETURN(t.qualified, ResolveTable(name, &t.db_schema, &t.db_table));
  RETURN_IF_ERROR(PlanColumns(t, t.db_schema, t.db_table));
  tables_.push_back(std::move(t));
  return Status::OK();
}

Status SqliteSource::PlanColumns(Table& t, const std::string& schema, const std::string& table) {
  ASSIGN_OR_RETURN(SqliteStmt st, db_.Prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1, ?2)"));
  st.BindText(1, table);
  st.BindText(2, schema);
  std::vector<SourceColumn> catalog;
  std::vector<std::pair<int64_t, std::string>> pk;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SourceColumn c{st.ColumnText(0), st.ColumnText(1), {}, st.ColumnInt64(2) != 0};
    if (st.ColumnInt64(3) > 0) pk.emplace_back(st.ColumnInt64(3), c.name);
    catalog.push_back(std::move(c));
  }
  std::sort(pk.begin(), pk.end());
  auto find = [&](const std::string& n) -> const SourceColumn* {
    for (const auto& c : catalog) {
      if (ToLower(c.name) == ToLower(n)) return &c;  // SQLite identifiers are case-insensitive
    }
    return nullptr;
  };
  auto missing = [&](const std::string& what, const std::string& col) {
    std::vector<std::string> names;
    for (const auto& c : catalog) names.push_back(c.name);
    return Status::InvalidArgument(block_.Where() + ": " + what + " " + JsonQuote(col) + " is not a column of " +
                                   t.name + " (columns: " + Join(names, ", ") + ")");
  };
  std::vector<const SourceColumn*> chosen;
  if (columns_.empty()) {
    for (const auto& c : catalog) chosen.push_back(&c);
  }
  for (const auto& n : columns_) {
    const SourceColumn* c = find(n);
    if (!c) return missing("columns:", n);
    if (std::find(chosen.begin(), chosen.end(), c) != chosen.end()) {
      return Status::InvalidArgument(block_.Where() + ": columns: lists " + JsonQuote(n) + " twice");
    }
    chosen.push_back(c);
  }
  t.out_cols = chosen.size();
  std::vector<std::string> keys;
  if (mode_ == "incremental" && !key_.empty()) keys = key_;
  else for (const auto& [ord, n] : pk) keys.push_back(n);
  std::vector<std::string> needed = keys;
  if (mode_ == "incremental") {
    needed.push_back(cursor_);
    if (!deleted_flag_.empty()) needed.push_back(deleted_flag_);
  }
  // Columns the reads need but the user did not select ride along hidden.
  for (const auto& n : needed) {
    const SourceColumn* c = find(n);
    if (!c) return missing(n == cursor_ ? "cursor:" : n == deleted_flag_ ? "deleted_flag:" : "key:", n);
    if (std::find(chosen.begin(), chosen.end(), c) == chosen.end()) chosen.push_back(c);
  }
  Schema all, out;
  for (size_t i = 0; i < chosen.size(); ++i) {
    SourceColumn c = *chosen[i];
    const auto declared = i < t.out_cols ? Declared(t.name, c.name) : std::nullopt;
    c.type = declared ? *declared : TypeOfDeclared(c.declared);
    all.AddField({c.name, c.type, !c.notnull});
    if (i < t.out_cols) out.AddField({c.name, c.type, !c.notnull});
    t.cols.push_back(std::move(c));
  }
  t.all_schema = std::make_shared<Schema>(std::move(all));
  t.schema = std::make_shared<Schema>(std::move(out));
  auto index_of = [&](const std::string& n) {
    for (size_t i = 0; i < t.cols.size(); ++i) {
      if (ToLower(t.cols[i].name) == ToLower(n)) return static_cast<int>(i);
    }
    return -1;
  };
  for (const auto& k : keys) t.key.push_back(index_of(k));
  if (mode_ != "incremental") return Status::OK();
  t.cursor = index_of(cursor_);
  if (!deleted_flag_.empty()) t.deleted = index_of(deleted_flag_);
  return CheckIncremental(t);
}

Status SqliteSource::CheckIncremental(Table& t) {
  if (t.key.empty()) {
    return Status::InvalidArgument(block_.Where() + ": " + t.name + " has no primary key; name the columns that "
                                   "tell rows with the same cursor apart with key:");
  }
  const SourceColumn& c = t.cols[static_cast<size_t>(t.cursor)];
  const bool time = IsTimeType(c.type);
  if (!time && !IsNumberType(c.type)) {
    return Status::InvalidArgument(block_.Where() + ": cursor " + JsonQuote(cursor_) + " of " + t.name +
                                   " is declared " + JsonQuote(c.declared) + " (" + c.type.ToString() +
                                   "); a cursor is a timestamp, a date or a number");
  }
  if (!tables_.empty() && time != cursor_is_time_) {
    return Status::InvalidArgument(block_.Where() + ": the cursor of " + t.name + " is not of the same kind as in the other tables");
  }
  cursor_is_time_ = time;
  std::erase(t.key, t.cursor);
  if (t.key.empty()) return Status::InvalidArgument(block_.Where() + ": key: must name columns besides the cursor");
  if (const ConfigNode* lb = opts_.Node("lookback"); lb && lookback_rank_ == 0) {
    const std::string text = opts_.GetString("lookback");
    if (time) {
      auto s = ParseDurationSeconds(text);
      if (!s.ok() || *s < 0) return Status::InvalidArgument(lb->Where() + ": a duration such as 10m, for a time cursor");
      lookback_rank_ = static_cast<long double>(*s) * 1e6L;
    } else {
      double v = 0;
      if (!ParseFloat64(text, &v) || v < 0 || !std::isfinite(v)) {
        return Status::InvalidArgument(lb->Where() + ": a non-negative number, for a numeric cursor");
      }
      lookback_rank_ = v;
    }
  }
  return Status::OK();
}

Status SqliteSource::LoadStates(const StateMap& committed) {
  for (Table& t : tables_) {
    const bool full = mode_ == "full";
    auto it = committed.find({t.name, full ? kFullKey : kIncrementalKey});
    if (it == committed.end()) {
      if (full) t.full.ranges.resize(1);
      continue;
    }
    if (full) {
      auto s = sql::FullState::FromJson(it->second);
      if (!s || s->ranges.size() != 1) {
        return Status::Corruption("sqlite source: checkpoint of " + t.name + " is not a full-mode position: " + it->second);
      }
      t.full = std::move(*s);
      continue;
    }
    auto s = sql::IncrementalState::FromJson(
        it->second, [&](const std::string& v) { return CursorRank(v, cursor_is_time_); });
    if (!s) {
      return Status::Corruption("sqlite source: checkpoint of " + t.name + " is not an incremental position: " + it->second);
    }
    t.inc = std::move(*s);
    if (t.inc.last && t.inc.last->size() != 1 + t.key.size()) {
      return Status::InvalidArgument("sqlite source: the checkpoint of " + t.name + " was written with another "
                                     "cursor or key; reset it with `sluice state reset`");
    }
  }
  // As the other table sources: a completed full read makes this run a new one (see
  // sql::StartFullReadAgain).
  if (mode_ == "full" &&
      sql::StartFullReadAgain(ctx_.sink_mode, std::all_of(tables_.begin(), tables_.end(),
                                                          [](const Table& t) { return t.full.Done(); }))) {
    for (Table& t : tables_) t.full.ranges.assign(1, sql::RangeState{});
  }
  return Status::OK();
}

Status SqliteSource::OpenQuery(const StateMap& committed) {
  ASSIGN_OR_RETURN(SqliteStmt st, db_.Prepare(opts_.GetString("query")));
  const int nparams = sqlite3_bind_parameter_count(st.get());
  for (int i = 1; i <= nparams; ++i) {
    const char* n = sqlite3_bind_parameter_name(st.get(), i);
    if (!n || std::string_view(n) != ":cursor") {
      return Status::InvalidArgument(opts_.Node("query")->Where() + ": the only parameter a query may use is :cursor, not " +
                                     (n ? std::string(n) : std::string("?")));
    }
  }
  if (sqlite3_stmt_readonly(st.get()) == 0) {
    return Status::InvalidArgument(opts_.Node("query")->Where() + ": the query must only read (a SELECT)");
  }
  Table& q = query_;
  q.name = stream_;
  Schema schema;
  const int n = sqlite3_column_count(st.get());
  for (int i = 0; i < n; ++i) {
    SourceColumn c;
    c.name = sqlite3_column_name(st.get(), i);
    const char* decl = sqlite3_column_decltype(st.get(), i);
    c.declared = decl ? decl : "";
    const auto declared = Declared(stream_, c.name);
    c.type = declared ? *declared : TypeOfDeclared(c.declared);
    schema.AddField({c.name, c.type, true});
    if (c.name == cursor_) query_cursor_col_ = i;
    q.cols.push_back(std::move(c));
  }
  q.out_cols = q.cols.size();
  q.schema = q.all_schema = std::make_shared<Schema>(std::move(schema));
  if (!cursor_.empty() && query_cursor_col_ < 0) {
    return Status::InvalidArgument(opts_.Node("cursor")->Where() + ": " + JsonQuote(cursor_) + " is not a column of the query's result");
  }
  if (nparams > 0 && cursor_.empty()) {
    return Status::InvalidArgument(block_.Where() + ": a query that uses :cursor needs cursor: (the result column it follows)");
  }
  if (!initial_cursor_.empty()) query_cursor_ = initial_cursor_;
  if (auto it = committed.find({stream_, kQueryKey}); it != committed.end()) {
    auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (!j.is_object() || !j.contains("cursor")) {
      return Status::Corruption("sqlite source: checkpoint of " + stream_ + " is not a query position: " + it->second);
    }
    if (j["cursor"].is_string()) query_cursor_ = j["cursor"].get<std::string>();
  }
  return Status::OK();
}

std::vector<std::string> SqliteSource::DescribePlan() {
  std::vector<std::string> lines;
  if (mode_ == "query") {
    lines.push_back("query -> stream " + stream_ + " (" + std::to_string(query_.cols.size()) + " columns)" +
                    (query_cursor_ ? ", :cursor = " + *query_cursor_ : ""));
    return lines;
  }
  for (const Table& t : tables_) {
    std::vector<std::string> key;
    for (int k : t.key) key.push_back(t.cols[static_cast<size_t>(k)].name);
    std::string line = "table " + t.name + ": " + std::to_string(t.out_cols) + " columns, " +
                       (key.empty() ? std::string("no key (a killed read restarts the table)") : "key [" + Join(key, ", ") + "]");
    if (mode_ == "incremental") line += t.inc.last ? ", resumes after cursor " + (*t.inc.last)[0].value_or("NULL") : ", first run";
    lines.push_back(std::move(line));
    if (mode_ != "incremental") continue;
    const std::string cursor = t.cols[static_cast<size_t>(t.cursor)].name;
    auto st = db_.Prepare(
        "SELECT 1 FROM pragma_index_list(?1, ?2) il, pragma_index_info(il.name, ?2) ii "
        "WHERE ii.seqno = 0 AND ii.name = ?3 COLLATE NOCASE");
    if (st.ok()) {
      st->BindText(1, t.db_table);
      st->BindText(2, t.db_schema);
      st->BindText(3, cursor);
      auto row = st->Step();
      if (row.ok() && !*row) {
        lines.push_back("  warning: no index starts with " + cursor + ": every page scans the whole table; CREATE INDEX " +
                        QuoteSqlIdent(t.db_schema) + "." + QuoteSqlIdent(t.db_table + "_" + cursor) + " ON " +
                        QuoteSqlIdent(t.db_table) + " (" + QuoteSqlIdent(cursor) + ")");
      }
    }
    if (t.deleted < 0) {
      lines.push_back("  warning: deletes are not seen (incremental reads see only rows that exist); set "
                      "deleted_flag: for a tombstone column, or use change data capture");
    }
  }
  return lines;
}

// ---- reading rows ----

std::vector<int> SqliteSource::Keyset(const Table& t) const {
  std::vector<int> ks = {t.cursor};
  ks.insert(ks.end(), t.key.begin(), t.key.end());
  return ks;
}

KeyText SqliteSource::RowKey(const std::vector<Cell>& cells, const std::vector<int>& idx) const {
  KeyText k;
  for (int i : idx) k.push_back(CellText(cells[static_cast<size_t>(i)]));
  return k;
}

std::vector<Cell> SqliteSource::DecodeRow(sqlite3_stmt* st, const Table& t, RecordBatchBuilder& b, int64_t ordinal,
                                          std::vector<RejectedRow>* rejects) const {
  std::vector<Cell> cells = ReadCells(st, t.cols.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string why = AppendCell(cells[i], t.cols[i].type, b.column(i));
    if (why.empty()) continue;
    b.RollbackRow();
    RejectedRow r;
    r.stream = t.name;
    r.rule = "type";
    r.column = t.cols[i].name;
    r.reason = t.cols[i].name + " (declared " + JsonQuote(t.cols[i].declared) + "): " + why;
    nlohmann::json raw = nlohmann::json::object();
    for (size_t k = 0; k < cells.size(); ++k) {
      auto v = CellText(cells[k]);
      const bool printable = cells[k].type != SQLITE_BLOB && (!v || IsValidUtf8(*v));
      raw[t.cols[k].name] = !v ? nlohmann::json(nullptr) : printable ? nlohmann::json(*v) : nlohmann::json("<blob>");
    }
    r.raw = raw.dump();
    if (t.key.empty()) {
      r.origin = t.name + " row " + std::to_string(ordinal + 1);
      r.position_key = t.name + "#" + std::to_string(ordinal);
    } else {
      nlohmann::json key = nlohmann::json::array();
      for (const auto& v : RowKey(cells, t.key)) key.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
      r.origin = t.name + " key " + key.dump();
      r.position_key = t.name + "#" + key.dump();
    }
    rejects->push_back(std::move(r));
    return cells;
  }
  b.CommitRow(ordinal + 1);
  return cells;
}

Result<int64_t> SqliteSource::ReadPage(SqliteStmt& st, Table& t, RecordBatchBuilder& b, Envelope& env,
                                       int64_t* ordinal, const std::function<bool(const std::vector<Cell>&)>& visit) {
  int64_t rows = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return rows;
    ++rows;
    if (visit) {
      // Look at the cells before decoding: a skipped row is neither loaded nor quarantined.
      std::vector<Cell> cells = ReadCells(st.get(), t.cols.size());
      if (!visit(cells)) continue;
    }
    DecodeRow(st.get(), t, b, (*ordinal)++, &env.rejects);
  }
}

// The page's rows into the envelope (deletes marked by the tombstone), hidden columns dropped.
void SqliteSource::FinishPage(Table& t, RecordBatchBuilder& b, Envelope& env) const {
  if (b.num_rows() == 0) return;
  RecordBatchPtr batch = b.Finish(t.name, t.name);
  auto mut = std::const_pointer_cast<RecordBatch>(batch);
  if (t.deleted >= 0) {
    const Column& flag = batch->column(static_cast<size_t>(t.deleted));
    // 'c' is the op of a plain row (insert, or update an existing key); 'd' deletes the key.
    mut->ops.resize(static_cast<size_t>(batch->num_rows()));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      const bool del = flag.type().id == TypeId::kBool ? !flag.IsNull(i) && flag.BoolAt(i) : !flag.IsNull(i);
      mut->ops[static_cast<size_t>(i)] = del ? 'd' : 'c';
    }
  }
  if (t.out_cols != t.cols.size()) {
    std::vector<ColumnPtr> keep(batch->columns().begin(), batch->columns().begin() + static_cast<long>(t.out_cols));
    auto projected = std::make_shared<RecordBatch>(t.schema, std::move(keep), batch->num_rows());
    projected->stream = batch->stream;
    projected->origin_unit = batch->origin_unit;
    projected->origin_lines = batch->origin_lines;
    projected->ops = batch->ops;
    batch = projected;
  }
  env.bytes_in = batch->ByteSize();
  env.batch = std::move(batch);
}

Status SqliteSource::Run(Emitter& out) {
  if (mode_ == "full") return RunFull(out);
  if (mode_ == "query") return RunQuery(out);
  return Poll(out, [&]() -> Status {
    for (Table& t : tables_) {
      if (out.StopRequested()) return Status::OK();
      RETURN_IF_ERROR(ReadIncremental(t, out));
    }
    return Status::OK();
  });
}

Status SqliteSource::Poll(Emitter& out, const std::function<Status()>& pass) {
  for (;;) {
    RETURN_IF_ERROR(pass());
    if (!poll_s_ || out.StopRequested()) return Status::OK();
    if (!SleepUnlessStopped(out, *poll_s_)) return Status::OK();
  }
}

// ---- mode: full ----

Status SqliteSource::RunFull(Emitter& out) {
  // One read transaction over every table: a consistent snapshot (WAL readers do not block
  // writers; in rollback-journal mode writers wait until the read ends).
  RETURN_IF_ERROR(db_.Exec("BEGIN"));
  Status st;
  for (Table& t : tables_) {
    st = ReadFullTable(t, out);
    if (!st.ok() || out.StopRequested()) break;
  }
  (void)db_.Exec("COMMIT");
  return st;
}

Status SqliteSource::ReadFullTable(Table& t, Emitter& out) {
  sql::RangeState& r = t.full.ranges[0];
  if (r.done) return Status::OK();
  const bool keyed = !t.key.empty();
  std::string sql = "SELECT " + t.SelectList() + " FROM " + t.qualified;
  if (keyed && r.last) sql += " WHERE " + t.Tuple(t.key) + " > " + Table::Marks(t.key.size());
  if (keyed) sql += t.OrderBy(t.key);
  ASSIGN_OR_RETURN(SqliteStmt stmt, db_.Prepare(sql));
  if (keyed && r.last) {
    for (size_t i = 0; i < t.key.size(); ++i) {
      BindKeyValue(stmt, static_cast<int>(i + 1), (*r.last)[i], t.cols[static_cast<size_t>(t.key[i])].type);
    }
  }
  RecordBatchBuilder b(t.all_schema);
  int64_t ordinal = r.rows;
  t.keyless_open = !keyed;
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    Envelope env;
    bool end = false;
    int64_t rows = 0;
    while (!b.Full() && static_cast<int64_t>(env.rejects.size()) < kBatchRows) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) {
        end = true;
        break;
      }
      ++rows;
      std::vector<Cell> cells = DecodeRow(stmt.get(), t, b, ordinal++, &env.rejects);
      if (keyed) r.last = RowKey(cells, t.key);
    }
    r.rows += rows;
    r.done = end;
    if (end) t.keyless_open = false;
    FinishPage(t, b, env);
    // A table without a key cannot resume mid-way: no commit may end inside its read.
    env.boundary = !t.keyless_open;
    env.flush = end;
    if (keyed || end) env.positions.push_back({t.name, kFullKey, t.full.ToJson()});
    RETURN_IF_ERROR(out.Emit(std::move(env)));
    if (end) {
      ctx_.log->Info("sqlite: table read", {{"table", t.name}, {"rows", std::to_string(r.rows)}});
      return Status::OK();
    }
  }
}

// ---- mode: incremental ----

Status SqliteSource::ReadIncremental(Table& t, Emitter& out) {
  if (null_cursor_ != "include") RETURN_IF_ERROR(CountNullCursors(t, out));
  int64_t ordinal = 0;
  if (t.inc.last && lookback_rank_ > 0) RETURN_IF_ERROR(ReadWindow(t, out, &ordinal));
  RETURN_IF_ERROR(ReadNewRows(t, out, &ordinal));
  if (null_cursor_ == "include") RETURN_IF_ERROR(ReadNullCursors(t, out));
  return Status::OK();
}

Status SqliteSource::CountNullCursors(Table& t, Emitter& out) {
  ASSIGN_OR_RETURN(SqliteStmt st, db_.Prepare("SELECT count(*) FROM " + t.qualified + " WHERE " + t.Col(t.cursor) + " IS NULL"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  const int64_t count = row ? st.ColumnInt64(0) : 0;
  if (count == 0) return Status::OK();
  if (null_cursor_ == "error") {
    return Status::Permanent("sqlite source: " + std::to_string(count) + " row(s) of " + t.name + " have a NULL " + cursor_ +
                             ", which incremental reads never see; set null_cursor: skip (count them as skipped) "
                             "or include (load them on every run), or give them a cursor value");
  }
  Envelope env;
  env.rows_skipped = count;
  env.skip_reason = "NULL cursor " + cursor_ + " in " + t.name + " (null_cursor: skip)";
  return out.Emit(std::move(env));
}

// The rows at or below the checkpoint whose cursor is within the lookback: the ones already
// loaded are skipped, the others (written late) are loaded.
Status SqliteSource::ReadWindow(Table& t, Emitter& out, int64_t* ordinal) {
  const std::vector<int> ks = Keyset(t);
  const KeyText last = *t.inc.last;
  const long double floor = CursorRank(last[0], cursor_is_time_) - lookback_rank_;
  // SQL narrows the read with a bound a little wider than the window (julianday is a double);
  // the exact test is on ranks below.
  const std::string lower = cursor_is_time_ ? "julianday(" + t.Col(t.cursor) + ") >= julianday(?) - ?"
                                            : t.Col(t.cursor) + " >= ? - ?";
  const double width = cursor_is_time_ ? static_cast<double>(lookback_rank_ / 86400e6L) + 1.0 / 86400
                                       : static_cast<double>(lookback_rank_);
  std::optional<KeyText> after;
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    std::string sql = "SELECT " + t.SelectList() + " FROM " + t.qualified + " WHERE " + lower + " AND " + t.Tuple(ks) +
                      " <= " + Table::Marks(ks.size());
    if (after) sql += " AND " + t.Tuple(ks) + " > " + Table::Marks(ks.size());
    sql += t.OrderBy(ks) + " LIMIT " + std::to_string(page_size_);
    ASSIGN_OR_RETURN(SqliteStmt st, db_.Prepare(sql));
    int p = 1;
    BindKeyValue(st, p++, last[0], t.cols[static_cast<size_t>(t.cursor)].type);
    st.BindDouble(p++, width);
    for (size_t i = 0; i < ks.size(); ++i) BindKeyValue(st, p++, last[i], t.cols[static_cast<size_t>(ks[i])].type);
    for (size_t i = 0; after && i < ks.size(); ++i) BindKeyValue(st, p++, (*after)[i], t.cols[static_cast<size_t>(ks[i])].type);
    RecordBatchBuilder b(t.all_schema);
    Envelope env;
    int64_t skipped = 0;
    ASSIGN_OR_RETURN(int64_t rows, ReadPage(st, t, b, env, ordinal, [&](const std::vector<Cell>& cells) {
      KeyText row = RowKey(cells, ks);
      const long double rank = CursorRank(row[0], cursor_is_time_);
      after = row;
      if (rank < floor) return false;  // outside the window: loaded long ago, not re-read
      if (t.inc.Seen(row)) {
        ++skipped;
        return false;
      }
      t.inc.Remember(row, rank);
      return true;
    }));
    FinishPage(t, b, env);
    env.rows_skipped = skipped;
    if (skipped > 0) env.skip_reason = "already loaded (re-read within lookback: " + opts_.GetString("lookback") + ")";
    env.positions.push_back({t.name, kIncrementalKey, t.inc.ToJson()});
    RETURN_IF_ERROR(out.Emit(std::move(env)));
    if (rows < page_size_) return Status::OK();
  }
}

Status SqliteSource::ReadNewRows(Table& t, Emitter& out, int64_t* ordinal) {
  const std::vector<int> ks = Keyset(t);
  const DataType& ctype = t.cols[static_cast<size_t>(t.cursor)].type;
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    std::string sql = "SELECT " + t.SelectList() + " FROM " + t.qualified + " WHERE ";
    if (t.inc.last) {
      sql += t.Tuple(ks) + " > " + Table::Marks(ks.size());
    } else {
      sql += t.Col(t.cursor) + " IS NOT NULL";
      if (!initial_cursor_.empty()) sql += " AND " + t.Col(t.cursor) + " >= ?";
    }
    sql += t.OrderBy(ks) + " LIMIT " + std::to_string(page_size_);
    ASSIGN_OR_RETURN(SqliteStmt st, db_.Prepare(sql));
    if (t.inc.last) {
      for (size_t i = 0; i < ks.size(); ++i) {
        BindKeyValue(st, static_cast<int>(i + 1), (*t.inc.last)[i], t.cols[static_cast<size_t>(ks[i])].type);
      }
    } else if (!initial_cursor_.empty()) {
      BindKeyValue(st, 1, initial_cursor_, ctype);
    }
    RecordBatchBuilder b(t.all_schema);
    Envelope env;
    std::optional<KeyText> page_last;
    ASSIGN_OR_RETURN(int64_t rows, ReadPage(st, t, b, env, ordinal, [&](const std::vector<Cell>& cells) {
      KeyText row = RowKey(cells, ks);
      if (lookback_rank_ > 0) t.inc.Remember(row, CursorRank(row[0], cursor_is_time_));
      page_last = std::move(row);
      return true;
    }));
    if (page_last) {
      t.inc.last = std::move(page_last);
      if (lookback_rank_ > 0) t.inc.ForgetBelow(CursorRank((*t.inc.last)[0], cursor_is_time_) - lookback_rank_);
    }
    const bool end = rows < page_size_;
    FinishPage(t, b, env);
    env.positions.push_back({t.name, kIncrementalKey, t.inc.ToJson()});
    env.flush = end;
    if (rows > 0 || end) RETURN_IF_ERROR(out.Emit(std::move(env)));
    if (end) return Status::OK();
  }
}

// null_cursor: include: the rows without a cursor, by key, on every run.
Status SqliteSource::ReadNullCursors(Table& t, Emitter& out) {
  std::optional<KeyText> after;
  int64_t ordinal = 0;
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    std::string sql = "SELECT " + t.SelectList() + " FROM " + t.qualified + " WHERE " + t.Col(t.cursor) + " IS NULL";
    if (after) sql += " AND " + t.Tuple(t.key) + " > " + Table::Marks(t.key.size());
    sql += t.OrderBy(t.key) + " LIMIT " + std::to_string(page_size_);
    ASSIGN_OR_RETURN(SqliteStmt st, db_.Prepare(sql));
    for (size_t i = 0; after && i < t.key.size(); ++i) {
      BindKeyValue(st, static_cast<int>(i + 1), (*after)[i], t.cols[static_cast<size_t>(t.key[i])].type);
    }
    RecordBatchBuilder b(t.all_schema);
    Envelope env;
    ASSIGN_OR_RETURN(int64_t rows, ReadPage(st, t, b, env, &ordinal, [&](const std::vector<Cell>& cells) {
      after = RowKey(cells, t.key);
      return true;
    }));
    const bool end = rows < page_size_;
    FinishPage(t, b, env);
    env.positions.push_back({t.name, kIncrementalKey, t.inc.ToJson()});
    env.flush = end;
    if (rows > 0 || end) RETURN_IF_ERROR(out.Emit(std::move(env)));
    if (end) return Status::OK();
  }
}

// ---- mode: query ----

Status SqliteSource::RunQuery(Emitter& out) {
  return Poll(out, [&]() -> Status {
    // The whole result is one commit group, read in one transaction: the cursor checkpoint (its
    // largest value) is only right once every row of the result is loaded.
    RETURN_IF_ERROR(db_.Exec("BEGIN"));
    Status st = [&]() -> Status {
      ASSIGN_OR_RETURN(SqliteStmt stmt, db_.Prepare(opts_.GetString("query")));
      if (sqlite3_bind_parameter_count(stmt.get()) > 0) {
        if (query_cursor_) BindKeyValue(stmt, 1, query_cursor_, query_.cols[static_cast<size_t>(query_cursor_col_)].type);
        else stmt.BindNull(1);
      }
      const bool time = query_cursor_col_ >= 0 && IsTimeType(query_.cols[static_cast<size_t>(query_cursor_col_)].type);
      std::optional<std::string> max_cursor = query_cursor_;
      long double max_rank = CursorRank(max_cursor, time);
      int64_t ordinal = 0;
      RecordBatchBuilder b(query_.all_schema);
      for (;;) {
        if (out.StopRequested()) return Status::Cancelled("stop requested");
        Envelope env;
        bool end = false;
        while (!b.Full() && static_cast<int64_t>(env.rejects.size()) < kBatchRows) {
          ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (!row) {
            end = true;
            break;
          }
          std::vector<Cell> cells = DecodeRow(stmt.get(), query_, b, ordinal++, &env.rejects);
          if (query_cursor_col_ < 0) continue;
          auto v = CellText(cells[static_cast<size_t>(query_cursor_col_)]);
          if (v && (!max_cursor || CursorRank(v, time) > max_rank)) {
            max_rank = CursorRank(v, time);
            max_cursor = std::move(v);
          }
        }
        FinishPage(query_, b, env);
        env.boundary = end;
        env.flush = end;
        if (end) {
          nlohmann::json pos = {{"cursor", max_cursor ? nlohmann::json(*max_cursor) : nlohmann::json(nullptr)}};
          env.positions.push_back({stream_, kQueryKey, pos.dump()});
        }
        if (env.batch || !env.rejects.empty() || end) RETURN_IF_ERROR(out.Emit(std::move(env)));
        if (end) break;
      }
      query_cursor_ = max_cursor;
      return Status::OK();
    }();
    (void)db_.Exec("COMMIT");
    return st;
  });
}

}  // namespace

// Called from RegisterSqliteConnector (sqlite_sink.cc), next to the sink.
void AddSqliteSource(ConnectorRegistry& registry) {
  ConnectorInfo info;
  info.type = "sqlite";
  info.kind = "source";
  info.summary = "SQLite tables (full snapshot, incremental by cursor) or a query, read-only";
  info.delivery = "exactly-once with a transactional sink; resumes per table by key or cursor";
  info.options = SqliteSourceOptions();
  info.make_source = [](const ConnectorContext& ctx, const ConfigNode& block) -> Result<std::unique_ptr<Source>> {
    if (const ConfigNode* mode = block.Find("mode"); mode && mode->IsScalar() && mode->scalar() == "trigger") {
      return MakeSqliteTriggerSource(ctx, block, SqliteSourceOptions());
    }
    auto s = std::make_unique<SqliteSource>(ctx, block);
    RETURN_IF_ERROR(s->Init());
    return std::unique_ptr<Source>(std::move(s));
  };
  registry.Add(std::move(info));
}

}  // namespace sluice
