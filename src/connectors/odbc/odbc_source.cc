// The `odbc` source: tables or a query of any database with an ODBC driver, through unixODBC.
// Each table is one stream, named as the user wrote it.
//
// mode: full reads each table in key order, page by page (`WHERE key > last ORDER BY key`, never
// OFFSET), inside one read transaction, so its checkpoint is the last key read and a killed run
// resumes after it. mode: incremental pages through `(cursor, key) > (last)` with the values
// bound, and re-reads a lookback window, skipping the rows already loaded. mode: query runs the
// user's SQL with `:cursor` bound to the last checkpointed value. Rows come in blocks of a
// column-wise bound row array (see odbc_fetch.h). See README.md in this folder.

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "connectors/connector.h"
#include "connectors/odbc/odbc_conn.h"
#include "connectors/odbc/odbc_fetch.h"
#include "connectors/odbc/odbc_types.h"
#include "connectors/sql/incremental_state.h"
#include "core/log.h"
#include "core/record_batch.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice {
namespace {

using odbc::BlockReader;
using odbc::ColumnPlan;
using odbc::Connection;
using odbc::ResultColumn;
using odbc::Statement;
using sql::KeyText;

constexpr char kFullKey[] = "full";
constexpr char kIncrementalKey[] = "incremental";
constexpr char kQueryKey[] = "query";

const OptionSchema& OdbcSourceOptions() {
  static const OptionSchema schema = {
      {"dsn",
       OptionType::kString,
       "",
       "An ODBC connection string (Driver=...;Server=...;Database=...;UID=...;PWD=${PASS}) or a "
       "DSN name from "
       "odbc.ini. The PWD=/Password= value is never shown.",
       true,
       {},
       true},
      {"mode",
       OptionType::kEnum,
       "full",
       "full (every row of the tables, resumable by key), incremental (new and changed rows by a "
       "cursor column) "
       "or query (the rows of `query:`).",
       false,
       {"full", "incremental", "query"}},
      {"table", OptionType::kString, "",
       "The table to read (`orders`, `dbo.orders`); its stream is named as written."},
      {"tables", OptionType::kStringList, "",
       "Several tables; each is one stream, named as written."},
      {"columns", OptionType::kStringList, "",
       "The columns to read, in this order. Default: all of them."},
      {"cursor", OptionType::kString, "",
       "[incremental, query] The column that grows with every insert and update: a timestamp, a "
       "date or a number."},
      {"key", OptionType::kStringList, "",
       "[full, incremental] The columns that order and resume the read (after the cursor in "
       "incremental mode), "
       "unique together. Default: the primary key, from SQLPrimaryKeys; required when the driver "
       "has none."},
      {"page_size", OptionType::kInt, "65536", "[full, incremental] Rows per query page."},
      {"lookback", OptionType::kString, "",
       "[incremental] Re-read rows whose cursor is this far below the checkpoint (a duration such "
       "as 5m for a "
       "time cursor, a number for a numeric one), to catch rows written late; rows already loaded "
       "are skipped."},
      {"null_cursor",
       OptionType::kEnum,
       "error",
       "[incremental] Rows whose cursor is NULL: error (stop the run, with their count), skip "
       "(count them as "
       "skipped) or include (load them on every run).",
       false,
       {"error", "skip", "include"}},
      {"query", OptionType::kString, "",
       "[query] The SQL to run. `:cursor` is bound as a parameter (never interpolated) to the last "
       "checkpointed "
       "cursor value, NULL on the first run."},
      {"initial_cursor", OptionType::kString, "",
       "[incremental, query] The cursor value to start from on the first run."},
      {"stream", OptionType::kString, "", "[query] The stream name. Default: the pipeline name."},
  };
  return schema;
}

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

// `sql` with each `:cursor` outside quotes and comments turned into an ODBC `?` marker; `count`
// gets how many there were. Other `:name`s are left alone (`::int` casts among them).
std::string MarkCursorParams(const std::string& sql, int* count) {
  std::string out;
  *count = 0;
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '"' || c == '`' || c == '[') {
      const char close = c == '[' ? ']' : c;
      size_t j = i + 1;
      while (j < sql.size() && sql[j] != close) ++j;
      out.append(sql, i, j + 1 - i);
      i = j + 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      if (j == std::string::npos) j = sql.size();
      out.append(sql, i, j - i);
      i = j;
    } else if (c == ':' && sql.compare(i, 7, ":cursor") == 0 && (i == 0 || sql[i - 1] != ':') &&
               (i + 7 >= sql.size() || !ident(sql[i + 7]))) {
      out += '?';
      ++*count;
      i += 7;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

// A bound parameter: a value's text form and the type of the column it is compared with.
struct Param {
  std::optional<std::string> value;
  DataType type;
};

struct Table {
  std::string name;       // as configured: the stream's name
  std::string qualified;  // quoted with the driver's identifier quote
  std::string db_schema, db_table;
  std::vector<std::string> names, quoted;  // the read columns: output ones, then hidden ones
  std::vector<ColumnPlan> plans;
  std::vector<DataType> types;  // the output types (a declared schema may differ from the plan)
  size_t out_cols = 0;
  SchemaPtr all_schema, schema;
  std::vector<int> key;  // full: the order; incremental: the tie-breakers after the cursor
  int cursor = -1;
  sql::FullState full;
  sql::IncrementalState inc;
  // Read with SQLGetData, one row per fetch: set once a value was longer than its bound buffer.
  bool row_mode = false;

  std::string SelectList() const { return Join(quoted, ", "); }
  // `(c1, c2) op (?, ?)` spelled without row values, which not every database has:
  // c1 > ? OR (c1 = ? AND c2 > ?). `op` is ">" or "<="; its params come from `values`.
  std::string Compare(const std::vector<int>& idx, const std::string& op, const KeyText& values,
                      std::vector<Param>* params) const {
    const std::string strict = op == ">" ? ">" : "<";
    std::string s = "(";
    for (size_t i = 0; i < idx.size(); ++i) {
      s += i ? " OR (" : "(";
      for (size_t k = 0; k < i; ++k) {
        s += quoted[static_cast<size_t>(idx[k])] + " = ? AND ";
        params->push_back({values[k], plans[static_cast<size_t>(idx[k])].type});
      }
      s += quoted[static_cast<size_t>(idx[i])] + " " + (i + 1 == idx.size() ? op : strict) + " ?)";
      params->push_back({values[i], plans[static_cast<size_t>(idx[i])].type});
    }
    return s + ")";
  }
  std::string OrderBy(const std::vector<int>& idx) const {
    std::string s = " ORDER BY ";
    for (size_t i = 0; i < idx.size(); ++i)
      s += (i ? ", " : "") + quoted[static_cast<size_t>(idx[i])];
    return s;
  }
};

class OdbcSource : public Source {
 public:
  OdbcSource(ConnectorContext ctx, const ConfigNode& block)
      : ctx_(std::move(ctx)), block_(block), opts_(&block_, &OdbcSourceOptions()) {}

  Status Init();
  Status Open(const StateMap& committed) override;
  Status Run(Emitter& out) override;
  std::vector<std::string> DescribePlan() override;

 private:
  Status CheckModeOptions();
  std::optional<DataType> Declared(const std::string& stream, const std::string& column) const;
  Status OpenTable(const std::string& name);
  Result<std::vector<ResultColumn>> ResolveTable(Table& t);
  Result<std::vector<std::string>> PrimaryKey(const Table& t);
  Status CheckIncremental(Table& t);
  Result<ColumnPlan> PlanFor(const ResultColumn& c) const;
  Status LoadStates(const StateMap& committed);
  Status OpenQuery(const StateMap& committed);

  std::string Paged(const Table& t, const std::string& where, const std::vector<int>& order) const;
  // Runs `sql` and reads its rows into `b`, emitting an envelope each time `b` fills (with the
  // positions `seal` adds). `visit` sees each row before it is decoded and says whether to keep
  // it. Returns the rows read; `truncated` is set when a value was longer than its buffer (the
  // rows before it are read, the rest of the result is not).
  Result<int64_t> ReadRows(Table& t, const std::string& sql, const std::vector<Param>& params,
                           int64_t limit, RecordBatchBuilder& b, Envelope& env, int64_t* ordinal,
                           Emitter& out, const std::function<bool(BlockReader&, size_t)>& visit,
                           const std::function<void(Envelope&)>& seal, bool* truncated);
  void DecodeRow(BlockReader& rd, size_t r, const Table& t, RecordBatchBuilder& b, int64_t ordinal,
                 std::vector<RejectedRow>* rejects) const;
  void FinishPage(Table& t, RecordBatchBuilder& b, Envelope& env) const;
  KeyText RowKey(BlockReader& rd, size_t r, const std::vector<int>& idx) const;
  std::vector<int> Keyset(const Table& t) const;
  Status TruncatedError(const Table& t) const;

  Status RunFull(Emitter& out);
  Status ReadFullTable(Table& t, Emitter& out);
  Status ReadIncremental(Table& t, Emitter& out);
  Status CountNullCursors(Table& t, Emitter& out);
  Status ReadWindow(Table& t, Emitter& out, int64_t* ordinal);
  Status ReadNewRows(Table& t, Emitter& out, int64_t* ordinal);
  Status ReadNullCursors(Table& t, Emitter& out);
  Status RunQuery(Emitter& out);

  ConnectorContext ctx_;
  ConfigNode block_;
  Options opts_;
  std::string dsn_, shown_dsn_;
  Connection conn_;
  std::string mode_;
  std::vector<std::string> table_names_, columns_, key_;
  std::string cursor_, null_cursor_, initial_cursor_;
  int64_t page_size_ = kBatchRows;
  long double lookback_rank_ = 0;
  bool cursor_is_time_ = false;
  std::vector<Table> tables_;
  // mode: query
  std::string stream_, query_sql_;
  int query_params_ = 0;
  Table query_;
  int query_cursor_col_ = -1;
  std::optional<std::string> query_cursor_;
};

// ---- config ----

Status OdbcSource::Init() {
  dsn_ = opts_.GetString("dsn");
  if (Trim(dsn_).empty())
    return Status::InvalidArgument(block_.Where() +
                                   ": dsn: required (a connection string or DSN name)");
  shown_dsn_ = odbc::RedactConnectionString(dsn_);
  mode_ = opts_.GetString("mode");
  const ConfigNode* table = block_.Find("table");
  const ConfigNode* tables = block_.Find("tables");
  if (table && tables)
    return Status::InvalidArgument(tables->Where() + ": give either table: or tables:, not both");
  if (table) table_names_.push_back(opts_.GetString("table"));
  if (tables) table_names_ = opts_.GetList("tables");
  for (const auto& n : table_names_) {
    if (Trim(n).empty())
      return Status::InvalidArgument((tables ? tables : table)->Where() + ": empty table name");
  }
  if (std::set<std::string>(table_names_.begin(), table_names_.end()).size() !=
      table_names_.size()) {
    return Status::InvalidArgument(tables->Where() + ": a table is listed twice");
  }
  columns_ = opts_.GetList("columns");
  cursor_ = opts_.GetString("cursor");
  key_ = opts_.GetList("key");
  page_size_ = opts_.GetInt("page_size");
  null_cursor_ = opts_.GetString("null_cursor");
  initial_cursor_ = opts_.GetString("initial_cursor");
  stream_ = opts_.GetString("stream");
  if (stream_.empty()) stream_ = ctx_.pipeline;
  if (page_size_ < 1)
    return Status::InvalidArgument(opts_.Node("page_size")->Where() + ": must be at least 1");
  return CheckModeOptions();
}

// Options that do nothing in the chosen mode are errors: silently ignoring `cursor:` in a full
// read would surprise whoever wrote it.
Status OdbcSource::CheckModeOptions() {
  static const std::map<std::string, std::set<std::string>> kOnly = {
      {"full", {"table", "tables", "columns", "key", "page_size"}},
      {"incremental",
       {"table", "tables", "columns", "cursor", "key", "page_size", "lookback", "null_cursor",
        "initial_cursor"}},
      {"query", {"query", "cursor", "initial_cursor", "stream"}},
  };
  static const std::set<std::string> kCommon = {"type", "dsn", "mode"};
  const auto& allowed = kOnly.at(mode_);
  for (const auto& [k, v] : block_.entries()) {
    if (kCommon.count(k) || allowed.count(k)) continue;
    return Status::InvalidArgument(v.Where() + ": '" + k + "' does not apply to mode: " + mode_);
  }
  if (mode_ == "query") {
    if (opts_.GetString("query").empty())
      return Status::InvalidArgument(block_.Where() + ": mode: query needs query:");
  } else if (table_names_.empty()) {
    return Status::InvalidArgument(block_.Where() +
                                   ": name the table to read with table: (or tables:)");
  }
  if (mode_ == "incremental" && cursor_.empty()) {
    return Status::InvalidArgument(block_.Where() +
                                   ": mode: incremental needs cursor: (the column that grows "
                                   "with every insert and update, such as updated_at)");
  }
  return Status::OK();
}

std::optional<DataType> OdbcSource::Declared(const std::string& stream,
                                             const std::string& column) const {
  return DeclaredType(ctx_, stream, column, table_names_.size() <= 1);
}

// ---- open ----

Result<ColumnPlan> OdbcSource::PlanFor(const ResultColumn& c) const {
  ASSIGN_OR_RETURN(ColumnPlan plan,
                   odbc::PlanColumn(c.name, c.sql_type, c.type_name, c.size, c.digits));
  if (conn_.times_as_text() &&
      (plan.fetch == odbc::Fetch::kDate || plan.fetch == odbc::Fetch::kTimestamp)) {
    plan.fetch = odbc::Fetch::kText;  // parsed by core/values; the stored text is the key's text
    plan.width = 64;
  }
  return plan;
}

Status OdbcSource::Open(const StateMap& committed) {
  RETURN_IF_ERROR(conn_.Open(dsn_));
  ctx_.log->Info("odbc: connected", {{"dsn", shown_dsn_}, {"dbms", conn_.dbms()}});
  if (mode_ == "query") return OpenQuery(committed);
  for (const auto& name : table_names_) RETURN_IF_ERROR(OpenTable(name));
  return LoadStates(committed);
}

// A name is first tried whole (a table may have a dot in its name), then as schema.table. Its
// columns come from an empty SELECT, which every driver describes the same way.
Result<std::vector<ResultColumn>> OdbcSource::ResolveTable(Table& t) {
  auto describe = [&](const std::string& qualified) -> Result<std::vector<ResultColumn>> {
    Statement st(conn_);
    RETURN_IF_ERROR(st.Init());
    RETURN_IF_ERROR(st.ExecDirect("SELECT * FROM " + qualified + " WHERE 1 = 0"));
    return odbc::DescribeResult(st);
  };
  ASSIGN_OR_RETURN(std::string whole, conn_.Quote(t.name));
  auto cols = describe(whole);
  if (cols.ok()) {
    t.qualified = whole;
    t.db_table = t.name;
    return cols;
  }
  const size_t dot = t.name.find('.');
  if (dot != std::string::npos) {
    ASSIGN_OR_RETURN(std::string schema, conn_.Quote(t.name.substr(0, dot)));
    ASSIGN_OR_RETURN(std::string table, conn_.Quote(t.name.substr(dot + 1)));
    auto split = describe(schema + "." + table);
    if (split.ok()) {
      t.qualified = schema + "." + table;
      t.db_schema = t.name.substr(0, dot);
      t.db_table = t.name.substr(dot + 1);
      return split;
    }
  }
  if (cols.status().IsTransient()) return cols.status();
  return Status::NotFound("odbc source: table " + JsonQuote(t.name) +
                          " not found or not readable (" + cols.status().message() + ")");
}

// The primary key columns in key order; empty when the driver has no SQLPrimaryKeys or the
// table no primary key.
Result<std::vector<std::string>> OdbcSource::PrimaryKey(const Table& t) {
  Statement st(conn_);
  RETURN_IF_ERROR(st.Init());
  std::u16string schema = odbc::Utf8ToUtf16(t.db_schema), table = odbc::Utf8ToUtf16(t.db_table);
  auto* ws = reinterpret_cast<SQLWCHAR*>(schema.data());
  auto* wt = reinterpret_cast<SQLWCHAR*>(table.data());
  const SQLRETURN rc =
      SQLPrimaryKeysW(st.get(), nullptr, 0, t.db_schema.empty() ? nullptr : ws,
                      t.db_schema.empty() ? 0 : static_cast<SQLSMALLINT>(schema.size()), wt,
                      static_cast<SQLSMALLINT>(table.size()));
  if (!SQL_SUCCEEDED(rc)) {
    ctx_.log->Warn("odbc: the driver lists no primary keys", {{"table", t.name}});
    return std::vector<std::string>{};
  }
  std::vector<std::pair<int64_t, std::string>> cols;
  for (;;) {
    const SQLRETURN f = SQLFetch(st.get());
    if (f == SQL_NO_DATA) break;
    RETURN_IF_ERROR(st.Check(f, "listing the primary key of " + t.name));
    SQLWCHAR name[512] = {};
    SQLLEN len = 0;
    SQLBIGINT seq = 0;
    SQLLEN seq_ind = 0;
    RETURN_IF_ERROR(st.Check(SQLGetData(st.get(), 4, SQL_C_WCHAR, name, sizeof name, &len),
                             "reading the primary key"));
    RETURN_IF_ERROR(st.Check(SQLGetData(st.get(), 5, SQL_C_SBIGINT, &seq, sizeof seq, &seq_ind),
                             "reading the primary key"));
    std::string n;
    if (len > 0)
      odbc::AppendUtf16AsUtf8(reinterpret_cast<const char16_t*>(name),
                              std::min<size_t>(static_cast<size_t>(len) / 2, 511), n);
    cols.emplace_back(seq, n);
  }
  std::sort(cols.begin(), cols.end());
  std::vector<std::string> out;
  for (auto& [seq, n] : cols) out.push_back(std::move(n));
  return out;
}

Status OdbcSource::OpenTable(const std::string& name) {
  Table t;
  t.name = name;
  ASSIGN_OR_RETURN(std::vector<ResultColumn> catalog, ResolveTable(t));
  auto find = [&](const std::string& n) -> const ResultColumn* {
    for (const auto& c : catalog) {
      if (c.name == n) return &c;
    }
    for (const auto& c : catalog) {
      if (ToLower(c.name) == ToLower(n)) return &c;
    }
    return nullptr;
  };
  auto missing = [&](const std::string& what, const std::string& col) {
    std::vector<std::string> names;
    for (const auto& c : catalog) names.push_back(c.name);
    return Status::InvalidArgument(block_.Where() + ": " + what + " " + JsonQuote(col) +
                                   " is not a column of " + t.name +
                                   " (columns: " + Join(names, ", ") + ")");
  };
  std::vector<const ResultColumn*> chosen;
  if (columns_.empty()) {
    for (const auto& c : catalog) chosen.push_back(&c);
  }
  for (const auto& n : columns_) {
    const ResultColumn* c = find(n);
    if (!c) return missing("columns:", n);
    if (std::find(chosen.begin(), chosen.end(), c) != chosen.end()) {
      return Status::InvalidArgument(block_.Where() + ": columns: lists " + JsonQuote(n) +
                                     " twice");
    }
    chosen.push_back(c);
  }
  t.out_cols = chosen.size();
  std::vector<std::string> keys = key_;
  if (keys.empty()) {
    ASSIGN_OR_RETURN(keys, PrimaryKey(t));
  }
  std::vector<std::string> needed = keys;
  if (mode_ == "incremental") needed.push_back(cursor_);
  // Columns the reads need but the user did not select ride along hidden.
  for (const auto& n : needed) {
    const ResultColumn* c = find(n);
    if (!c) return missing(n == cursor_ && mode_ == "incremental" ? "cursor:" : "key:", n);
    if (std::find(chosen.begin(), chosen.end(), c) == chosen.end()) chosen.push_back(c);
  }
  Schema all, out;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const ResultColumn& c = *chosen[i];
    ASSIGN_OR_RETURN(ColumnPlan plan, PlanFor(c));
    const auto declared = i < t.out_cols ? Declared(t.name, c.name) : std::nullopt;
    const DataType type = declared ? *declared : plan.type;
    all.AddField({c.name, type, c.nullable});
    if (i < t.out_cols) out.AddField({c.name, type, c.nullable});
    t.names.push_back(c.name);
    ASSIGN_OR_RETURN(std::string q, conn_.Quote(c.name));
    t.quoted.push_back(std::move(q));
    t.plans.push_back(plan);
    t.types.push_back(type);
  }
  t.all_schema = std::make_shared<Schema>(std::move(all));
  t.schema = std::make_shared<Schema>(std::move(out));
  auto index_of = [&](const std::string& n) {
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (chosen[i] == find(n)) return static_cast<int>(i);
    }
    return -1;
  };
  for (const auto& k : keys) t.key.push_back(index_of(k));
  if (mode_ == "incremental") {
    t.cursor = index_of(cursor_);
    RETURN_IF_ERROR(CheckIncremental(t));
  } else if (t.key.empty()) {
    ctx_.log->Warn(
        "odbc: table has no primary key and no key: was given; a killed read restarts it",
        {{"table", t.name}});
  }
  tables_.push_back(std::move(t));
  return Status::OK();
}

Status OdbcSource::CheckIncremental(Table& t) {
  if (t.key.empty()) {
    return Status::InvalidArgument(
        block_.Where() + ": " + t.name +
        " has no primary key the driver reports; name "
        "the columns that tell rows with the same cursor apart with key:");
  }
  const DataType& type = t.plans[static_cast<size_t>(t.cursor)].type;
  const bool time = IsTimeType(type);
  if (!time && !IsNumberType(type)) {
    return Status::InvalidArgument(block_.Where() + ": cursor " + JsonQuote(cursor_) + " of " +
                                   t.name + " is " + type.ToString() +
                                   "; a cursor is a timestamp, a date or a number");
  }
  if (!tables_.empty() && time != cursor_is_time_) {
    return Status::InvalidArgument(block_.Where() + ": the cursor of " + t.name +
                                   " is not of the same kind as in the other tables");
  }
  cursor_is_time_ = time;
  std::erase(t.key, t.cursor);
  if (t.key.empty())
    return Status::InvalidArgument(block_.Where() + ": key: must name columns besides the cursor");
  if (const ConfigNode* lb = opts_.Node("lookback"); lb && lookback_rank_ == 0) {
    const std::string text = opts_.GetString("lookback");
    if (time) {
      auto s = ParseDurationSeconds(text);
      if (!s.ok() || *s < 0)
        return Status::InvalidArgument(lb->Where() + ": a duration such as 10m, for a time cursor");
      lookback_rank_ = static_cast<long double>(*s) * 1e6L;
    } else {
      double v = 0;
      if (!ParseFloat64(text, &v) || v < 0 || !std::isfinite(v)) {
        return Status::InvalidArgument(lb->Where() +
                                       ": a non-negative number, for a numeric cursor");
      }
      lookback_rank_ = v;
    }
  }
  return Status::OK();
}

Status OdbcSource::LoadStates(const StateMap& committed) {
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
        return Status::Corruption("odbc source: checkpoint of " + t.name +
                                  " is not a full-mode position: " + it->second);
      }
      t.full = std::move(*s);
      if (t.full.ranges[0].last && t.full.ranges[0].last->size() != t.key.size()) {
        return Status::InvalidArgument("odbc source: the checkpoint of " + t.name +
                                       " was written with another key; "
                                       "reset it with `sluice state reset`");
      }
      continue;
    }
    auto s = sql::IncrementalState::FromJson(
        it->second, [&](const std::string& v) { return CursorRank(v, cursor_is_time_); });
    if (!s) {
      return Status::Corruption("odbc source: checkpoint of " + t.name +
                                " is not an incremental position: " + it->second);
    }
    t.inc = std::move(*s);
    if (t.inc.last && t.inc.last->size() != 1 + t.key.size()) {
      return Status::InvalidArgument("odbc source: the checkpoint of " + t.name +
                                     " was written with another "
                                     "cursor or key; reset it with `sluice state reset`");
    }
  }
  if (mode_ == "full" &&
      sql::StartFullReadAgain(ctx_.sink_mode, std::all_of(tables_.begin(), tables_.end(),
                                                          [](const Table& t) { return t.full.Done(); }))) {
    for (Table& t : tables_) t.full.ranges.assign(1, sql::RangeState{});
  }
  return Status::OK();
}

Status OdbcSource::OpenQuery(const StateMap& committed) {
  query_sql_ = MarkCursorParams(opts_.GetString("query"), &query_params_);
  Statement st(conn_);
  RETURN_IF_ERROR(st.Init());
  RETURN_IF_ERROR(st.Prepare(query_sql_));
  ASSIGN_OR_RETURN(std::vector<ResultColumn> cols, odbc::DescribeResult(st));
  if (cols.empty())
    return Status::InvalidArgument(opts_.Node("query")->Where() +
                                   ": the query returns no columns (a SELECT is needed)");
  Table& q = query_;
  q.name = stream_;
  Schema schema;
  for (size_t i = 0; i < cols.size(); ++i) {
    const ResultColumn& c = cols[i];
    ASSIGN_OR_RETURN(ColumnPlan plan, PlanFor(c));
    const auto declared = Declared(stream_, c.name);
    const DataType type = declared ? *declared : plan.type;
    schema.AddField({c.name, type, true});
    if (c.name == cursor_) query_cursor_col_ = static_cast<int>(i);
    q.names.push_back(c.name);
    q.plans.push_back(plan);
    q.types.push_back(type);
    // No key to resume from: a value longer than a guessed buffer must not end the read.
    if (!plan.bounded) q.row_mode = true;
  }
  q.out_cols = q.names.size();
  q.schema = q.all_schema = std::make_shared<Schema>(std::move(schema));
  if (!cursor_.empty() && query_cursor_col_ < 0) {
    return Status::InvalidArgument(opts_.Node("cursor")->Where() + ": " + JsonQuote(cursor_) +
                                   " is not a column of the query's result");
  }
  if (query_params_ > 0 && cursor_.empty()) {
    return Status::InvalidArgument(
        block_.Where() +
        ": a query that uses :cursor needs cursor: (the result column it follows)");
  }
  if (!initial_cursor_.empty()) query_cursor_ = initial_cursor_;
  if (auto it = committed.find({stream_, kQueryKey}); it != committed.end()) {
    auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (!j.is_object() || !j.contains("cursor")) {
      return Status::Corruption("odbc source: checkpoint of " + stream_ +
                                " is not a query position: " + it->second);
    }
    if (j["cursor"].is_string()) query_cursor_ = j["cursor"].get<std::string>();
  }
  return Status::OK();
}

std::vector<std::string> OdbcSource::DescribePlan() {
  std::vector<std::string> lines = {"odbc " + shown_dsn_ + " (" + conn_.dbms() + ")"};
  if (mode_ == "query") {
    lines.push_back("query -> stream " + stream_ + " (" + std::to_string(query_.names.size()) +
                    " columns)" + (query_cursor_ ? ", :cursor = " + *query_cursor_ : ""));
    return lines;
  }
  for (const Table& t : tables_) {
    std::vector<std::string> key;
    for (int k : t.key) key.push_back(t.names[static_cast<size_t>(k)]);
    std::string line = "table " + t.name + ": " + std::to_string(t.out_cols) + " columns, " +
                       (key.empty() ? std::string("no key (a killed read restarts the table)")
                                    : "key [" + Join(key, ", ") + "]");
    if (mode_ == "incremental")
      line += t.inc.last ? ", resumes after cursor " + (*t.inc.last)[0].value_or("NULL")
                         : ", first run";
    lines.push_back(std::move(line));
  }
  return lines;
}

// ---- reading rows ----

std::vector<int> OdbcSource::Keyset(const Table& t) const {
  std::vector<int> ks = {t.cursor};
  ks.insert(ks.end(), t.key.begin(), t.key.end());
  return ks;
}

KeyText OdbcSource::RowKey(BlockReader& rd, size_t r, const std::vector<int>& idx) const {
  KeyText k;
  for (int i : idx) k.push_back(rd.Text(r, static_cast<size_t>(i)));
  return k;
}

// A page query: `where` and `order` with the row limit spelled as the database wants it.
std::string OdbcSource::Paged(const Table& t, const std::string& where,
                              const std::vector<int>& order) const {
  const std::string n = std::to_string(page_size_);
  const bool top = conn_.dialect() == odbc::Dialect::kTop;
  std::string sql = "SELECT " + (top ? "TOP " + n + " " : std::string()) + t.SelectList() +
                    " FROM " + t.qualified;
  if (!where.empty()) sql += " WHERE " + where;
  sql += t.OrderBy(order);
  if (conn_.dialect() == odbc::Dialect::kLimit) sql += " LIMIT " + n;
  if (conn_.dialect() == odbc::Dialect::kFetchFirst) sql += " FETCH FIRST " + n + " ROWS ONLY";
  return sql;
}

void OdbcSource::DecodeRow(BlockReader& rd, size_t r, const Table& t, RecordBatchBuilder& b,
                           int64_t ordinal, std::vector<RejectedRow>* rejects) const {
  for (size_t i = 0; i < t.plans.size(); ++i) {
    const std::string why = rd.Append(r, i, t.types[i], b.column(i));
    if (why.empty()) continue;
    b.RollbackRow();
    RejectedRow rej;
    rej.stream = t.name;
    rej.rule = "type";
    rej.column = t.names[i];
    rej.reason = t.names[i] + ": " + why;
    nlohmann::json raw = nlohmann::json::object();
    for (size_t k = 0; k < t.plans.size(); ++k) {
      auto v = rd.Text(r, k);
      raw[t.names[k]] = !v                ? nlohmann::json(nullptr)
                        : IsValidUtf8(*v) ? nlohmann::json(*v)
                                          : nlohmann::json("<binary>");
    }
    rej.raw = raw.dump();
    if (t.key.empty()) {
      rej.origin = t.name + " row " + std::to_string(ordinal + 1);
      rej.position_key = t.name + "#" + std::to_string(ordinal);
    } else {
      nlohmann::json key = nlohmann::json::array();
      for (const auto& v : RowKey(rd, r, t.key))
        key.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
      rej.origin = t.name + " key " + key.dump();
      rej.position_key = t.name + "#" + key.dump();
    }
    rejects->push_back(std::move(rej));
    return;
  }
  b.CommitRow(ordinal + 1);
}

void OdbcSource::FinishPage(Table& t, RecordBatchBuilder& b, Envelope& env) const {
  if (b.num_rows() == 0) return;
  RecordBatchPtr batch = b.Finish(t.name, t.name);
  if (t.out_cols != t.plans.size()) {
    std::vector<ColumnPtr> keep(batch->columns().begin(),
                                batch->columns().begin() + static_cast<long>(t.out_cols));
    auto projected = std::make_shared<RecordBatch>(t.schema, std::move(keep), batch->num_rows());
    projected->stream = batch->stream;
    projected->origin_unit = batch->origin_unit;
    projected->origin_lines = batch->origin_lines;
    batch = projected;
  }
  env.bytes_in += batch->ByteSize();
  env.batch = std::move(batch);
}

Status OdbcSource::TruncatedError(const Table& t) const {
  return Status::Permanent(
      "odbc source: a value of " + t.name +
      " is longer than the size the driver declares for "
      "its column, and the read cannot resume by key to read it whole; give the table a key: "
      "or CAST the column to a wider type in a query:");
}

Result<int64_t> OdbcSource::ReadRows(Table& t, const std::string& sql,
                                     const std::vector<Param>& params, int64_t limit,
                                     RecordBatchBuilder& b, Envelope& env, int64_t* ordinal,
                                     Emitter& out,
                                     const std::function<bool(BlockReader&, size_t)>& visit,
                                     const std::function<void(Envelope&)>& seal, bool* truncated) {
  *truncated = false;
  Statement st(conn_);
  RETURN_IF_ERROR(st.Init());
  RETURN_IF_ERROR(st.Prepare(sql));
  for (size_t i = 0; i < params.size(); ++i) {
    RETURN_IF_ERROR(st.BindParam(static_cast<int>(i + 1), params[i].value, params[i].type));
  }
  RETURN_IF_ERROR(st.Execute());
  BlockReader rd;
  RETURN_IF_ERROR(
      rd.Bind(st, t.plans, static_cast<size_t>(std::max<int64_t>(1, limit)), t.row_mode));
  int64_t rows = 0;
  for (;;) {
    if (out.StopRequested()) return rows;
    ASSIGN_OR_RETURN(size_t n, rd.Fetch());
    if (n == 0) return rows;
    for (size_t r = 0; r < n; ++r) {
      if (rd.RowTruncated(r)) {
        // Widen the columns that overflowed (twice what this value needs), or, past the
        // largest bound width, read the rest row by row; the caller re-reads from the last key.
        for (size_t c : rd.TruncatedColumns(r)) {
          const size_t need = rd.NeededBytes(r, c);
          ColumnPlan& p = t.plans[c];
          if (need == 0 || need > odbc::kMaxBoundBytes) {
            t.row_mode = true;
          } else {
            p.width =
                std::min(odbc::kMaxBoundBytes, std::max(2 * need, 2 * p.width) + 1) & ~size_t{1};
          }
        }
        *truncated = true;
        return rows;
      }
      ++rows;
      if (visit && !visit(rd, r)) continue;
      DecodeRow(rd, r, t, b, (*ordinal)++, &env.rejects);
      if (b.Full() || static_cast<int64_t>(env.rejects.size()) >= kBatchRows) {
        FinishPage(t, b, env);
        seal(env);
        RETURN_IF_ERROR(out.Emit(std::move(env)));
        env = Envelope();
      }
    }
  }
}

Status OdbcSource::Run(Emitter& out) {
  if (mode_ == "full") return RunFull(out);
  if (mode_ == "query") return RunQuery(out);
  for (Table& t : tables_) {
    if (out.StopRequested()) return Status::OK();
    RETURN_IF_ERROR(ReadIncremental(t, out));
  }
  return Status::OK();
}

// ---- mode: full ----

Status OdbcSource::RunFull(Emitter& out) {
  // One read transaction over every table; repeatable read makes it one snapshot where the
  // database offers that (PostgreSQL); elsewhere each page sees the rows committed before it.
  if (!conn_.SetRepeatableRead())
    ctx_.log->Info("odbc: the driver refused repeatable read; pages see the latest rows");
  RETURN_IF_ERROR(conn_.SetAutocommit(false));
  Status st;
  for (Table& t : tables_) {
    st = ReadFullTable(t, out);
    if (!st.ok() || out.StopRequested()) break;
  }
  (void)conn_.EndTransaction(st.ok());
  (void)conn_.SetAutocommit(true);
  return st;
}

Status OdbcSource::ReadFullTable(Table& t, Emitter& out) {
  sql::RangeState& r = t.full.ranges[0];
  if (r.done) return Status::OK();
  const bool keyed = !t.key.empty();
  int64_t ordinal = r.rows;
  RecordBatchBuilder b(t.all_schema);
  if (!keyed) {
    // No key to page or resume by: one statement, and no commit may end inside it.
    for (const auto& p : t.plans) t.row_mode = t.row_mode || !p.bounded;
    Envelope env;
    bool truncated = false;
    ASSIGN_OR_RETURN(int64_t rows, ReadRows(
                                       t, "SELECT " + t.SelectList() + " FROM " + t.qualified, {},
                                       kBatchRows, b, env, &ordinal, out, nullptr,
                                       [](Envelope& e) { e.boundary = false; }, &truncated));
    if (truncated) return TruncatedError(t);
    if (out.StopRequested()) return Status::OK();
    r.rows += rows;
    r.done = true;
    FinishPage(t, b, env);
    env.flush = true;
    env.positions.push_back({t.name, kFullKey, t.full.ToJson()});
    RETURN_IF_ERROR(out.Emit(std::move(env)));
    ctx_.log->Info("odbc: table read", {{"table", t.name}, {"rows", std::to_string(r.rows)}});
    return Status::OK();
  }
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    std::vector<Param> params;
    const std::string where = r.last ? t.Compare(t.key, ">", *r.last, &params) : "";
    Envelope env;
    bool truncated = false;
    auto seal = [&](Envelope& e) { e.positions.push_back({t.name, kFullKey, t.full.ToJson()}); };
    ASSIGN_OR_RETURN(int64_t rows,
                     ReadRows(
                         t, Paged(t, where, t.key), params, page_size_, b, env, &ordinal, out,
                         [&](BlockReader& rd, size_t i) {
                           r.last = RowKey(rd, i, t.key);
                           ++r.rows;
                           return true;
                         },
                         seal, &truncated));
    if (out.StopRequested()) return Status::OK();
    if (truncated) {
      ctx_.log->Debug(
          "odbc: a value is longer than its bound buffer; widened, reading again from the last key",
          {{"table", t.name}, {"row_by_row", t.row_mode ? "yes" : "no"}});
    }
    const bool end = !truncated && rows < page_size_;
    r.done = end;
    FinishPage(t, b, env);
    env.flush = end;
    seal(env);
    RETURN_IF_ERROR(out.Emit(std::move(env)));
    if (end) {
      ctx_.log->Info("odbc: table read", {{"table", t.name}, {"rows", std::to_string(r.rows)}});
      return Status::OK();
    }
  }
}

// ---- mode: incremental ----

Status OdbcSource::ReadIncremental(Table& t, Emitter& out) {
  if (null_cursor_ != "include") RETURN_IF_ERROR(CountNullCursors(t, out));
  int64_t ordinal = 0;
  if (t.inc.last && lookback_rank_ > 0) RETURN_IF_ERROR(ReadWindow(t, out, &ordinal));
  RETURN_IF_ERROR(ReadNewRows(t, out, &ordinal));
  if (null_cursor_ == "include") RETURN_IF_ERROR(ReadNullCursors(t, out));
  return Status::OK();
}

Status OdbcSource::CountNullCursors(Table& t, Emitter& out) {
  Statement st(conn_);
  RETURN_IF_ERROR(st.Init());
  RETURN_IF_ERROR(st.ExecDirect("SELECT COUNT(*) FROM " + t.qualified + " WHERE " +
                                t.quoted[static_cast<size_t>(t.cursor)] + " IS NULL"));
  SQLBIGINT count = 0;
  SQLLEN ind = 0;
  RETURN_IF_ERROR(st.Check(SQLFetch(st.get()), "counting NULL cursors"));
  RETURN_IF_ERROR(st.Check(SQLGetData(st.get(), 1, SQL_C_SBIGINT, &count, sizeof count, &ind),
                           "counting NULL cursors"));
  if (count == 0) return Status::OK();
  if (null_cursor_ == "error") {
    return Status::Permanent(
        "odbc source: " + std::to_string(count) + " row(s) of " + t.name + " have a NULL " +
        cursor_ +
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
Status OdbcSource::ReadWindow(Table& t, Emitter& out, int64_t* ordinal) {
  const std::vector<int> ks = Keyset(t);
  const KeyText last = *t.inc.last;
  const long double floor = CursorRank(last[0], cursor_is_time_) - lookback_rank_;
  const DataType& ctype = t.plans[static_cast<size_t>(t.cursor)].type;
  // The window's lower bound as a value of the cursor's type, a little wide; ranks decide exactly.
  std::string lower;
  if (cursor_is_time_) {
    const auto us = static_cast<int64_t>(std::floor(floor));
    lower = ctype.id == TypeId::kDate
                ? FormatDate(static_cast<int32_t>(std::floor(floor / 86400e6L)))
                : FormatTimestamp(us, false);
  } else {
    lower = ctype.id == TypeId::kInt64 ? std::to_string(static_cast<int64_t>(std::floor(floor)))
                                       : FormatFloat64(static_cast<double>(floor));
  }
  std::optional<KeyText> after;
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    std::vector<Param> params = {{lower, ctype}};
    std::string where =
        t.quoted[static_cast<size_t>(t.cursor)] + " >= ? AND " + t.Compare(ks, "<=", last, &params);
    if (after) where += " AND " + t.Compare(ks, ">", *after, &params);
    RecordBatchBuilder b(t.all_schema);
    Envelope env;
    int64_t skipped = 0;
    bool truncated = false;
    auto seal = [&](Envelope& e) {
      e.positions.push_back({t.name, kIncrementalKey, t.inc.ToJson()});
    };
    ASSIGN_OR_RETURN(int64_t rows,
                     ReadRows(
                         t, Paged(t, where, ks), params, page_size_, b, env, ordinal, out,
                         [&](BlockReader& rd, size_t i) {
                           KeyText row = RowKey(rd, i, ks);
                           const long double rank = CursorRank(row[0], cursor_is_time_);
                           after = row;
                           if (rank < floor) return false;
                           if (t.inc.Seen(row)) {
                             ++skipped;
                             return false;
                           }
                           t.inc.Remember(row, rank);
                           return true;
                         },
                         seal, &truncated));
    if (out.StopRequested()) return Status::OK();
    FinishPage(t, b, env);
    env.rows_skipped = skipped;
    if (skipped > 0)
      env.skip_reason =
          "already loaded (re-read within lookback: " + opts_.GetString("lookback") + ")";
    seal(env);
    RETURN_IF_ERROR(out.Emit(std::move(env)));
    if (!truncated && rows < page_size_) return Status::OK();
  }
}

Status OdbcSource::ReadNewRows(Table& t, Emitter& out, int64_t* ordinal) {
  const std::vector<int> ks = Keyset(t);
  const DataType& ctype = t.plans[static_cast<size_t>(t.cursor)].type;
  const std::string& cursor = t.quoted[static_cast<size_t>(t.cursor)];
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    std::vector<Param> params;
    std::string where;
    if (t.inc.last) {
      where = t.Compare(ks, ">", *t.inc.last, &params);
    } else {
      where = cursor + " IS NOT NULL";
      if (!initial_cursor_.empty()) {
        where += " AND " + cursor + " >= ?";
        params.push_back({initial_cursor_, ctype});
      }
    }
    RecordBatchBuilder b(t.all_schema);
    Envelope env;
    bool truncated = false;
    auto seal = [&](Envelope& e) {
      e.positions.push_back({t.name, kIncrementalKey, t.inc.ToJson()});
    };
    ASSIGN_OR_RETURN(int64_t rows,
                     ReadRows(
                         t, Paged(t, where, ks), params, page_size_, b, env, ordinal, out,
                         [&](BlockReader& rd, size_t i) {
                           KeyText row = RowKey(rd, i, ks);
                           if (lookback_rank_ > 0)
                             t.inc.Remember(row, CursorRank(row[0], cursor_is_time_));
                           t.inc.last = std::move(row);
                           return true;
                         },
                         seal, &truncated));
    if (out.StopRequested()) return Status::OK();
    if (t.inc.last && lookback_rank_ > 0)
      t.inc.ForgetBelow(CursorRank((*t.inc.last)[0], cursor_is_time_) - lookback_rank_);
    const bool end = !truncated && rows < page_size_;
    FinishPage(t, b, env);
    seal(env);
    env.flush = end;
    if (rows > 0 || end) RETURN_IF_ERROR(out.Emit(std::move(env)));
    if (end) return Status::OK();
  }
}

// null_cursor: include: the rows without a cursor, by key, on every run.
Status OdbcSource::ReadNullCursors(Table& t, Emitter& out) {
  std::optional<KeyText> after;
  int64_t ordinal = 0;
  const std::string null_where = t.quoted[static_cast<size_t>(t.cursor)] + " IS NULL";
  for (;;) {
    if (out.StopRequested()) return Status::OK();
    std::vector<Param> params;
    std::string where = null_where;
    if (after) where += " AND " + t.Compare(t.key, ">", *after, &params);
    RecordBatchBuilder b(t.all_schema);
    Envelope env;
    bool truncated = false;
    auto seal = [&](Envelope& e) {
      e.positions.push_back({t.name, kIncrementalKey, t.inc.ToJson()});
    };
    ASSIGN_OR_RETURN(int64_t rows,
                     ReadRows(
                         t, Paged(t, where, t.key), params, page_size_, b, env, &ordinal, out,
                         [&](BlockReader& rd, size_t i) {
                           after = RowKey(rd, i, t.key);
                           return true;
                         },
                         seal, &truncated));
    if (out.StopRequested()) return Status::OK();
    const bool end = !truncated && rows < page_size_;
    FinishPage(t, b, env);
    seal(env);
    env.flush = end;
    if (rows > 0 || end) RETURN_IF_ERROR(out.Emit(std::move(env)));
    if (end) return Status::OK();
  }
}

// ---- mode: query ----

Status OdbcSource::RunQuery(Emitter& out) {
  // The whole result is one commit group: the cursor checkpoint (its largest value) is only
  // right once every row of the result is loaded.
  Table& q = query_;
  std::vector<Param> params;
  const DataType ctype = query_cursor_col_ >= 0
                             ? q.plans[static_cast<size_t>(query_cursor_col_)].type
                             : DataType::String();
  for (int i = 0; i < query_params_; ++i) params.push_back({query_cursor_, ctype});
  const bool time = query_cursor_col_ >= 0 && IsTimeType(ctype);
  std::optional<std::string> max_cursor = query_cursor_;
  long double max_rank = CursorRank(max_cursor, time);
  int64_t ordinal = 0;
  RecordBatchBuilder b(q.all_schema);
  Envelope env;
  bool truncated = false;
  ASSIGN_OR_RETURN(int64_t rows, ReadRows(
                                     q, query_sql_, params, kBatchRows, b, env, &ordinal, out,
                                     [&](BlockReader& rd, size_t i) {
                                       if (query_cursor_col_ < 0) return true;
                                       auto v = rd.Text(i, static_cast<size_t>(query_cursor_col_));
                                       if (v && (!max_cursor || CursorRank(v, time) > max_rank)) {
                                         max_rank = CursorRank(v, time);
                                         max_cursor = std::move(v);
                                       }
                                       return true;
                                     },
                                     [](Envelope& e) { e.boundary = false; }, &truncated));
  (void)rows;
  if (truncated) return TruncatedError(q);
  if (out.StopRequested()) return Status::Cancelled("stop requested");
  FinishPage(q, b, env);
  env.flush = true;
  nlohmann::json pos = {
      {"cursor", max_cursor ? nlohmann::json(*max_cursor) : nlohmann::json(nullptr)}};
  env.positions.push_back({stream_, kQueryKey, pos.dump()});
  RETURN_IF_ERROR(out.Emit(std::move(env)));
  query_cursor_ = max_cursor;
  return Status::OK();
}

}  // namespace

void RegisterOdbcConnector(ConnectorRegistry& registry) {
  ConnectorInfo info;
  info.type = "odbc";
  info.kind = "source";
  info.summary =
      "Any database with an ODBC driver (SQL Server, Oracle, DB2 ...): tables (full, incremental) "
      "or a query";
  info.delivery = "exactly-once with a transactional sink; resumes per table by key or cursor";
  info.options = OdbcSourceOptions();
  info.make_source = [](const ConnectorContext& ctx,
                        const ConfigNode& block) -> Result<std::unique_ptr<Source>> {
    auto s = std::make_unique<OdbcSource>(ctx, block);
    RETURN_IF_ERROR(s->Init());
    return std::unique_ptr<Source>(std::move(s));
  };
  registry.Add(std::move(info));
}

}  // namespace sluice
