// `mode: trigger` on the sqlite source. SQLite has no change log a reader could follow, so the
// source installs triggers that copy every insert, update and delete, with the whole row, into a
// log table per source table (`_sluice_log_<table>`, columns without a declared type, so every
// value keeps its storage class). One counter row (`_sluice_cdc_seq`) numbers the changes of all
// tables in write order.
//
// A run reads, in one read transaction, every change numbered above the checkpoint and at most
// the counter's value at its start, table by table, and ends the commit group there. The group
// therefore holds whole source transactions: a reader only sees committed writes, and the
// counter is read in the same snapshot. The checkpoint is that counter value. Log rows at or
// below a committed checkpoint are deleted when the source opens and between polls.

#include "connectors/sqlite/sqlite_trigger_source.h"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "connectors/sql/table_patterns.h"
#include "connectors/sqlite/sqlite_cells.h"
#include "core/log.h"
#include "core/record_batch.h"
#include "core/strings.h"
#include "state/sqlite_db.h"

namespace sluice {
namespace {

using sqlite_cells::AppendCell;
using sqlite_cells::Cell;
using sqlite_cells::ReadCells;
using sqlite_cells::TypeOfDeclared;

constexpr char kPositionKey[] = "trigger";
constexpr char kCounterTable[] = "_sluice_cdc_seq";
constexpr char kLogPrefix[] = "_sluice_log_";

struct TriggerTable {
  std::string name;                  // as configured: the stream's name
  std::string schema, table;         // unquoted
  std::vector<std::string> columns;  // in table order
  std::vector<std::string> declared;
  std::vector<std::string> key;      // the primary key's columns
  SchemaPtr out_schema;

  std::string Log() const { return QuoteSqlIdent(std::string(kLogPrefix) + table); }
  std::string Trigger(const char* what) const { return QuoteSqlIdent("_sluice_" + table + "_" + what); }

  // The statements that install capture for this table, in order. Trigger bodies may not name
  // a schema, so the log and the counter live in the table's own schema.
  std::vector<std::string> InstallDdl() const {
    const std::string s = QuoteSqlIdent(schema) + ".";
    std::string log_cols = "seq INTEGER PRIMARY KEY, op TEXT NOT NULL";
    for (const auto& c : columns) log_cols += ", " + QuoteSqlIdent(c);
    auto row = [&](const char* image) {
      std::string v;
      for (const auto& c : columns) v += ", " + std::string(image) + "." + QuoteSqlIdent(c);
      return v;
    };
    std::string names = "seq, op";
    for (const auto& c : columns) names += ", " + QuoteSqlIdent(c);
    auto log = [&](const char* op, const char* image) {
      return "UPDATE " + std::string(kCounterTable) + " SET n = n + 1; INSERT INTO " + Log() + " (" + names +
             ") VALUES ((SELECT n FROM " + kCounterTable + "), '" + op + "'" + row(image) + "); ";
    };
    std::string same_key;
    for (const auto& k : key) {
      same_key += std::string(same_key.empty() ? "" : " AND ") + "OLD." + QuoteSqlIdent(k) + " IS NEW." + QuoteSqlIdent(k);
    }
    const std::string on = " ON " + QuoteSqlIdent(table);
    return {
        "CREATE TABLE IF NOT EXISTS " + s + kCounterTable + " (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
        "INSERT OR IGNORE INTO " + s + kCounterTable + " VALUES (1, 0)",
        "CREATE TABLE IF NOT EXISTS " + s + Log() + " (" + log_cols + ")",
        "CREATE TRIGGER " + s + Trigger("ins") + " AFTER INSERT" + on + " BEGIN " + log("c", "NEW") + "END",
        "CREATE TRIGGER " + s + Trigger("upd") + " AFTER UPDATE" + on + " WHEN " + same_key + " BEGIN " +
            log("u", "NEW") + "END",
        // A changed key is the old row deleted and the new one inserted.
        "CREATE TRIGGER " + s + Trigger("rekey") + " AFTER UPDATE" + on + " WHEN NOT (" + same_key + ") BEGIN " +
            log("d", "OLD") + log("c", "NEW") + "END",
        "CREATE TRIGGER " + s + Trigger("del") + " AFTER DELETE" + on + " BEGIN " + log("d", "OLD") + "END",
    };
  }
  std::vector<std::string> UninstallDdl() const {
    const std::string s = QuoteSqlIdent(schema) + ".";
    return {"DROP TRIGGER IF EXISTS " + s + Trigger("ins"), "DROP TRIGGER IF EXISTS " + s + Trigger("upd"),
            "DROP TRIGGER IF EXISTS " + s + Trigger("rekey"), "DROP TRIGGER IF EXISTS " + s + Trigger("del"),
            "DROP TABLE IF EXISTS " + s + Log()};
  }
};

class SqliteTriggerSource : public Source {
 public:
  SqliteTriggerSource(const ConnectorContext& ctx, const ConfigNode& block, const OptionSchema& options)
      : ctx_(ctx), block_(block), opts_(&block_, &options) {}
  ~SqliteTriggerSource() override {
    if (db_) sqlite3_close_v2(db_);
  }

  Status Init() {
    for (const auto& [k, v] : block_.entries()) {
      static const std::set<std::string> kAllowed = {"type", "path", "mode", "table", "tables", "poll_interval"};
      if (!kAllowed.count(k)) return Status::InvalidArgument(v.Where() + ": '" + k + "' does not apply to mode: trigger");
    }
    shown_path_ = opts_.GetString("path");
    std::filesystem::path p(shown_path_);
    if (p.is_relative() && !ctx_.base_dir.empty()) p = std::filesystem::path(ctx_.base_dir) / p;
    path_ = p.lexically_normal().string();
    if (opts_.Has("table")) names_.push_back(opts_.GetString("table"));
    for (const auto& t : opts_.GetList("tables")) names_.push_back(t);
    if (names_.empty()) return Status::InvalidArgument(block_.Where() + ": name the tables to capture with table: or tables:");
    if (opts_.Has("poll_interval")) poll_s_ = opts_.GetSeconds("poll_interval");
    return Status::OK();
  }

  Status Open(const StateMap& committed) override {
    if (!std::filesystem::exists(path_)) return Status::InvalidArgument("sqlite source: no database file " + shown_path_);
    // Read-write: capture writes triggers and trims the log. The journal mode stays the owner's.
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, "sqlite source: opening " + shown_path_, db_);
    sqlite3_busy_timeout(db_, 10000);
    RETURN_IF_ERROR(ExpandNames());
    for (const auto& n : names_) RETURN_IF_ERROR(PlanTable(n));
    if (auto it = committed.find({"", kPositionKey}); it != committed.end()) {
      auto j = nlohmann::json::parse(it->second, nullptr, false);
      if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer()) {
        return Status::Corruption("sqlite source: the trigger checkpoint is not {\"seq\": N}: " + it->second);
      }
      committed_seq_ = j["seq"].get<int64_t>();
    }
    acked_ = committed_seq_;
    if (ctx_.dry_run) return Status::OK();  // check and --dry-run change nothing
    RETURN_IF_ERROR(Install());
    return Trim(committed_seq_);
  }

  Status Run(Emitter& out) override {
    int64_t last = committed_seq_;
    for (;;) {
      RETURN_IF_ERROR(ReadPass(out, &last));
      if (poll_s_ <= 0 || out.StopRequested()) return Status::OK();
      if (!ctx_.dry_run) RETURN_IF_ERROR(Trim(acked_.load()));
      const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(poll_s_);
      while (std::chrono::steady_clock::now() < until) {
        if (out.StopRequested()) return Status::OK();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  void OnCommitted(const std::vector<SourcePosition>& positions) override {
    for (const auto& p : positions) {
      if (p.key != kPositionKey) continue;
      auto j = nlohmann::json::parse(p.value, nullptr, false);
      if (j.is_object() && j.contains("seq") && j["seq"].is_number_integer()) acked_ = j["seq"].get<int64_t>();
    }
  }

  std::vector<std::string> DescribePlan() override {
    std::vector<std::string> lines;
    for (const auto& t : tables_) {
      lines.push_back("table " + t.name + ": trigger capture, key [" + Join(t.key, ", ") + "], " +
                      std::to_string(t.columns.size()) + " columns, after change " + std::to_string(committed_seq_));
      auto capture = CaptureOf(t);
      if (capture.ok() && *capture == Capture::kCurrent) continue;
      lines.push_back(capture.ok() && *capture == Capture::kStale
                          ? "  the triggers do not log every column of the table; `sluice run` reinstalls them:"
                          : "  not installed yet; `sluice run` installs this, `sluice cdc uninstall` removes it:");
      for (const auto& ddl : t.InstallDdl()) lines.push_back("    " + ddl + ";");
    }
    return lines;
  }

  Status Uninstall() override {
    if (!std::filesystem::exists(path_)) return Status::InvalidArgument("sqlite source: no database file " + shown_path_);
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, "sqlite source: opening " + shown_path_, db_);
    sqlite3_busy_timeout(db_, 10000);
    RETURN_IF_ERROR(ExpandNames());
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    for (const auto& n : names_) {
      Status st = PlanTable(n);
      for (const auto& ddl : st.ok() ? tables_.back().UninstallDdl() : std::vector<std::string>{}) {
        if (st.ok()) st = Exec(ddl);
      }
      if (!st.ok()) {
        (void)Exec("ROLLBACK");
        return st;
      }
    }
    return Exec("COMMIT");
  }

 private:
  Status Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    if (rc == SQLITE_OK) return Status::OK();
    Status st = SqliteStatus(rc, "sqlite source", db_);
    return st.WithContext(msg.empty() ? sql.substr(0, 80) : msg);
  }
  Result<SqliteStmt> Prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, "sqlite source: preparing a statement", db_);
    return SqliteStmt(db_, st);
  }

  Status ExpandNames() {
    if (!sql::AnyTablePattern(names_)) return Status::OK();
    ASSIGN_OR_RETURN(SqliteStmt st, Prepare("SELECT schema, name FROM pragma_table_list WHERE type = 'table' AND "
                                            "schema <> 'temp' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
                                            "name NOT LIKE '\\_sluice\\_%' ESCAPE '\\' ORDER BY 1, 2"));
    std::vector<sql::CatalogTable> catalog;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      catalog.push_back({st.ColumnText(0), st.ColumnText(1)});
    }
    ASSIGN_OR_RETURN(names_, sql::ExpandTablePatterns(names_, catalog, "main", "sqlite source tables:"));
    return Status::OK();
  }

  Status PlanTable(const std::string& name) {
    TriggerTable t;
    t.name = name;
    t.schema = "main";
    t.table = name;
    if (const size_t dot = name.find('.'); dot != std::string::npos) {
      ASSIGN_OR_RETURN(SqliteStmt probe, Prepare("SELECT 1 FROM pragma_table_info(?1)"));
      probe.BindText(1, name);
      ASSIGN_OR_RETURN(bool whole, probe.Step());
      if (!whole) {
        t.schema = name.substr(0, dot);
        t.table = name.substr(dot + 1);
      }
    }
    ASSIGN_OR_RETURN(SqliteStmt st, Prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1, ?2)"));
    st.BindText(1, t.table);
    st.BindText(2, t.schema);
    std::vector<std::pair<int64_t, std::string>> pk;
    Schema schema;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const std::string col = st.ColumnText(0);
      t.columns.push_back(col);
      t.declared.push_back(st.ColumnText(1));
      auto declared = ctx_.declared_schemas.find(name);
      const int at = declared == ctx_.declared_schemas.end() ? -1 : declared->second.IndexOf(col);
      const DataType type = at >= 0 ? declared->second.field(static_cast<size_t>(at)).type : TypeOfDeclared(t.declared.back());
      schema.AddField({col, type, st.ColumnInt64(2) == 0});
      if (st.ColumnInt64(3) > 0) pk.emplace_back(st.ColumnInt64(3), col);
    }
    if (t.columns.empty()) return Status::InvalidArgument(block_.Where() + ": no table " + JsonQuote(name) + " in " + shown_path_);
    if (pk.empty()) {
      return Status::InvalidArgument(block_.Where() + ": " + name + " has no primary key, so its changes cannot be "
                                     "applied by key; capture needs a PRIMARY KEY");
    }
    std::sort(pk.begin(), pk.end());
    for (const auto& [ord, col] : pk) t.key.push_back(col);
    ctx_.stream_keys->Report(t.name, t.key);  // a replicate sink without key: uses it
    t.out_schema = std::make_shared<Schema>(std::move(schema));
    tables_.push_back(std::move(t));
    return Status::OK();
  }

  enum class Capture { kMissing, kCurrent, kStale };
  // Whether the table's triggers are installed and log every column it has now (a column added
  // since makes them stale).
  Result<Capture> CaptureOf(const TriggerTable& t) {
    ASSIGN_OR_RETURN(SqliteStmt st, Prepare("SELECT count(*) FROM " + QuoteSqlIdent(t.schema) +
                                            ".sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 AND name IN "
                                            "(?2, ?3, ?4, ?5)"));
    st.BindText(1, t.table);
    int i = 2;
    for (const char* w : {"ins", "upd", "rekey", "del"}) st.BindText(i++, "_sluice_" + t.table + "_" + w);
    ASSIGN_OR_RETURN(bool row, st.Step());
    const int64_t triggers = row ? st.ColumnInt64(0) : 0;
    ASSIGN_OR_RETURN(SqliteStmt cols, Prepare("SELECT name FROM pragma_table_info(?1, ?2) WHERE name NOT IN ('seq', 'op')"));
    cols.BindText(1, std::string(kLogPrefix) + t.table);
    cols.BindText(2, t.schema);
    std::vector<std::string> logged;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, cols.Step());
      if (!more) break;
      logged.push_back(cols.ColumnText(0));
    }
    if (triggers == 0 && logged.empty()) return Capture::kMissing;
    return triggers == 4 && logged == t.columns ? Capture::kCurrent : Capture::kStale;
  }

  // Creates what is missing, and reinstalls triggers that no longer match the table's columns
  // (a column was added): the log table gains the columns, in one transaction with the triggers.
  Status Install() {
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status st;
    for (const auto& t : tables_) {
      auto capture = CaptureOf(t);
      st = capture.status();
      if (!st.ok()) break;
      if (*capture == Capture::kCurrent) continue;
      const bool reinstall = *capture == Capture::kStale;
      for (const char* w : {"ins", "upd", "rekey", "del"}) {
        if (st.ok()) st = Exec("DROP TRIGGER IF EXISTS " + QuoteSqlIdent(t.schema) + "." + t.Trigger(w));
      }
      for (const auto& ddl : t.InstallDdl()) {
        if (st.ok()) st = Exec(ddl);
      }
      if (st.ok() && reinstall) st = AddLogColumns(t);
      if (st.ok() && !reinstall) st = Snapshot(t);
      if (!st.ok()) break;
      if (ctx_.log) {
        ctx_.log->Info(std::string(reinstall ? "reinstalled" : "installed") + " change capture triggers",
                       {{"table", t.name}, {"log", std::string(kLogPrefix) + t.table}});
      }
    }
    if (st.ok()) return Exec("COMMIT");
    (void)Exec("ROLLBACK");
    return st.WithContext("sqlite source: installing change capture (the database needs to be writable)");
  }

  // The rows the table holds when capture starts, logged as snapshot reads ('r') in the
  // transaction that creates the triggers: no write falls between the two, so the log holds
  // every row exactly once, then every change.
  Status Snapshot(const TriggerTable& t) {
    std::string cols;
    for (const auto& c : t.columns) cols += ", " + QuoteSqlIdent(c);
    const std::string s = QuoteSqlIdent(t.schema) + ".";
    RETURN_IF_ERROR(Exec("INSERT INTO " + s + t.Log() + " (seq, op" + cols + ") SELECT (SELECT n FROM " + s + kCounterTable +
                         ") + row_number() OVER (), 'r'" + cols + " FROM " + s + QuoteSqlIdent(t.table)));
    return Exec("UPDATE " + s + kCounterTable + " SET n = n + (SELECT count(*) FROM " + s + t.Log() + " WHERE op = 'r')");
  }

  Status AddLogColumns(const TriggerTable& t) {
    ASSIGN_OR_RETURN(SqliteStmt st, Prepare("SELECT name FROM pragma_table_info(?1, ?2)"));
    st.BindText(1, std::string(kLogPrefix) + t.table);
    st.BindText(2, t.schema);
    std::set<std::string> have;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      have.insert(ToLower(st.ColumnText(0)));
    }
    for (const auto& c : t.columns) {
      if (have.count(ToLower(c))) continue;
      RETURN_IF_ERROR(Exec("ALTER TABLE " + QuoteSqlIdent(t.schema) + "." + t.Log() + " ADD COLUMN " + QuoteSqlIdent(c)));
    }
    return Status::OK();
  }

  // Forgets the log rows at or below `seq`: the sink holds them.
  Status Trim(int64_t seq) {
    if (seq <= 0) return Status::OK();
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status st;
    for (const auto& t : tables_) {
      if (st.ok()) st = Exec("DELETE FROM " + QuoteSqlIdent(t.schema) + "." + t.Log() + " WHERE seq <= " + std::to_string(seq));
    }
    if (st.ok()) return Exec("COMMIT");
    (void)Exec("ROLLBACK");
    return st;
  }

  // One pass: every change above `*last` visible now, then a group boundary at the counter.
  Status ReadPass(Emitter& out, int64_t* last) {
    RETURN_IF_ERROR(Exec("BEGIN"));  // one read snapshot for the counter and every log
    Status st = ReadSnapshot(out, last);
    (void)Exec("COMMIT");
    return st;
  }

  Status ReadSnapshot(Emitter& out, int64_t* last) {
    int64_t hi = 0;
    {
      auto counter = Prepare("SELECT n FROM " + QuoteSqlIdent(tables_.front().schema) + "." + kCounterTable);
      if (!counter.ok()) {
        if (ctx_.dry_run) return Status::OK();  // not installed: nothing to read yet
        return counter.status();
      }
      ASSIGN_OR_RETURN(bool row, counter->Step());
      if (row) hi = counter->ColumnInt64(0);
    }
    if (hi <= *last) return Status::OK();
    for (const auto& t : tables_) RETURN_IF_ERROR(ReadTable(out, t, *last, hi));
    Envelope env;
    env.positions.push_back({"", kPositionKey, nlohmann::json{{"seq", hi}}.dump()});
    env.flush = true;
    RETURN_IF_ERROR(out.Emit(std::move(env)));
    *last = hi;
    return Status::OK();
  }

  Status ReadTable(Emitter& out, const TriggerTable& t, int64_t lo, int64_t hi) {
    std::string cols;
    for (const auto& c : t.columns) cols += ", " + QuoteSqlIdent(c);
    ASSIGN_OR_RETURN(SqliteStmt st, Prepare("SELECT seq, op" + cols + " FROM " + QuoteSqlIdent(t.schema) + "." + t.Log() +
                                            " WHERE seq > ?1 AND seq <= ?2 ORDER BY seq"));
    st.BindInt64(1, lo);
    st.BindInt64(2, hi);
    const size_t n = t.columns.size();
    auto builder = std::make_unique<RecordBatchBuilder>(t.out_schema);
    std::vector<char> ops;
    std::vector<RecordBatch::ChangeSource> changes;
    uint64_t bytes = 0;
    auto flush = [&]() -> Status {
      if (builder->num_rows() == 0) return Status::OK();
      auto batch = std::const_pointer_cast<RecordBatch>(builder->Finish(t.name, t.name));
      batch->ops = std::move(ops);
      batch->changes = std::move(changes);
      batch->source_db = shown_path_;
      batch->source_table = t.table;
      ops.clear();
      changes.clear();
      Envelope env;
      env.batch = std::move(batch);
      env.boundary = false;  // the group ends with the pass, at a transaction boundary
      env.bytes_in = bytes;
      bytes = 0;
      builder = std::make_unique<RecordBatchBuilder>(t.out_schema);
      return out.Emit(std::move(env));
    };
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const int64_t seq = st.ColumnInt64(0);
      const std::string op = st.ColumnText(1);
      std::vector<Cell> cells = ReadCells(st.get(), n + 2);
      for (size_t c = 0; c < n; ++c) {
        const Cell& cell = cells[c + 2];
        bytes += cell.bytes.size() + 8;
        std::string why = AppendCell(cell, t.out_schema->field(c).type, builder->column(c));
        if (!why.empty()) {
          // A change left out would leave the replica different from the source: stop instead.
          return Status::InvalidArgument("sqlite source: change " + std::to_string(seq) + " of " + t.name + ", column " +
                                         t.columns[c] + ": " + why + " (declare the column's type under streams:)");
        }
      }
      builder->CommitRow(0);
      ops.push_back(op.empty() ? 'c' : op[0]);
      changes.push_back({std::to_string(seq), 0, 0, ""});
      if (builder->Full()) RETURN_IF_ERROR(flush());
    }
    return flush();
  }

  ConnectorContext ctx_;
  ConfigNode block_;
  Options opts_;
  std::string path_, shown_path_;
  std::vector<std::string> names_;
  std::vector<TriggerTable> tables_;
  double poll_s_ = 0;
  int64_t committed_seq_ = 0;
  std::atomic<int64_t> acked_{0};
  sqlite3* db_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Source>> MakeSqliteTriggerSource(const ConnectorContext& ctx, const ConfigNode& block,
                                                        const OptionSchema& options) {
  auto s = std::make_unique<SqliteTriggerSource>(ctx, block, options);
  RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Source>(std::move(s));
}

}  // namespace sluice
