// The `mysql` source. Its modes (cdc lives in mysql_cdc.cc, trigger in mysql_trigger_source.cc):
//   full         one consistent snapshot of every table (REPEATABLE READ, START TRANSACTION WITH
//                CONSISTENT SNAPSHOT), each read in key order; a checkpoint per table holds the
//                last key read, so a killed run resumes the unfinished table by keyset (in a new
//                snapshot).
//   incremental  keyset pages ordered by (cursor, key), never OFFSET; the checkpoint holds the
//                last (cursor, key) and, with lookback:, the (key, cursor) pairs of the window
//                that is read again, so that the overlap is dropped (counted as skipped).
//   query        the user's query with a :cursor parameter, bound, never interpolated.
// Threading: Open, DescribePlan and Run come from one thread at a time; OnCommitted is not used.

#include <mysql.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <unordered_set>

#include "connectors/mysql/mysql.h"
#include "connectors/mysql/mysql_cdc.h"
#include "connectors/mysql/mysql_conn.h"
#include "connectors/mysql/mysql_reader.h"
#include "connectors/mysql/mysql_trigger_source.h"
#include "connectors/mysql/mysql_types.h"
#include "connectors/sql/incremental_state.h"
#include "connectors/sql/table_patterns.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice::mysql {
namespace {

enum class Mode { kFull, kIncremental, kQuery };
enum class NullCursor { kError, kSkip, kInclude };

constexpr const char* kSnapshotKey = "snapshot";
constexpr const char* kCursorKey = "cursor";

struct SourceConfig {
  ConnOptions conn;
  Mode mode = Mode::kFull;
  std::vector<std::string> tables;  // as written: "t" or "db.t"
  std::vector<std::string> columns;
  std::string cursor;
  std::vector<std::string> key;
  std::string lookback;
  double poll_interval = 0;
  NullCursor null_cursor = NullCursor::kError;
  std::string deleted_flag;
  std::string query;
  std::string initial_cursor;
  bool has_initial_cursor = false;
  std::string stream;
  int64_t page_rows = 10000;
  bool text_protocol = true;
};

// The incremental checkpoint of one table.
struct CursorState {
  bool has = false;
  Value cursor;
  std::vector<Value> key;
  bool null_started = false;  // null_cursor: include: the NULL-cursor rows read up to null_key
  std::vector<Value> null_key;
  // lookback: the (cursor, key) of rows loaded within the window below `cursor`.
  std::vector<std::pair<Value, std::string>> window;
  std::unordered_set<std::string> seen;
};

struct TablePlan {
  std::string stream;
  std::string db, name;
  std::string qualified;  // `db`.`t`
  std::vector<SourceColumn> columns;
  std::vector<size_t> key;  // indexes into columns
  std::string key_from;     // "primary key", "unique index `u`", "key:"
  int cursor = -1;
  int deleted = -1;
  int64_t estimated_rows = 0;
  bool cursor_indexed = false;
  int64_t lookback = 0;  // in the cursor's unit (microseconds, days or the integer)
  // Full mode checkpoint.
  bool done = false;
  std::vector<Value> after;
  CursorState cs;
  SchemaPtr schema;
};

// Decimal texts as the server writes them ("-12.50"), compared by value.
int CompareDecimalText(std::string_view a, std::string_view b) {
  const bool na = !a.empty() && a[0] == '-', nb = !b.empty() && b[0] == '-';
  if (na != nb) return na ? -1 : 1;
  auto split = [](std::string_view s) {
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
    while (s.size() > 1 && s[0] == '0' && s[1] != '.') s.remove_prefix(1);
    size_t dot = s.find('.');
    std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
    while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
    return std::pair{s.substr(0, dot), frac};
  };
  auto [ia, fa] = split(a);
  auto [ib, fb] = split(b);
  int c = ia.size() != ib.size() ? (ia.size() < ib.size() ? -1 : 1)
          : ia.compare(ib) < 0   ? -1
                                 : ia.compare(ib) > 0;
  if (c == 0) c = fa.compare(fb) < 0 ? -1 : fa.compare(fb) > 0;
  return na ? -c : c;
}

int CompareValues(const Value& a, const Value& b, FetchKind kind) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : a.is_null() ? -1 : 1;
  switch (a.kind) {
    case Value::Kind::kUInt: {
      auto x = static_cast<uint64_t>(a.i), y = static_cast<uint64_t>(b.i);
      return x < y ? -1 : x > y;
    }
    case Value::Kind::kDouble:
      return a.d < b.d ? -1 : a.d > b.d;
    case Value::Kind::kText:
    case Value::Kind::kBytes: {
      if (kind == FetchKind::kDecimal || kind == FetchKind::kDecimalText)
        return CompareDecimalText(a.s, b.s);
      int c = a.s.compare(b.s);
      return c < 0 ? -1 : c > 0;
    }
    default:
      return a.i < b.i ? -1 : a.i > b.i;
  }
}

std::string KeyJson(const std::vector<Value>& key) {
  std::string out = "[";
  for (size_t i = 0; i < key.size(); ++i) out += (i ? "," : "") + ValueJson(key[i]);
  return out + "]";
}

std::string Truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return "";
    case Value::Kind::kText:
    case Value::Kind::kBytes: {
      std::string s = ToLower(v.s);
      return s.empty() || s == "0" || s == "false" || s == "f" || s == "n" || s == "no" ? "" : "1";
    }
    case Value::Kind::kDouble:
      return v.d != 0 ? "1" : "";
    case Value::Kind::kInt:
    case Value::Kind::kUInt:
      return v.i != 0 ? "1" : "";
    default:
      return "1";  // a deleted_at date or time that is set
  }
}

// Replaces each :cursor outside quotes and comments by `?`; returns how many.
int BindCursorMarkers(std::string& sql) {
  std::string out;
  int n = 0;
  for (size_t i = 0; i < sql.size();) {
    char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {
      size_t j = i + 1;
      while (j < sql.size() && sql[j] != c) j += sql[j] == '\\' && c != '`' ? 2 : 1;
      out.append(sql, i, std::min(j + 1, sql.size()) - i);
      i = j + 1;
    } else if (sql.compare(i, 2, "--") == 0 || c == '#') {
      size_t j = sql.find('\n', i);
      j = j == std::string::npos ? sql.size() : j;
      out.append(sql, i, j - i);
      i = j;
    } else if (sql.compare(i, 2, "/*") == 0) {
      size_t j = sql.find("*/", i + 2);
      j = j == std::string::npos ? sql.size() : j + 2;
      out.append(sql, i, j - i);
      i = j;
    } else if (sql.compare(i, 7, ":cursor") == 0 &&
               (i + 7 == sql.size() ||
                !(std::isalnum(static_cast<unsigned char>(sql[i + 7])) || sql[i + 7] == '_'))) {
      out += '?';
      ++n;
      i += 7;
    } else {
      out += c;
      ++i;
    }
  }
  sql = std::move(out);
  return n;
}

class Batcher;

class MysqlSource final : public Source {
 public:
  MysqlSource(ConnectorContext ctx, SourceConfig cfg)
      : ctx_(std::move(ctx)), cfg_(std::move(cfg)) {}

  Status Open(const StateMap& committed) override;
  Status Run(Emitter& out) override;
  std::vector<std::string> DescribePlan() override;

 private:
  Status PlanTable(const std::string& spec, const StateMap& committed);
  Result<std::vector<SourceColumn>> TableColumns(TablePlan& t);
  Result<std::vector<std::string>> TableKey(TablePlan& t, std::string* from);
  Status LoadCheckpoint(TablePlan& t, const StateMap& committed);
  Status PlanQuery(const StateMap& committed);
  Status RunFull(Emitter& out);
  Status ReadFull(TablePlan& t, Emitter& out);
  Status RunIncremental(TablePlan& t, Emitter& out);
  Status ReadNullCursorRows(TablePlan& t, Emitter& out, Batcher& batcher);
  Status RunQuery(Emitter& out);
  Status Sleep(Emitter& out);
  std::string SelectList(const TablePlan& t) const;
  std::string KeyList(const TablePlan& t) const;
  std::string KeyAfter(const TablePlan& t) const;  // (k1, k2) > (?, ?)
  std::string CheckpointJson(const TablePlan& t) const;
  std::string PageSql(const TablePlan& t, bool first) const;
  std::vector<Value> PageParams(const TablePlan& t, bool first) const;
  void Warn(const std::string& msg, const std::string& table) const {
    if (ctx_.log) ctx_.log->Warn(msg, {{"source", "mysql"}, {"table", table}});
  }

  ConnectorContext ctx_;
  SourceConfig cfg_;
  std::unique_ptr<Connection> conn_;
  std::vector<TablePlan> tables_;
  // query mode
  std::string query_sql_;
  int query_markers_ = 0;
  std::vector<SourceColumn> query_columns_;
  int query_cursor_ = -1;
  std::optional<Value> query_state_;
  friend class Batcher;
};

// Collects the rows of one table (or query) into batches and emits them with their positions.
class Batcher {
 public:
  Batcher(std::string stream, std::string unit, SchemaPtr schema, Emitter& out)
      : stream_(std::move(stream)), unit_(std::move(unit)), builder_(schema), out_(out) {}
  RecordBatchBuilder& builder() { return builder_; }
  // The row just read by `r`: kept (op 'c'/'u'/'r'/'d' when tombstones are mapped), rejected
  // for `issue`, or skipped.
  void Keep(const RowReader& r, int64_t line, char op) {
    builder_.CommitRow(line);
    if (op) ops_.push_back(op);
    bytes_ += r.row_bytes();
  }
  void Reject(const RowReader& r, const RowIssue& issue, int64_t line) {
    RejectedRow rej;
    rej.stream = stream_;
    rej.origin = unit_ + ":" + std::to_string(line);
    rej.position_key = rej.origin;
    rej.raw = r.RowJson();
    rej.rule = "type";
    rej.column = issue.column;
    rej.reason = issue.reason;
    rejects_.push_back(std::move(rej));
    bytes_ += r.row_bytes();
  }
  // `appended`: the row's values are in the builder (it was not rejected).
  void Skip(const RowReader& r, const std::string& reason, bool appended) {
    if (appended) builder_.RollbackRow();
    ++skipped_;
    skip_reason_ = reason;
    bytes_ += r.row_bytes();
  }
  bool Full() const { return builder_.Full() || rejects_.size() >= 10000; }
  bool Empty() const { return builder_.num_rows() == 0 && rejects_.empty() && skipped_ == 0; }
  // Emits what was collected with `positions`.
  Status Emit(std::vector<SourcePosition> positions, bool boundary, bool flush) {
    Envelope env;
    if (builder_.num_rows() > 0) {
      RecordBatchPtr b = builder_.Finish(stream_, unit_);
      if (!ops_.empty()) {
        auto with_ops = std::make_shared<RecordBatch>(*b);
        with_ops->ops = std::move(ops_);
        b = std::move(with_ops);
      }
      env.batch = std::move(b);
    }
    ops_.clear();
    env.rejects = std::move(rejects_);
    rejects_.clear();
    env.rows_skipped = skipped_;
    env.skip_reason = skip_reason_;
    env.bytes_in = bytes_;
    env.positions = std::move(positions);
    env.boundary = boundary;
    env.flush = flush;
    skipped_ = 0;
    bytes_ = 0;
    return out_.Emit(std::move(env));
  }

 private:
  std::string stream_;
  std::string unit_;
  RecordBatchBuilder builder_;
  Emitter& out_;
  std::vector<char> ops_;
  std::vector<RejectedRow> rejects_;
  int64_t skipped_ = 0;
  std::string skip_reason_;
  uint64_t bytes_ = 0;
};

SchemaPtr SchemaOf(const std::vector<SourceColumn>& cols) {
  std::vector<Field> fields;
  for (const auto& c : cols) fields.push_back({c.name, c.type, c.nullable});
  return std::make_shared<Schema>(std::move(fields));
}

Status MysqlSource::Open(const StateMap& committed) {
  ASSIGN_OR_RETURN(conn_, Connection::Connect(cfg_.conn, Session::kSource));
  if (cfg_.mode == Mode::kQuery) return PlanQuery(committed);
  std::vector<std::string> tables = cfg_.tables;
  if (sql::AnyTablePattern(tables)) {
    // `tables: [shop.order_*]`: base tables and views, the server's own schemas left out.
    ASSIGN_OR_RETURN(auto rows, conn_->Query(
        "SELECT table_schema, table_name, DATABASE() FROM information_schema.tables "
        "WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') "
        "ORDER BY table_schema, table_name"));
    std::vector<sql::CatalogTable> catalog;
    std::string default_schema;
    for (const auto& r : rows) {
      catalog.push_back({r[0].value_or(""), r[1].value_or("")});
      default_schema = r[2].value_or("");
    }
    ASSIGN_OR_RETURN(tables, sql::ExpandTablePatterns(tables, catalog, default_schema, "mysql source tables:"));
  }
  for (const auto& spec : tables) RETURN_IF_ERROR(PlanTable(spec, committed));
  if (cfg_.mode == Mode::kFull &&
      sql::StartFullReadAgain(ctx_.sink_mode, std::all_of(tables_.begin(), tables_.end(),
                                                          [](const TablePlan& t) { return t.done; }))) {
    for (TablePlan& t : tables_) {
      t.done = false;
      t.after.clear();
    }
  }
  return Status::OK();
}

Result<std::vector<SourceColumn>> MysqlSource::TableColumns(TablePlan& t) {
  ASSIGN_OR_RETURN(
      auto rows,
      conn_->Query("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, "
                   "IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND "
                   "TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                   {Value::Text(t.db), Value::Text(t.name)}));
  if (rows.empty()) {
    return Status::Permanent("mysql source: table " + t.qualified +
                             " does not exist (or the user cannot see it)");
  }
  // MariaDB's JSON is LONGTEXT with CHECK (json_valid(`c`)); MySQL 5.7 has no such table.
  std::set<std::string> json_checked;
  auto checks = conn_->Query(
      "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE "
      "CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
      {Value::Text(t.db), Value::Text(t.name)});
  if (checks.ok()) {
    for (const auto& r : *checks) {
      std::string clause = r[0].value_or("");
      if (!StartsWith(ToLower(clause), "json_valid(`") || !EndsWith(clause, "`)")) continue;
      json_checked.insert(ToLower(clause.substr(12, clause.size() - 14)));
    }
  }
  std::vector<SourceColumn> out;
  for (const auto& r : rows) {
    int64_t precision = 0, scale = 0;
    if (r[3]) ParseInt64(*r[3], &precision);
    if (r[4]) ParseInt64(*r[4], &scale);
    const std::string name = r[0].value_or("");
    if (!cfg_.columns.empty()) {
      bool wanted = false;
      for (const auto& c : cfg_.columns) wanted |= ToLower(c) == ToLower(name);
      if (!wanted) continue;
    }
    ASSIGN_OR_RETURN(SourceColumn c,
                     MapColumn(t.qualified, name, r[1].value_or(""), r[2].value_or(""), precision,
                               scale, json_checked.count(ToLower(name)) > 0));
    c.nullable = r[5].value_or("YES") == "YES";
    if (c.fetch == FetchKind::kJson && json_checked.count(ToLower(name)) &&
        ToLower(r[1].value_or("")) != "json") {
      if (ctx_.log) {
        ctx_.log->Info(
            "column read as json: MariaDB stores JSON as LONGTEXT with a json_valid CHECK",
            {{"table", t.qualified}, {"column", name}});
      }
    }
    if (c.fetch == FetchKind::kDecimalText) {
      Warn("column " + QuoteIdent(name) + " is " + c.server_type +
               ": above 38 digits, read as string",
           t.qualified);
    }
    out.push_back(std::move(c));
  }
  for (const auto& want : cfg_.columns) {
    bool found = false;
    for (const auto& c : out) found |= ToLower(c.name) == ToLower(want);
    if (!found)
      return Status::InvalidArgument("source.columns: table " + t.qualified + " has no column '" +
                                     want + "'");
  }
  return out;
}

// The primary key, else the first unique index whose columns are all NOT NULL.
Result<std::vector<std::string>> MysqlSource::TableKey(TablePlan& t, std::string* from) {
  ASSIGN_OR_RETURN(
      auto rows,
      conn_->Query(
          "SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE FROM information_schema.STATISTICS s "
          "JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND "
          "c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME "
          "WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 "
          "ORDER BY s.INDEX_NAME <> 'PRIMARY', s.INDEX_NAME, s.SEQ_IN_INDEX",
          {Value::Text(t.db), Value::Text(t.name)}));
  std::vector<std::string> key;
  std::string index;
  bool nullable = false;
  for (const auto& r : rows) {
    const std::string name = r[0].value_or("");
    if (name != index) {
      if (!index.empty() && !nullable) break;
      index = name;
      key.clear();
      nullable = false;
    }
    key.push_back(r[1].value_or(""));
    nullable |= r[2].value_or("NO") == "YES";
  }
  if (nullable) key.clear();
  *from = index == "PRIMARY" ? "primary key" : "unique index " + QuoteIdent(index);
  return key;
}

Status MysqlSource::PlanTable(const std::string& spec, const StateMap& committed) {
  TablePlan t;
  t.stream = spec;
  auto [db, name] = SplitQualifiedName(spec);
  t.db = db.empty() ? cfg_.conn.dsn.database : db;
  t.name = name;
  t.qualified = QuoteIdent(t.db) + "." + QuoteIdent(t.name);
  ASSIGN_OR_RETURN(t.columns, TableColumns(t));
  auto index_of = [&](const std::string& col) {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (ToLower(t.columns[i].name) == ToLower(col)) return static_cast<int>(i);
    }
    return -1;
  };
  std::vector<std::string> key = cfg_.key;
  t.key_from = "key:";
  if (key.empty()) {
    ASSIGN_OR_RETURN(key, TableKey(t, &t.key_from));
  }
  for (const auto& k : key) {
    int at = index_of(k);
    if (at < 0) {
      return Status::InvalidArgument("source: key column '" + k + "' of table " + t.qualified +
                                     " is not among the columns read (add it to columns:)");
    }
    t.key.push_back(static_cast<size_t>(at));
  }
  if (cfg_.mode == Mode::kIncremental) {
    if (t.key.empty()) {
      return Status::InvalidArgument(
          "source.key: table " + t.qualified +
          " has no primary key nor unique NOT NULL index; incremental mode needs a "
          "tie-breaker key: name its columns with key: [...]");
    }
    t.cursor = index_of(cfg_.cursor);
    if (t.cursor < 0) {
      return Status::InvalidArgument("source.cursor: table " + t.qualified + " has no column '" +
                                     cfg_.cursor + "' among the columns read");
    }
    const FetchKind ck = t.columns[static_cast<size_t>(t.cursor)].fetch;
    if (!cfg_.lookback.empty()) {
      if (ck == FetchKind::kInt) {
        if (!ParseInt64(cfg_.lookback, &t.lookback) || t.lookback < 0) {
          return Status::InvalidArgument(
              "source.lookback: the cursor is an integer: give an integer window, e.g. 1000");
        }
      } else if (ck == FetchKind::kDate || ck == FetchKind::kDateTime ||
                 ck == FetchKind::kTimestamp) {
        auto secs = ConfigNode::Scalar(cfg_.lookback).AsSeconds();
        if (!secs.ok() || *secs < 0) {
          return Status::InvalidArgument(
              "source.lookback: the cursor is a date or time: give a duration, e.g. 10m");
        }
        t.lookback = ck == FetchKind::kDate ? static_cast<int64_t>(*secs / 86400 + 0.999999)
                                            : static_cast<int64_t>(*secs * 1e6);
      } else {
        return Status::InvalidArgument(
            "source.lookback: works with integer, date and time cursors; `" + cfg_.cursor +
            "` is " + t.columns[static_cast<size_t>(t.cursor)].server_type);
      }
    }
    ASSIGN_OR_RETURN(
        auto idx,
        conn_->Query("SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND "
                     "TABLE_NAME = ? AND COLUMN_NAME = ? AND SEQ_IN_INDEX = 1",
                     {Value::Text(t.db), Value::Text(t.name),
                      Value::Text(t.columns[static_cast<size_t>(t.cursor)].name)}));
    t.cursor_indexed = !idx.empty();
  }
  if (!cfg_.deleted_flag.empty()) {
    t.deleted = index_of(cfg_.deleted_flag);
    if (t.deleted < 0) {
      return Status::InvalidArgument("source.deleted_flag: table " + t.qualified +
                                     " has no column '" + cfg_.deleted_flag +
                                     "' among the columns read");
    }
  }
  ASSIGN_OR_RETURN(
      auto est,
      conn_->Query("SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND "
                   "TABLE_NAME = ?",
                   {Value::Text(t.db), Value::Text(t.name)}));
  if (!est.empty() && est[0][0]) ParseInt64(*est[0][0], &t.estimated_rows);
  t.schema = SchemaOf(t.columns);
  RETURN_IF_ERROR(LoadCheckpoint(t, committed));
  tables_.push_back(std::move(t));
  return Status::OK();
}

Status MysqlSource::LoadCheckpoint(TablePlan& t, const StateMap& committed) {
  const bool full = cfg_.mode == Mode::kFull;
  auto it = committed.find({t.stream, full ? kSnapshotKey : kCursorKey});
  if (it == committed.end()) return Status::OK();
  auto bad = [&](const std::string& why) {
    return Status::Corruption("mysql source: the checkpoint of stream '" + t.stream +
                              "' cannot be used (" + why +
                              "); `sluice state reset` starts the stream over");
  };
  auto j = nlohmann::json::parse(it->second, nullptr, false);
  if (!j.is_object()) return bad("not a JSON object");
  auto key_values = [&](const nlohmann::json& arr, std::vector<Value>* out) -> Status {
    if (!arr.is_array() || arr.size() != t.key.size())
      return bad("its key does not match the table's key");
    for (size_t i = 0; i < t.key.size(); ++i) {
      auto v = ValueFromJson(arr[i].dump(), t.columns[t.key[i]].fetch);
      if (!v.ok()) return bad(v.status().message());
      out->push_back(std::move(v).value());
    }
    return Status::OK();
  };
  if (full) {
    t.done = j.value("done", false);
    if (!t.done && j.contains("after")) RETURN_IF_ERROR(key_values(j["after"], &t.after));
    return Status::OK();
  }
  CursorState& cs = t.cs;
  const FetchKind ck = t.columns[static_cast<size_t>(t.cursor)].fetch;
  if (j.contains("cursor")) {
    auto c = ValueFromJson(j["cursor"].dump(), ck);
    if (!c.ok()) return bad(c.status().message());
    cs.cursor = std::move(c).value();
    RETURN_IF_ERROR(key_values(j.value("key", nlohmann::json::array()), &cs.key));
    cs.has = true;
  }
  if (j.contains("null_key")) {
    cs.null_started = true;
    RETURN_IF_ERROR(key_values(j["null_key"], &cs.null_key));
  }
  for (const auto& w : j.value("window", nlohmann::json::array())) {
    if (!w.is_array() || w.size() != 2) return bad("a damaged lookback window");
    auto c = ValueFromJson(w[0].dump(), ck);
    if (!c.ok()) return bad(c.status().message());
    std::string id = w[0].dump() + "|" + w[1].dump();
    cs.seen.insert(id);
    cs.window.emplace_back(std::move(c).value(), std::move(id));
  }
  return Status::OK();
}

Status MysqlSource::PlanQuery(const StateMap& committed) {
  query_sql_ = cfg_.query;
  query_markers_ = BindCursorMarkers(query_sql_);
  ASSIGN_OR_RETURN(auto stmt, Statement::Prepare(*conn_, query_sql_));
  bool has_result = false;
  ASSIGN_OR_RETURN(query_columns_, ResultColumns(*stmt, &has_result));
  if (!has_result) return Status::InvalidArgument("source.query: the statement returns no rows");
  for (size_t i = 0; i < query_columns_.size(); ++i) {
    if (ToLower(query_columns_[i].name) == ToLower(cfg_.cursor))
      query_cursor_ = static_cast<int>(i);
  }
  if (query_markers_ > 0 && query_cursor_ < 0) {
    return Status::InvalidArgument(
        "source.cursor: the query uses :cursor, so cursor: must name the result column it "
        "tracks (columns: " +
        [&] {
          std::string names;
          for (const auto& c : query_columns_) names += (names.empty() ? "" : ", ") + c.name;
          return names;
        }() +
        ")");
  }
  if (!cfg_.deleted_flag.empty()) {
    return Status::InvalidArgument(
        "source.deleted_flag: not supported in mode query; select the rows to load instead");
  }
  if (query_cursor_ < 0) return Status::OK();
  const FetchKind ck = query_columns_[static_cast<size_t>(query_cursor_)].fetch;
  auto it = committed.find({cfg_.stream, kCursorKey});
  if (it != committed.end()) {
    auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (j.is_object() && j.contains("cursor")) {
      auto v = ValueFromJson(j["cursor"].dump(), ck);
      if (!v.ok())
        return v.status().WithContext("mysql source: checkpoint of stream '" + cfg_.stream + "'");
      query_state_ = std::move(v).value();
    }
  } else if (cfg_.has_initial_cursor) {
    // The initial value is text as the user wrote it; it is parsed as the cursor column's type.
    std::string json = ck == FetchKind::kInt || ck == FetchKind::kUInt64 ||
                               ck == FetchKind::kDouble || ck == FetchKind::kFloat ||
                               ck == FetchKind::kBool
                           ? cfg_.initial_cursor
                           : JsonQuote(cfg_.initial_cursor);
    auto v = ValueFromJson(json, ck);
    if (!v.ok()) {
      return Status::InvalidArgument(
          "source.initial_cursor: '" + cfg_.initial_cursor +
          "' is not a value of the cursor's type (" +
          query_columns_[static_cast<size_t>(query_cursor_)].server_type + ")");
    }
    query_state_ = std::move(v).value();
  }
  return Status::OK();
}

std::string MysqlSource::SelectList(const TablePlan& t) const {
  std::string out;
  for (size_t i = 0; i < t.columns.size(); ++i)
    out += (i ? ", " : "") + QuoteIdent(t.columns[i].name);
  return out;
}

std::string MysqlSource::KeyList(const TablePlan& t) const {
  std::string out;
  for (size_t i = 0; i < t.key.size(); ++i)
    out += (i ? ", " : "") + QuoteIdent(t.columns[t.key[i]].name);
  return out;
}

std::string MysqlSource::KeyAfter(const TablePlan& t) const {
  if (t.key.size() == 1) return QuoteIdent(t.columns[t.key[0]].name) + " > ?";
  std::string marks;
  for (size_t i = 0; i < t.key.size(); ++i) marks += i ? ", ?" : "?";
  return "(" + KeyList(t) + ") > (" + marks + ")";
}

// ---------------------------------------------------------------------------------------------
// full

Status MysqlSource::RunFull(Emitter& out) {
  RETURN_IF_ERROR(conn_->Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
  RETURN_IF_ERROR(conn_->Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"));
  for (TablePlan& t : tables_) {
    if (out.StopRequested()) break;
    if (t.done) continue;
    Status st = ReadFull(t, out);
    if (!st.ok()) {
      (void)conn_->Exec("ROLLBACK");
      return st;
    }
  }
  return conn_->Exec("COMMIT");
}

Status MysqlSource::ReadFull(TablePlan& t, Emitter& out) {
  std::string sql = "SELECT " + SelectList(t) + " FROM " + t.qualified;
  if (!t.after.empty()) sql += " WHERE " + KeyAfter(t);
  if (!t.key.empty()) sql += " ORDER BY " + KeyList(t);
  std::unique_ptr<Statement> stmt;
  std::unique_ptr<RowReader> reader;
  if (cfg_.text_protocol && t.after.empty()) {
    if (mysql_real_query(conn_->raw(), sql.data(), sql.size()) != 0)
      return conn_->Error("mysql source " + t.qualified);
    ASSIGN_OR_RETURN(reader, MakeTextReader(*conn_, t.columns));
  } else {
    ASSIGN_OR_RETURN(stmt, Statement::Prepare(*conn_, sql));
    RETURN_IF_ERROR(stmt->Execute(t.after));
    ASSIGN_OR_RETURN(reader, MakeBinaryReader(*stmt, t.columns));
  }
  if (!t.after.empty() && ctx_.log) {
    ctx_.log->Info(
        "resuming the full read of a table after its last committed key (in a new snapshot)",
        {{"table", t.qualified}, {"after", KeyJson(t.after)}});
  }
  // Without a key a table cannot be resumed part way: it is one commit group.
  const bool resumable = !t.key.empty();
  const bool int_key = t.key.size() == 1 && t.columns[t.key[0]].fetch == FetchKind::kInt;
  Batcher batcher(t.stream, t.db + "." + t.name, t.schema, out);
  RowIssue issue;
  int64_t ordinal = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader->Next(batcher.builder(), &issue));
    if (!more) break;
    ++ordinal;
    const int64_t line = int_key ? reader->Get(t.key[0]).i : ordinal;
    if (!issue.column.empty()) {
      batcher.Reject(*reader, issue, line);
    } else {
      char op = t.deleted >= 0
                    ? (Truthy(reader->Get(static_cast<size_t>(t.deleted))).empty() ? 'r' : 'd')
                    : 0;
      batcher.Keep(*reader, line, op);
    }
    if (batcher.Full()) {
      std::vector<SourcePosition> pos;
      if (resumable) {
        std::vector<Value> key;
        for (size_t k : t.key) key.push_back(reader->Get(k));
        pos.push_back({t.stream, kSnapshotKey, "{\"done\":false,\"after\":" + KeyJson(key) + "}"});
      }
      Status st = batcher.Emit(std::move(pos), resumable, false);
      if (!st.ok()) return st;
    }
  }
  reader.reset();
  Status st = batcher.Emit({{t.stream, kSnapshotKey, "{\"done\":true}"}}, true, true);
  if (st.ok()) t.done = true;
  return st;
}

// ---------------------------------------------------------------------------------------------
// incremental

std::string MysqlSource::PageSql(const TablePlan& t, bool first) const {
  const std::string c = QuoteIdent(t.columns[static_cast<size_t>(t.cursor)].name);
  std::string where;
  if (first && !t.cs.has) {
    where = c + " IS NOT NULL";
  } else if (first && t.lookback > 0) {
    where = c + " >= ?";
  } else {
    where = c + " > ? OR (" + c + " = ? AND " + KeyAfter(t) + ")";
  }
  return "SELECT " + SelectList(t) + " FROM " + t.qualified + " WHERE " + where + " ORDER BY " + c +
         ", " + KeyList(t) + " LIMIT ?";
}

Value Minus(const Value& v, int64_t amount) {
  Value out = v;
  out.i -= amount;
  return out;
}

std::string MysqlSource::CheckpointJson(const TablePlan& t) const {
  const CursorState& cs = t.cs;
  std::string out = "{";
  if (cs.has) out += "\"cursor\":" + ValueJson(cs.cursor) + ",\"key\":" + KeyJson(cs.key);
  if (cs.null_started)
    out += std::string(out.size() > 1 ? "," : "") + "\"null_key\":" + KeyJson(cs.null_key);
  if (t.lookback > 0) {
    out += std::string(out.size() > 1 ? "," : "") + "\"window\":[";
    for (size_t i = 0; i < cs.window.size(); ++i) {
      const std::string& id = cs.window[i].second;
      size_t bar = id.find('|');
      out += (i ? ",[" : "[") + id.substr(0, bar) + "," + id.substr(bar + 1) + "]";
    }
    out += "]";
  }
  return out + "}";
}

Status MysqlSource::ReadNullCursorRows(TablePlan& t, Emitter& out, Batcher& batcher) {
  const std::string c = QuoteIdent(t.columns[static_cast<size_t>(t.cursor)].name);
  for (;;) {
    std::string sql = "SELECT " + SelectList(t) + " FROM " + t.qualified + " WHERE " + c +
                      " IS NULL" + (t.cs.null_started ? " AND " + KeyAfter(t) : "") + " ORDER BY " +
                      KeyList(t) + " LIMIT ?";
    std::vector<Value> params = t.cs.null_started ? t.cs.null_key : std::vector<Value>{};
    params.push_back(Value::Int(cfg_.page_rows));
    ASSIGN_OR_RETURN(auto stmt, Statement::Prepare(*conn_, sql));
    RETURN_IF_ERROR(stmt->Execute(params));
    ASSIGN_OR_RETURN(auto reader, MakeBinaryReader(*stmt, t.columns));
    int64_t n = 0;
    RowIssue issue;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, reader->Next(batcher.builder(), &issue));
      if (!more) break;
      ++n;
      if (!issue.column.empty())
        batcher.Reject(*reader, issue, n);
      else
        batcher.Keep(*reader, n,
                     t.deleted >= 0
                         ? (Truthy(reader->Get(static_cast<size_t>(t.deleted))).empty() ? 'u' : 'd')
                         : 0);
      t.cs.null_key.clear();
      for (size_t k : t.key) t.cs.null_key.push_back(reader->Get(k));
      t.cs.null_started = true;
      if (batcher.Full())
        RETURN_IF_ERROR(batcher.Emit({{t.stream, kCursorKey, CheckpointJson(t)}}, true, false));
    }
    if (n < cfg_.page_rows || out.StopRequested()) return Status::OK();
  }
}

// One extraction of table `t`: every row past the checkpoint (and the lookback window again).
Status MysqlSource::RunIncremental(TablePlan& t, Emitter& out) {
  const SourceColumn& cc = t.columns[static_cast<size_t>(t.cursor)];
  const std::string c = QuoteIdent(cc.name);
  if (cfg_.null_cursor != NullCursor::kInclude) {
    ASSIGN_OR_RETURN(auto rows, conn_->Query("SELECT COUNT(*) FROM " + t.qualified + " WHERE " + c +
                                             " IS NULL"));
    int64_t nulls = 0;
    if (!rows.empty() && rows[0][0]) ParseInt64(*rows[0][0], &nulls);
    if (nulls > 0 && cfg_.null_cursor == NullCursor::kError) {
      return Status::Permanent(
          "mysql source: table " + t.qualified + " has " + std::to_string(nulls) +
          " row(s) whose cursor column " + c +
          " is NULL, which an incremental load cannot track; set null_cursor: skip "
          "(leave them out) or include (load them once, by key)");
    }
    if (nulls > 0)
      Warn(std::to_string(nulls) + " row(s) with a NULL cursor are not loaded (null_cursor: skip)",
           t.qualified);
  }
  Batcher batcher(t.stream, t.db + "." + t.name, t.schema, out);
  if (cfg_.null_cursor == NullCursor::kInclude)
    RETURN_IF_ERROR(ReadNullCursorRows(t, out, batcher));
  CursorState& cs = t.cs;
  ASSIGN_OR_RETURN(auto first, Statement::Prepare(*conn_, PageSql(t, true)));
  ASSIGN_OR_RETURN(auto next, Statement::Prepare(*conn_, PageSql(t, false)));
  std::vector<Value> params;
  if (cs.has && t.lookback > 0) {
    params.push_back(Minus(cs.cursor, t.lookback));
  } else if (cs.has) {
    params = {cs.cursor, cs.cursor};
    params.insert(params.end(), cs.key.begin(), cs.key.end());
  }
  params.push_back(Value::Int(cfg_.page_rows));
  Statement* stmt = first.get();
  const bool int_key = t.key.size() == 1 && t.columns[t.key[0]].fetch == FetchKind::kInt;
  int64_t ordinal = 0;
  for (;;) {
    RETURN_IF_ERROR(stmt->Execute(params));
    ASSIGN_OR_RETURN(auto reader, MakeBinaryReader(*stmt, t.columns));
    int64_t n = 0;
    Value last_cursor;
    std::vector<Value> last_key;
    RowIssue issue;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, reader->Next(batcher.builder(), &issue));
      if (!more) break;
      ++n;
      Value cur = reader->Get(static_cast<size_t>(t.cursor));
      std::vector<Value> key;
      for (size_t k : t.key) key.push_back(reader->Get(k));
      const int64_t line = int_key ? key[0].i : ++ordinal;
      std::string id;
      if (t.lookback > 0) id = ValueJson(cur) + "|" + KeyJson(key);
      if (t.lookback > 0 && cs.seen.count(id)) {
        batcher.Skip(*reader, "lookback: already loaded (same key and cursor)",
                     issue.column.empty());
      } else {
        if (!issue.column.empty()) {
          batcher.Reject(*reader, issue, line);
        } else {
          char op = t.deleted >= 0
                        ? (Truthy(reader->Get(static_cast<size_t>(t.deleted))).empty() ? 'u' : 'd')
                        : 0;
          batcher.Keep(*reader, line, op);
        }
        if (t.lookback > 0) {
          cs.seen.insert(id);
          cs.window.emplace_back(cur, id);
        }
      }
      // The checkpoint: the last row read (each page starts past the checkpoint, in order), or
      // with lookback the highest cursor (the window re-read starts below it).
      if (t.lookback == 0 || !cs.has || CompareValues(cur, cs.cursor, cc.fetch) >= 0) {
        cs.cursor = cur;
        cs.key = key;
        cs.has = true;
      }
      last_cursor = cur;
      last_key = std::move(key);
      if (batcher.Full())
        RETURN_IF_ERROR(batcher.Emit({{t.stream, kCursorKey, CheckpointJson(t)}}, true, false));
    }
    reader.reset();
    if (t.lookback > 0 && cs.has) {
      // Forget what fell out of the window.
      const Value floor = Minus(cs.cursor, t.lookback);
      std::vector<std::pair<Value, std::string>> kept;
      for (auto& w : cs.window) {
        if (CompareValues(w.first, floor, cc.fetch) >= 0)
          kept.push_back(std::move(w));
        else
          cs.seen.erase(w.second);
      }
      cs.window = std::move(kept);
    }
    if (n < cfg_.page_rows || out.StopRequested()) break;
    params = {last_cursor, last_cursor};
    params.insert(params.end(), last_key.begin(), last_key.end());
    params.push_back(Value::Int(cfg_.page_rows));
    stmt = next.get();
  }
  return batcher.Emit({{t.stream, kCursorKey, CheckpointJson(t)}}, true, true);
}

// ---------------------------------------------------------------------------------------------
// query

Status MysqlSource::RunQuery(Emitter& out) {
  ASSIGN_OR_RETURN(auto stmt, Statement::Prepare(*conn_, query_sql_));
  std::vector<Value> params(static_cast<size_t>(query_markers_),
                            query_state_.value_or(Value::Null()));
  RETURN_IF_ERROR(stmt->Execute(params));
  ASSIGN_OR_RETURN(auto reader, MakeBinaryReader(*stmt, query_columns_));
  Batcher batcher(cfg_.stream, "query", SchemaOf(query_columns_), out);
  std::optional<Value> max = query_state_;
  const FetchKind ck = query_cursor_ >= 0 ? query_columns_[static_cast<size_t>(query_cursor_)].fetch
                                          : FetchKind::kInt;
  RowIssue issue;
  int64_t n = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader->Next(batcher.builder(), &issue));
    if (!more) break;
    ++n;
    if (!issue.column.empty())
      batcher.Reject(*reader, issue, n);
    else
      batcher.Keep(*reader, n, 0);
    if (query_cursor_ >= 0) {
      Value v = reader->Get(static_cast<size_t>(query_cursor_));
      if (!v.is_null() && (!max || CompareValues(v, *max, ck) > 0)) max = std::move(v);
    }
    // The result may come in any order: only its end is a safe resume point, so the whole
    // result is one commit group.
    if (batcher.Full()) RETURN_IF_ERROR(batcher.Emit({}, false, false));
  }
  reader.reset();
  std::vector<SourcePosition> pos;
  if (max) {
    pos.push_back({cfg_.stream, kCursorKey, "{\"cursor\":" + ValueJson(*max) + "}"});
    query_state_ = max;
  }
  return batcher.Emit(std::move(pos), true, true);
}

Status MysqlSource::Sleep(Emitter& out) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(cfg_.poll_interval);
  while (std::chrono::steady_clock::now() < until) {
    if (out.StopRequested()) return Status::Cancelled("stop requested");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::OK();
}

Status MysqlSource::Run(Emitter& out) {
  Status st;
  if (cfg_.mode == Mode::kFull) {
    st = RunFull(out);
  } else {
    for (;;) {
      if (cfg_.mode == Mode::kQuery) {
        st = RunQuery(out);
      } else {
        for (TablePlan& t : tables_) {
          if (out.StopRequested()) break;
          st = RunIncremental(t, out);
          if (!st.ok()) break;
        }
      }
      if (!st.ok() || cfg_.poll_interval <= 0 || out.StopRequested()) break;
      st = Sleep(out);
      if (!st.ok()) break;
    }
  }
  if (st.IsCancelled()) return Status::OK();
  return st;
}

// ---------------------------------------------------------------------------------------------
// plan

std::vector<std::string> MysqlSource::DescribePlan() {
  std::vector<std::string> lines;
  lines.push_back("mysql " + conn_->describe() + " (" + conn_->server_info() + ")");
  if (cfg_.mode == Mode::kQuery) {
    std::string cols;
    for (const auto& c : query_columns_)
      cols += (cols.empty() ? "" : ", ") + c.name + " " + c.type.ToString();
    lines.push_back("query -> stream " + cfg_.stream + ": " + cols);
    lines.push_back(query_state_ ? "from cursor " + ValueJson(*query_state_)
                                 : "from the start (:cursor is NULL)");
    return lines;
  }
  for (TablePlan& t : tables_) {
    std::string key = t.key.empty() ? "no key" : t.key_from + " (" + KeyList(t) + ")";
    if (cfg_.mode == Mode::kFull) {
      std::string state = t.done ? "done: the read completed; the replace sink swaps it in"
                          : !t.after.empty()
                              ? "resume after key " + KeyJson(t.after) + " (in a new snapshot)"
                              : "new";
      lines.push_back(t.db + "." + t.name + ": full snapshot, ~" +
                      std::to_string(t.estimated_rows) + " rows, " + key + ", " + state);
      if (t.key.empty()) {
        lines.push_back(
            "  warning: no primary key or unique NOT NULL index: the table is read as one commit "
            "group "
            "and an interrupted read starts it over");
      }
      continue;
    }
    const std::string c = t.columns[static_cast<size_t>(t.cursor)].name;
    lines.push_back(t.db + "." + t.name + ": incremental on " + QuoteIdent(c) + ", tie-breaker " +
                    key + ", " +
                    (t.cs.has ? "after cursor " + ValueJson(t.cs.cursor) : "from the start") +
                    (t.lookback > 0 ? ", lookback " + cfg_.lookback : ""));
    if (!t.cursor_indexed) {
      lines.push_back("  warning: no index starts with the cursor column " + QuoteIdent(c) +
                      ": every page scans the table; CREATE INDEX ON " + t.qualified + " (" +
                      QuoteIdent(c) + ", " + KeyList(t) + ")");
    }
    if (t.deleted < 0) {
      lines.push_back("  warning: deletes are not seen (incremental reads see only rows that exist); set "
                      "deleted_flag: for a tombstone column, or use change data capture");
    }
    std::vector<Value> params;
    const bool first = true;
    if (t.cs.has && t.lookback > 0) {
      params.push_back(Minus(t.cs.cursor, t.lookback));
    } else if (t.cs.has) {
      params = {t.cs.cursor, t.cs.cursor};
      params.insert(params.end(), t.cs.key.begin(), t.cs.key.end());
    }
    params.push_back(Value::Int(cfg_.page_rows));
    auto explain = conn_->Query("EXPLAIN " + PageSql(t, first), params);
    if (!explain.ok()) {
      lines.push_back("  EXPLAIN failed: " + explain.status().message());
      continue;
    }
    for (const auto& r : *explain) {
      // id, select_type, table, type, possible_keys, key, key_len, ref, rows, Extra
      if (r.size() < 10) continue;
      lines.push_back("  EXPLAIN page query: type=" + r[3].value_or("NULL") +
                      " key=" + r[5].value_or("NULL") + " rows=" + r[8].value_or("?") +
                      " extra=" + r[9].value_or(""));
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------

const OptionSchema& SourceOptions() {
  static const OptionSchema schema = {
      DsnOptionSpec(),
      MysqlTlsOptionSpec(),
      {"table", OptionType::kString, "",
       "one table to read: name or database.name (each table is one stream)"},
      {"tables", OptionType::kStringList, "",
       "tables to read, each its own stream: [orders, shop.customers]"},
      {"columns", OptionType::kStringList, "",
       "columns to read (default: all); applies to every table"},
      {"mode",
       OptionType::kEnum,
       "full",
       "full: a consistent snapshot of every table; incremental: rows past the checkpoint of "
       "cursor: (and key:); "
       "query: the rows of query:; cdc: change data capture from the MariaDB binlog (snapshot, "
       "then stream); trigger: change data capture by triggers sluice installs (no binlog access "
       "needed)",
       false,
       {"full", "incremental", "query", "cdc", "trigger"}},
      {"cursor", OptionType::kString, "",
       "incremental: the column that grows with every change (updated_at, an id); query: the "
       "result column bound "
       "to :cursor next time"},
      {"key", OptionType::kStringList, "",
       "tie-breaker columns for the cursor (default: the primary key, else a unique NOT NULL "
       "index)"},
      {"lookback", OptionType::kString, "",
       "incremental: read again this window below the checkpoint (a duration such as 10m for time "
       "cursors, a "
       "number for integer ones) to catch rows committed late; rows already loaded are skipped"},
      {"poll_interval", OptionType::kDuration, "",
       "incremental, query and trigger: poll again after this pause until stopped (default: one "
       "extraction)"},
      {"null_cursor",
       OptionType::kEnum,
       "error",
       "rows whose cursor is NULL: error (stop, naming the count), skip (leave them out, with a "
       "warning) or "
       "include (load them once, by key)",
       false,
       {"error", "skip", "include"}},
      {"deleted_flag", OptionType::kString, "",
       "a tombstone column: rows where it is set (non-zero, non-empty, a date) become delete "
       "operations"},
      {"query", OptionType::kString, "",
       "mode query: a SELECT; :cursor in it is bound to the last cursor value"},
      {"initial_cursor", OptionType::kString, "",
       "mode query: the value bound to :cursor on the first run (default: NULL; write `:cursor IS "
       "NULL OR ...`)"},
      {"stream", OptionType::kString, "",
       "mode query: the stream name (default: the pipeline name)"},
      {"page_rows", OptionType::kInt, "10000", "incremental: rows per keyset page"},
      {"protocol",
       OptionType::kEnum,
       "text",
       "mode full: how rows travel: text (mysql_use_result) or binary (prepared statement); see "
       "README "
       "(Performance)",
       false,
       {"text", "binary"}},
      {"stop_at", OptionType::kEnum, "never",
       "cdc: never (stream until stopped) or caught_up (end once the binlog position the server "
       "had at the start is loaded)",
       false,
       {"never", "caught_up"}},
      {"snapshot", OptionType::kEnum, "initial",
       "cdc: initial (copy the tables first, then stream) or never (stream changes from now)",
       false,
       {"initial", "never"}},
      {"start_gtid", OptionType::kString, "",
       "cdc with snapshot: never: the GTID position to stream after (\"0-1-42\"; default: the "
       "server's position when the run starts); ignored once the sink holds a position"},
      {"server_id", OptionType::kInt, "0",
       "cdc: the replica server id shown to the server (unique among its replicas; default: "
       "derived from the pipeline name)"},
      {"page_size", OptionType::kInt, "65536",
       "cdc: rows per chunk of the snapshot (watermarks, README.md \"Initial snapshot\")"},
      {"heartbeat_interval", OptionType::kDuration, "1s",
       "cdc: the server sends a heartbeat after this long without events; the position is "
       "stored and a stop is seen at least this often"},
  };
  return schema;
}

Result<std::unique_ptr<Source>> MakeSource(const ConnectorContext& ctx, const ConfigNode& block) {
  Options o(&block, &SourceOptions());
  const std::string where = block.path().empty() ? "source" : block.path();
  SourceConfig cfg;
  ASSIGN_OR_RETURN(cfg.conn, ParseConnOptions(o, block, ctx.base_dir));
  const std::string mode = o.GetString("mode");
  if (mode == "cdc") {
    CdcConfig cdc;
    cdc.conn = std::move(cfg.conn);
    for (const auto& [k, v] : block.entries()) {
      static const std::set<std::string> kCdcKeys = {
          "type", "dsn", "tls", "mode", "table", "tables", "stop_at", "snapshot", "server_id",
          "heartbeat_interval", "start_gtid", "page_size"};
      if (!kCdcKeys.count(k))
        return Status::InvalidArgument(where + "." + k + ": does not apply to mode: cdc");
    }
    if (o.Has("table")) cdc.tables.push_back(o.GetString("table"));
    for (const auto& t : o.GetList("tables")) cdc.tables.push_back(t);
    if (cdc.tables.empty())
      return Status::InvalidArgument(where + ".tables: mode: cdc needs the tables to capture");
    cdc.stop_at_caught_up = o.GetString("stop_at") == "caught_up";
    cdc.snapshot_initial = o.GetString("snapshot") == "initial";
    cdc.start_gtid = o.GetString("start_gtid");
    GtidSet start;
    if (!GtidSet::Parse(cdc.start_gtid, &start))
      return Status::InvalidArgument(where + ".start_gtid: not a GTID position such as 0-1-42");
    if (!cdc.start_gtid.empty() && cdc.snapshot_initial)
      return Status::InvalidArgument(where + ".start_gtid: only with snapshot: never");
    const int64_t id = o.GetInt("server_id");
    if (id < 0 || id > 4294967295LL)
      return Status::InvalidArgument(where + ".server_id: must be between 1 and 4294967295 (0: derived)");
    cdc.server_id = static_cast<uint32_t>(id);
    cdc.page_size = o.GetInt("page_size");
    if (cdc.page_size < 1) return Status::InvalidArgument(where + ".page_size: must be at least 1");
    cdc.heartbeat_s = o.GetSeconds("heartbeat_interval");
    if (cdc.heartbeat_s <= 0 || cdc.heartbeat_s > 4294967)
      return Status::InvalidArgument(where + ".heartbeat_interval: must be positive");
    return MakeCdcSource(ctx, std::move(cdc));
  }
  if (mode == "trigger") {
    TriggerConfig trig;
    trig.conn = std::move(cfg.conn);
    for (const auto& [k, v] : block.entries()) {
      static const std::set<std::string> kTriggerKeys = {"type", "dsn",    "tls",          "mode",
                                                         "table", "tables", "poll_interval"};
      if (!kTriggerKeys.count(k))
        return Status::InvalidArgument(where + "." + k + ": does not apply to mode: trigger");
    }
    if (o.Has("table")) trig.tables.push_back(o.GetString("table"));
    for (const auto& t : o.GetList("tables")) trig.tables.push_back(t);
    if (o.Has("poll_interval")) trig.poll_interval = o.GetSeconds("poll_interval");
    return MakeTriggerSource(ctx, std::move(trig));
  }
  for (const char* opt :
       {"stop_at", "snapshot", "server_id", "heartbeat_interval", "start_gtid", "page_size"}) {
    if (o.Has(opt)) return Status::InvalidArgument(where + "." + opt + ": only with mode: cdc");
  }
  cfg.mode = mode == "incremental" ? Mode::kIncremental
             : mode == "query"     ? Mode::kQuery
                                   : Mode::kFull;
  if (o.Has("table")) cfg.tables.push_back(o.GetString("table"));
  for (const auto& t : o.GetList("tables")) cfg.tables.push_back(t);
  cfg.columns = o.GetList("columns");
  cfg.cursor = o.GetString("cursor");
  cfg.key = o.GetList("key");
  cfg.lookback = o.GetString("lookback");
  if (o.Has("poll_interval")) cfg.poll_interval = o.GetSeconds("poll_interval");
  const std::string nc = o.GetString("null_cursor");
  cfg.null_cursor = nc == "skip"      ? NullCursor::kSkip
                    : nc == "include" ? NullCursor::kInclude
                                      : NullCursor::kError;
  cfg.deleted_flag = o.GetString("deleted_flag");
  cfg.query = o.GetString("query");
  cfg.has_initial_cursor = o.Has("initial_cursor");
  cfg.initial_cursor = o.GetString("initial_cursor");
  cfg.stream = o.Has("stream") ? o.GetString("stream") : ctx.pipeline;
  cfg.page_rows = o.GetInt("page_rows");
  cfg.text_protocol = o.GetString("protocol") == "text";
  if (cfg.page_rows < 1) return Status::InvalidArgument(where + ".page_rows: must be at least 1");
  if (cfg.mode == Mode::kQuery) {
    if (cfg.query.empty()) return Status::InvalidArgument(where + ".query: required in mode query");
    if (!cfg.tables.empty())
      return Status::InvalidArgument(where + ".table: mode query reads query:, not tables");
    if (cfg.stream.empty())
      return Status::InvalidArgument(where + ".stream: required (the stream name of the rows)");
    return std::unique_ptr<Source>(new MysqlSource(ctx, std::move(cfg)));
  }
  if (!cfg.query.empty()) return Status::InvalidArgument(where + ".query: only with mode: query");
  if (cfg.tables.empty())
    return Status::InvalidArgument(where +
                                   ".table: required: the table to read (or tables: [...])");
  if (o.Has("table") && o.Has("tables"))
    return Status::InvalidArgument(where + ": give table: or tables:, not both");
  if (cfg.mode == Mode::kIncremental && cfg.cursor.empty()) {
    return Status::InvalidArgument(
        where + ".cursor: required in mode incremental: the column that grows with every change");
  }
  if (cfg.mode == Mode::kFull) {
    for (const char* opt : {"cursor", "lookback", "poll_interval"}) {
      if (o.Has(opt))
        return Status::InvalidArgument(where + "." + opt + ": only with mode incremental or query");
    }
  }
  return std::unique_ptr<Source>(new MysqlSource(ctx, std::move(cfg)));
}

}  // namespace

void RegisterMysqlSource(ConnectorRegistry& registry) {
  ConnectorInfo info;
  info.type = "mysql";
  info.kind = "source";
  info.summary =
      "MySQL or MariaDB tables: consistent snapshot, incremental by cursor, a query, or change "
      "data capture (MariaDB binlog)";
  info.delivery = "exactly-once with a transactional sink; resumes by key or cursor";
  info.options = SourceOptions();
  info.make_source = MakeSource;
  registry.Add(std::move(info));
}

}  // namespace sluice::mysql
