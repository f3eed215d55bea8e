// mode: trigger of the `mysql` source. For a server whose binlog sluice may not read, the source
// installs triggers that copy every insert, update and delete, with the whole row, into a log
// table per captured table (`_sluice_log_<table>`, the table's columns with their types, plus
// `_sluice_seq`, `_sluice_op` and `_sluice_at`).
//
// Numbering. InnoDB hands out AUTO_INCREMENT values in statement order, not commit order, so a
// reader that trusts "every change above my checkpoint" could step over a change whose
// transaction commits late. Instead every logged change takes the next number from one counter
// row (`_sluice_cdc_seq`, name ''), updated in the writer's transaction: the row lock is held
// until that transaction ends, so transactions that write captured tables are numbered one after
// the other, in commit order, without gaps (a rollback returns its numbers with the counter).
// The cost is that such transactions serialize on that row (README.md, "Trigger CDC").
//
// Reading. A pass opens a consistent snapshot, reads the counter N, and reads every log row above
// the checkpoint and at most N. Every number at or below a committed N belongs to a committed
// transaction, and a transaction's numbers are consecutive, so the pass holds whole source
// transactions; its rows go out with boundary=false and the pass ends with the position
// {"seq": N} (stream "", key "trigger"), committed with the rows in the sink. Log rows at or below
// a committed position are deleted at Open and between polls.
//
// Install (Open, not under check / --dry-run): the counter, the log table and the three triggers
// (DDL; CREATE TRIGGER waits, on the table's metadata lock, for every transaction that wrote the
// table before), then the snapshot: one READ COMMITTED transaction that locks the counter row
// (so no captured transaction is in flight), copies the table into the log as op 'r' numbered
// N+1..N+k with one INSERT ... SELECT (a consistent read that does not lock the table), moves the
// counter to N+k and records "db.table" -> N+k in the counter table: the marker that the install
// is complete. Without the marker (a crash in between) the next Open starts the install over.
// When the sink holds no position (a first run, `sluice state reset`), the snapshot is taken
// again, so the log once more starts with every row.
//
// Threading: Open, DescribePlan, Run and Uninstall on the source thread; OnCommitted on the sink
// thread (it only stores the acknowledged number).

#include "connectors/mysql/mysql_trigger_source.h"

#include <mysql.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "connectors/mysql/mysql_reader.h"
#include "connectors/mysql/mysql_types.h"
#include "connectors/sql/table_patterns.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice::mysql {
namespace {

constexpr char kPositionKey[] = "trigger";
constexpr char kCounter[] = "_sluice_cdc_seq";
constexpr char kSeq[] = "_sluice_seq";
constexpr char kOp[] = "_sluice_op";
constexpr char kAt[] = "_sluice_at";
constexpr const char* kEvents[] = {"ins", "upd", "del"};

struct TriggerTable {
  std::string stream;  // as written in tables:
  std::string db, name, qualified;
  std::vector<SourceColumn> columns;
  std::vector<std::string> column_types;  // COLUMN_TYPE, as information_schema has it
  std::vector<std::string> log_types;     // the type a log column is declared with
  std::vector<std::string> key;
  std::string log;        // unquoted name of the log table, in `db`
  SchemaPtr schema;       // the stream's rows
  SchemaPtr read_schema;  // the rows read from the log: columns, seq, op, at
  std::vector<SourceColumn> read_columns;

  std::string Log() const { return QuoteIdent(db) + "." + QuoteIdent(log); }
  std::string TriggerName(const char* event) const {
    return DerivedName("_sluice_" + name, std::string("_") + event);
  }
  std::string Trigger(const char* event) const {
    return QuoteIdent(db) + "." + QuoteIdent(TriggerName(event));
  }
  std::string Marker() const { return db + "." + name; }
  std::string ColumnList(const std::string& prefix = "") const {
    std::string out;
    for (const auto& c : columns) out += (out.empty() ? "" : ", ") + prefix + QuoteIdent(c.name);
    return out;
  }
};

enum class Capture { kMissing, kInstalled };

class MysqlTriggerSource final : public Source {
 public:
  MysqlTriggerSource(ConnectorContext ctx, TriggerConfig cfg)
      : ctx_(std::move(ctx)), cfg_(std::move(cfg)) {}

  Status Open(const StateMap& committed) override {
    RETURN_IF_ERROR(Connect());
    if (auto it = committed.find({"", kPositionKey}); it != committed.end()) {
      auto j = nlohmann::json::parse(it->second, nullptr, false);
      if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer()) {
        return Status::Corruption("mysql trigger: the checkpoint is not {\"seq\": N}: " +
                                  it->second + "; `sluice state reset` starts over");
      }
      committed_seq_ = j["seq"].get<int64_t>();
      has_position_ = true;
    }
    acked_ = committed_seq_;
    capture_.clear();
    for (auto& t : tables_) {
      ASSIGN_OR_RETURN(Capture c, CaptureOf(t));
      capture_.push_back(c);
      if (c == Capture::kInstalled) RETURN_IF_ERROR(CheckUnchanged(t));
    }
    if (ctx_.dry_run) return Status::OK();  // check and --dry-run change nothing
    for (size_t i = 0; i < tables_.size(); ++i) {
      if (capture_[i] == Capture::kMissing) {
        RETURN_IF_ERROR(Install(tables_[i]));
      } else if (!has_position_) {
        // The sink holds nothing of this pipeline: the log may have been trimmed, so the table is
        // copied into it again.
        RETURN_IF_ERROR(Snapshot(tables_[i]));
      }
      capture_[i] = Capture::kInstalled;
    }
    return Trim(committed_seq_);
  }

  Status Run(Emitter& out) override {
    for (const Capture c : capture_) {
      if (c != Capture::kInstalled) return Status::OK();  // dry run before the install: no log yet
    }
    int64_t last = committed_seq_;
    for (;;) {
      RETURN_IF_ERROR(ReadPass(out, &last));
      if (cfg_.poll_interval <= 0 || out.StopRequested()) return Status::OK();
      if (!ctx_.dry_run) RETURN_IF_ERROR(Trim(acked_.load()));
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::duration<double>(cfg_.poll_interval);
      while (std::chrono::steady_clock::now() < until) {
        if (out.StopRequested()) return Status::OK();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  void OnCommitted(const std::vector<SourcePosition>& positions) override {
    for (const auto& p : positions) {
      if (p.key != kPositionKey) continue;
      auto j = nlohmann::json::parse(p.value, nullptr, false);
      if (j.is_object() && j.contains("seq") && j["seq"].is_number_integer())
        acked_ = j["seq"].get<int64_t>();
    }
  }

  std::vector<std::string> DescribePlan() override;

  Status Uninstall() override {
    uninstalling_ = true;  // a table dropped since still has its log to drop
    RETURN_IF_ERROR(Connect());
    for (const auto& t : tables_) {
      for (const char* e : kEvents)
        RETURN_IF_ERROR(Ddl("DROP TRIGGER IF EXISTS " + t.Trigger(e), t));
      RETURN_IF_ERROR(Ddl("DROP TABLE IF EXISTS " + t.Log(), t));
    }
    ASSIGN_OR_RETURN(bool counter, CounterExists());
    if (!counter) return Status::OK();
    for (const auto& t : tables_) {
      RETURN_IF_ERROR(
          conn_->Query("DELETE FROM " + Counter() + " WHERE name = ?", {Value::Text(t.Marker())})
              .status());
    }
    // The counter goes with the last captured table of its database (other pipelines' triggers
    // may still use it).
    ASSIGN_OR_RETURN(auto left,
                     conn_->Query("SELECT count(*) FROM " + Counter() + " WHERE name <> ''"));
    if (!left.empty() && left[0][0].value_or("0") == "0")
      RETURN_IF_ERROR(Exec(std::string("DROP TABLE ") + Counter()));
    return Status::OK();
  }

 private:
  Status Exec(const std::string& sql) { return conn_->Exec(sql); }
  // DDL of the capture; with binary logging on, CREATE and DROP TRIGGER need SUPER unless
  // log_bin_trust_function_creators is set, and the error says so.
  Status Ddl(const std::string& sql, const TriggerTable& t) {
    Status st = Exec(sql);
    if (st.ok()) return st;
    std::string hint = "mysql trigger: changing the capture of " + t.qualified;
    if (conn_->last_errno() == 1419) {  // ER_BINLOG_CREATE_ROUTINE_NEED_SUPER
      hint +=
          " (binary logging is on: creating or dropping triggers needs SUPER, or SET GLOBAL "
          "log_bin_trust_function_creators = 1)";
    }
    return st.WithContext(hint);
  }
  std::string Counter() const { return QuoteIdent(counter_db_) + "." + QuoteIdent(kCounter); }
  void Log(const std::string& msg, std::initializer_list<std::pair<std::string, std::string>> kv) {
    if (ctx_.log) ctx_.log->Info(msg, kv);
  }

  // Connects and reads the tables' columns and keys (once).
  Status Connect() {
    if (conn_) return Status::OK();
    ASSIGN_OR_RETURN(conn_, Connection::Connect(cfg_.conn, Session::kSource));
    // Snapshots of the log need REPEATABLE READ whatever the server's default is.
    RETURN_IF_ERROR(Exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
    std::vector<std::string> specs = cfg_.tables;
    if (sql::AnyTablePattern(specs)) {
      ASSIGN_OR_RETURN(
          auto rows, conn_->Query("SELECT table_schema, table_name FROM information_schema.tables "
                                  "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
                                  "('mysql', 'information_schema', 'performance_schema', 'sys') "
                                  "AND table_name NOT LIKE '\\_sluice\\_%' ORDER BY 1, 2"));
      std::vector<sql::CatalogTable> catalog;
      for (const auto& r : rows) catalog.push_back({r[0].value_or(""), r[1].value_or("")});
      ASSIGN_OR_RETURN(specs, sql::ExpandTablePatterns(specs, catalog, cfg_.conn.dsn.database,
                                                       "mysql source tables:"));
    }
    std::set<std::string> seen;
    for (const auto& spec : specs) {
      if (!seen.insert(spec).second)
        return Status::InvalidArgument("source.tables: " + spec + " is listed twice");
      TriggerTable t;
      t.stream = spec;
      auto [db, name] = SplitQualifiedName(spec);
      t.db = db.empty() ? cfg_.conn.dsn.database : db;
      t.name = name;
      if (t.db.empty()) {
        return Status::InvalidArgument("source.tables: " + spec +
                                       ": name the database (db.table) or put one in the dsn");
      }
      t.qualified = QuoteIdent(t.db) + "." + QuoteIdent(t.name);
      t.log = DerivedName("_sluice_log_" + t.name, "");
      Status loaded = LoadTable(t);
      if (!loaded.ok() && !uninstalling_) return loaded;
      if (loaded.ok())
        ctx_.stream_keys->Report(t.stream, t.key);  // a replicate sink without key: uses it
      tables_.push_back(std::move(t));
    }
    // One counter numbers the changes of every captured table, so that a transaction writing
    // several of them is still one run of numbers.
    counter_db_ = cfg_.conn.dsn.database.empty() ? tables_.front().db : cfg_.conn.dsn.database;
    return Status::OK();
  }

  Status LoadTable(TriggerTable& t) {
    ASSIGN_OR_RETURN(
        auto rows,
        conn_->Query(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, "
            "IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            {Value::Text(t.db), Value::Text(t.name)}));
    if (rows.empty()) {
      return Status::Permanent("mysql trigger: table " + t.qualified +
                               " does not exist (or the user cannot see it)");
    }
    std::set<std::string> json_checked;
    auto checks = conn_->Query(
        "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE "
        "CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
        {Value::Text(t.db), Value::Text(t.name)});
    if (checks.ok()) {
      for (const auto& r : *checks) {
        const std::string clause = r[0].value_or("");
        if (!StartsWith(ToLower(clause), "json_valid(`") || !EndsWith(clause, "`)")) continue;
        json_checked.insert(ToLower(clause.substr(12, clause.size() - 14)));
      }
    }
    Schema schema;
    for (const auto& r : rows) {
      int64_t precision = 0, scale = 0;
      if (r[3]) ParseInt64(*r[3], &precision);
      if (r[4]) ParseInt64(*r[4], &scale);
      const std::string name = r[0].value_or("");
      if (StartsWith(ToLower(name), "_sluice_")) {
        return Status::InvalidArgument("mysql trigger: column " + QuoteIdent(name) + " of " +
                                       t.qualified +
                                       ": names starting with _sluice_ are the change log's own");
      }
      ASSIGN_OR_RETURN(SourceColumn c,
                       MapColumn(t.qualified, name, r[1].value_or(""), r[2].value_or(""), precision,
                                 scale, json_checked.count(ToLower(name)) > 0));
      c.nullable = r[5].value_or("YES") == "YES";
      // The log column has the table column's type and, for text, its character set and
      // collation (the database default could not hold every value). Always NULL DEFAULT NULL:
      // a TIMESTAMP must not turn into an auto-updated NOT NULL column.
      std::string type = r[2].value_or("");
      if (r[6] && r[7]) type += " CHARACTER SET " + *r[6] + " COLLATE " + *r[7];
      t.log_types.push_back(type + " NULL DEFAULT NULL");
      t.column_types.push_back(r[2].value_or(""));
      schema.AddField({c.name, c.type, c.nullable});
      t.columns.push_back(std::move(c));
    }
    ASSIGN_OR_RETURN(
        auto keys, conn_->Query("SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                                "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 "
                                "ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX",
                                {Value::Text(t.db), Value::Text(t.name)}));
    auto nullable = [&](const std::string& name) {
      for (const auto& c : t.columns) {
        if (c.name == name) return c.nullable;
      }
      return true;
    };
    std::string index;
    bool any_null = false;
    for (const auto& r : keys) {
      const std::string name = r[0].value_or("");
      if (name != index) {
        if (!index.empty() && !any_null) break;
        index = name;
        t.key.clear();
        any_null = false;
      }
      t.key.push_back(r[1].value_or(""));
      any_null |= nullable(t.key.back());
    }
    if (any_null) t.key.clear();
    if (t.key.empty()) {
      return Status::InvalidArgument(
          "mysql trigger: " + t.qualified +
          " has no primary key nor unique NOT NULL index, so its changes cannot be "
          "applied by key; capture needs one");
    }
    t.schema = std::make_shared<Schema>(schema);
    t.read_columns = t.columns;
    auto meta = [&](const char* name, FetchKind kind, DataType type) {
      SourceColumn c;
      c.name = name;
      c.server_type = "bigint";
      c.fetch = kind;
      c.type = type;
      c.nullable = false;
      t.read_columns.push_back(c);
      schema.AddField({name, type, false});
    };
    meta(kSeq, FetchKind::kInt, DataType::Int64());
    meta(kOp, FetchKind::kString, DataType::String());
    meta(kAt, FetchKind::kInt, DataType::Int64());
    t.read_schema = std::make_shared<Schema>(std::move(schema));
    return Status::OK();
  }

  // ---- install

  // Appends the statements that log `image` (NEW or OLD) as `op`, in a trigger body.
  std::string LogChange(const TriggerTable& t, const char* op, const char* image) const {
    return "UPDATE " + Counter() + " SET n = n + 1 WHERE name = ''; SELECT n INTO s FROM " +
           Counter() + " WHERE name = ''; INSERT INTO " + t.Log() + " (" + kSeq + ", " + kOp +
           ", " + kAt + ", " + t.ColumnList() + ") VALUES (s, '" + op +
           "', CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED), " +
           t.ColumnList(std::string(image) + ".") + "); ";
  }

  // The DDL that installs capture of `t`, in order.
  std::vector<std::string> InstallDdl(const TriggerTable& t) const {
    std::string cols = std::string(kSeq) + " BIGINT NOT NULL PRIMARY KEY, " + kOp +
                       " CHAR(1) NOT NULL, " + kAt + " BIGINT NOT NULL";
    for (size_t i = 0; i < t.columns.size(); ++i)
      cols += ", " + QuoteIdent(t.columns[i].name) + " " + t.log_types[i];
    // A key compared byte for byte: under a _ci collation 'a' -> 'A' is a new key for the replica.
    std::string same_key;
    for (const auto& k : t.key) {
      same_key += std::string(same_key.empty() ? "" : " AND ") + "CAST(OLD." + QuoteIdent(k) +
                  " AS BINARY) <=> CAST(NEW." + QuoteIdent(k) + " AS BINARY)";
    }
    const std::string on = " ON " + t.qualified + " FOR EACH ROW BEGIN DECLARE s BIGINT; ";
    return {
        "CREATE TABLE IF NOT EXISTS " + Counter() +
            " (name VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, n "
            "BIGINT NOT NULL) "
            "ENGINE=InnoDB",
        "INSERT IGNORE INTO " + Counter() + " (name, n) VALUES ('', 0)",
        "CREATE TABLE IF NOT EXISTS " + t.Log() + " (" + cols + ") ENGINE=InnoDB",
        "CREATE TRIGGER " + t.Trigger("ins") + " AFTER INSERT" + on + LogChange(t, "c", "NEW") +
            "END",
        // A changed key is the old row deleted and the new one inserted.
        "CREATE TRIGGER " + t.Trigger("upd") + " AFTER UPDATE" + on + "IF " + same_key + " THEN " +
            LogChange(t, "u", "NEW") + "ELSE " + LogChange(t, "d", "OLD") +
            LogChange(t, "c", "NEW") + "END IF; END",
        "CREATE TRIGGER " + t.Trigger("del") + " AFTER DELETE" + on + LogChange(t, "d", "OLD") +
            "END",
    };
  }

  // The snapshot, in words and SQL, for `check` (N is the counter under its row lock).
  std::vector<std::string> SnapshotSql(const TriggerTable& t) const {
    std::string order;
    for (const auto& k : t.key) order += (order.empty() ? "" : ", ") + QuoteIdent(k);
    std::string marker;
    conn_->AppendEscaped(marker, t.Marker());
    return {"SET TRANSACTION ISOLATION LEVEL READ COMMITTED;",
            "START TRANSACTION;",
            "SELECT n FROM " + Counter() +
                " WHERE name = '' FOR UPDATE;  -- N: this, or the sink's position if higher",
            "DELETE FROM " + t.Log() + " WHERE " + kSeq + " <= N;",
            "INSERT INTO " + t.Log() + " (" + kSeq + ", " + kOp + ", " + kAt + ", " +
                t.ColumnList() + ") SELECT N + ROW_NUMBER() OVER (ORDER BY " + order +
                "), 'r', 0, " + t.ColumnList() + " FROM " + t.qualified + ";  -- k rows",
            "UPDATE " + Counter() + " SET n = N + k WHERE name = '';",
            "INSERT INTO " + Counter() + " (name, n) VALUES ('" + marker +
                "', N + k) ON DUPLICATE KEY UPDATE n = N + k;",
            "COMMIT;"};
  }

  // Whether `t` is installed: the marker row of a completed snapshot.
  Result<Capture> CaptureOf(const TriggerTable& t) {
    ASSIGN_OR_RETURN(bool counter, CounterExists());
    if (!counter) return Capture::kMissing;
    ASSIGN_OR_RETURN(auto marker, conn_->Query("SELECT n FROM " + Counter() + " WHERE name = ?",
                                               {Value::Text(t.Marker())}));
    return marker.empty() ? Capture::kMissing : Capture::kInstalled;
  }

  Result<bool> CounterExists() {
    ASSIGN_OR_RETURN(
        auto rows,
        conn_->Query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND "
                     "TABLE_NAME = ?",
                     {Value::Text(counter_db_), Value::Text(kCounter)}));
    return !rows.empty();
  }

  // An installed capture still logs every column of the table, with all three triggers.
  Status CheckUnchanged(const TriggerTable& t) {
    ASSIGN_OR_RETURN(
        auto cols,
        conn_->Query(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?, ?) ORDER BY "
            "TABLE_NAME = ?, ORDINAL_POSITION",
            {Value::Text(t.db), Value::Text(t.name), Value::Text(t.log), Value::Text(t.log)}));
    std::vector<std::string> now, logged;
    for (const auto& r : cols) {
      const std::string c = r[1].value_or("") + " " + r[2].value_or("");
      if (r[0].value_or("") == t.log) {
        if (!StartsWith(r[1].value_or(""), "_sluice_")) logged.push_back(c);
      } else {
        now.push_back(c);
      }
    }
    ASSIGN_OR_RETURN(
        auto triggers,
        conn_->Query("SELECT count(*) FROM information_schema.TRIGGERS WHERE "
                     "EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? AND "
                     "TRIGGER_NAME IN (?, ?, ?)",
                     {Value::Text(t.db), Value::Text(t.name), Value::Text(t.TriggerName("ins")),
                      Value::Text(t.TriggerName("upd")), Value::Text(t.TriggerName("del"))}));
    const std::string n = triggers.empty() ? "0" : triggers[0][0].value_or("0");
    std::string why;
    if (n != "3") {
      why = "only " + n + " of its 3 capture triggers exist (changes may have been missed)";
    } else if (now != logged) {
      why = "its columns changed since capture was installed (now: " + Join(now, ", ") +
            "; logged: " + Join(logged, ", ") +
            "); the triggers no longer log the rows as they are";
    }
    if (why.empty()) return Status::OK();
    return Status::Permanent(
        "mysql trigger: table " + t.qualified + ": " + why +
        ". Capture is not adjusted on its own: run `sluice cdc uninstall`, then `sluice state "
        "reset`, then `sluice run` (which installs it again and copies the table anew)");
  }

  // Creates the log and the triggers (dropping what a crashed install left), then snapshots.
  Status Install(const TriggerTable& t) {
    for (const char* e : kEvents) RETURN_IF_ERROR(Ddl("DROP TRIGGER IF EXISTS " + t.Trigger(e), t));
    RETURN_IF_ERROR(Ddl("DROP TABLE IF EXISTS " + t.Log(), t));
    for (const auto& ddl : InstallDdl(t)) RETURN_IF_ERROR(Ddl(ddl, t));
    RETURN_IF_ERROR(Snapshot(t));
    Log("installed change capture triggers", {{"table", t.qualified}, {"log", t.log}});
    return Status::OK();
  }

  // Copies the table into its log as op 'r' (see the comment at the top).
  Status Snapshot(const TriggerTable& t) {
    RETURN_IF_ERROR(Exec("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"));
    RETURN_IF_ERROR(Exec("START TRANSACTION"));
    Status st = SnapshotInTransaction(t);
    if (st.ok()) st = Exec("COMMIT");
    if (!st.ok()) {
      (void)Exec("ROLLBACK");
      return st.WithContext("mysql trigger: snapshot of " + t.qualified);
    }
    return Status::OK();
  }

  Status SnapshotInTransaction(const TriggerTable& t) {
    ASSIGN_OR_RETURN(auto rows,
                     conn_->Query("SELECT n FROM " + Counter() + " WHERE name = '' FOR UPDATE"));
    int64_t n = 0;
    if (rows.empty() || !rows[0][0] || !ParseInt64(*rows[0][0], &n)) {
      return Status::Corruption("mysql trigger: the counter row of " + Counter() + " is missing");
    }
    // A counter created anew (after `cdc uninstall`) must not hand out numbers the sink already
    // holds: they would be read as old.
    n = std::max(n, committed_seq_);
    RETURN_IF_ERROR(Exec("DELETE FROM " + t.Log() + " WHERE " + kSeq + " <= " + std::to_string(n)));
    std::string order;
    for (const auto& k : t.key) order += (order.empty() ? "" : ", ") + QuoteIdent(k);
    RETURN_IF_ERROR(Exec("INSERT INTO " + t.Log() + " (" + kSeq + ", " + kOp + ", " + kAt + ", " +
                         t.ColumnList() + ") SELECT " + std::to_string(n) +
                         " + ROW_NUMBER() OVER (ORDER BY " + order + "), 'r', 0, " +
                         t.ColumnList() + " FROM " + t.qualified));
    ASSIGN_OR_RETURN(const int64_t k, RowCount());
    const std::string top = std::to_string(n + k);
    RETURN_IF_ERROR(Exec("UPDATE " + Counter() + " SET n = " + top + " WHERE name = ''"));
    auto marked = conn_->Query("INSERT INTO " + Counter() + " (name, n) VALUES (?, " + top +
                                   ") ON DUPLICATE KEY UPDATE n = " + top,
                               {Value::Text(t.Marker())});
    RETURN_IF_ERROR(marked.status());
    Log("copied a table into its change log",
        {{"table", t.qualified}, {"rows", std::to_string(k)}});
    return Status::OK();
  }

  // The rows the last statement changed (Exec drains results, which clears affected_rows).
  Result<int64_t> RowCount() {
    ASSIGN_OR_RETURN(auto rows, conn_->Query("SELECT ROW_COUNT()"));
    int64_t n = 0;
    if (rows.empty() || !rows[0][0] || !ParseInt64(*rows[0][0], &n) || n < 0) {
      return Status::Internal("mysql trigger: no row count after a write");
    }
    return n;
  }

  // Forgets the log rows at or below `seq` (the sink holds them). The rows to delete are counted
  // first and the DELETE stops after that many (LIMIT): a range scan would otherwise lock the
  // next log row to see where the range ends, and wait for the writer that inserted it to commit.
  Status Trim(int64_t seq) {
    if (seq <= 0) return Status::OK();
    for (const auto& t : tables_) {
      ASSIGN_OR_RETURN(auto rows, conn_->Query("SELECT count(*) FROM " + t.Log() + " WHERE " +
                                               kSeq + " <= " + std::to_string(seq)));
      int64_t left = 0;
      if (!rows.empty() && rows[0][0]) ParseInt64(*rows[0][0], &left);
      while (left > 0) {
        const int64_t chunk = std::min<int64_t>(left, 10000);
        RETURN_IF_ERROR(Exec("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"));
        RETURN_IF_ERROR(Exec("DELETE FROM " + t.Log() + " WHERE " + kSeq +
                             " <= " + std::to_string(seq) + " ORDER BY " + kSeq + " LIMIT " +
                             std::to_string(chunk)));
        ASSIGN_OR_RETURN(const int64_t gone, RowCount());
        if (gone == 0) break;
        left -= gone;
      }
    }
    return Status::OK();
  }

  // ---- reading

  Status ReadPass(Emitter& out, int64_t* last) {
    for (const auto& t : tables_) RETURN_IF_ERROR(CheckUnchanged(t));
    RETURN_IF_ERROR(Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT"));
    Status st = ReadSnapshot(out, last);
    Status end = Exec(st.ok() ? "COMMIT" : "ROLLBACK");
    return st.ok() ? end : st;
  }

  Status ReadSnapshot(Emitter& out, int64_t* last) {
    ASSIGN_OR_RETURN(auto rows, conn_->Query("SELECT n FROM " + Counter() + " WHERE name = ''"));
    int64_t hi = 0;
    if (rows.empty() || !rows[0][0] || !ParseInt64(*rows[0][0], &hi)) {
      return Status::Corruption("mysql trigger: the counter row of " + Counter() + " is missing");
    }
    if (hi <= *last) return Status::OK();
    for (const auto& t : tables_) RETURN_IF_ERROR(ReadTable(out, t, *last, hi));
    Envelope env;
    env.positions.push_back({"", kPositionKey, nlohmann::json{{"seq", hi}}.dump()});
    env.bytes_in = pending_bytes_;
    pending_bytes_ = 0;
    env.flush = true;
    RETURN_IF_ERROR(out.Emit(std::move(env)));
    *last = hi;
    return Status::OK();
  }

  Status ReadTable(Emitter& out, const TriggerTable& t, int64_t lo, int64_t hi) {
    const std::string sql = "SELECT " + t.ColumnList() + ", " + kSeq + ", " + kOp + ", " + kAt +
                            " FROM " + t.Log() + " WHERE " + kSeq + " > " + std::to_string(lo) +
                            " AND " + kSeq + " <= " + std::to_string(hi) + " ORDER BY " + kSeq;
    if (mysql_real_query(conn_->raw(), sql.data(), sql.size()) != 0) {
      return conn_->Error("mysql trigger: reading the change log of " + t.qualified);
    }
    ASSIGN_OR_RETURN(auto reader, MakeTextReader(*conn_, t.read_columns));
    const size_t n = t.columns.size();
    RecordBatchBuilder builder(t.read_schema);
    std::vector<char> ops;
    std::vector<RecordBatch::ChangeSource> changes;
    std::vector<RejectedRow> rejects;
    auto flush = [&]() -> Status {
      if (builder.num_rows() == 0 && rejects.empty()) return Status::OK();
      Envelope env;
      if (builder.num_rows() > 0) {
        RecordBatchPtr read = builder.Finish(t.stream, t.db + "." + t.name);
        // The log's own columns (seq, op, at) went into ops and changes; the rows keep the table's.
        std::vector<ColumnPtr> cols(read->columns().begin(),
                                    read->columns().begin() + static_cast<long>(n));
        auto batch = std::make_shared<RecordBatch>(t.schema, std::move(cols), read->num_rows());
        batch->stream = read->stream;
        batch->origin_unit = read->origin_unit;
        batch->origin_lines = read->origin_lines;
        batch->ops = std::move(ops);
        batch->changes = std::move(changes);
        batch->source_db = t.db;
        batch->source_table = t.name;
        env.batch = std::move(batch);
      }
      ops.clear();
      changes.clear();
      env.rejects = std::move(rejects);
      rejects.clear();
      env.boundary = false;  // the group ends with the pass, on a whole source transaction
      return out.Emit(std::move(env));
    };
    RowIssue issue;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, reader->Next(builder, &issue));
      if (!more) break;
      pending_bytes_ += reader->row_bytes();
      const Value seq = reader->Get(n), op = reader->Get(n + 1), at = reader->Get(n + 2);
      if (!issue.column.empty()) {
        RejectedRow rej;
        rej.stream = t.stream;
        rej.origin = t.db + "." + t.name + "@change " + std::to_string(seq.i);
        rej.position_key = rej.origin;
        rej.raw = reader->RowJson();
        rej.rule = "type";
        rej.column = issue.column;
        rej.reason = issue.reason;
        rejects.push_back(std::move(rej));
      } else {
        builder.CommitRow(seq.i);
        ops.push_back(op.s.empty() ? 'c' : op.s[0]);
        changes.push_back({std::to_string(seq.i), 0, at.i, ""});
      }
      if (builder.Full() || rejects.size() >= 10000) RETURN_IF_ERROR(flush());
    }
    reader.reset();
    return flush();
  }

  ConnectorContext ctx_;
  TriggerConfig cfg_;
  std::unique_ptr<Connection> conn_;
  std::vector<TriggerTable> tables_;
  std::vector<Capture> capture_;
  std::string counter_db_;
  int64_t committed_seq_ = 0;
  bool has_position_ = false;
  bool uninstalling_ = false;
  std::atomic<int64_t> acked_{0};
  uint64_t pending_bytes_ = 0;
};

std::vector<std::string> MysqlTriggerSource::DescribePlan() {
  std::vector<std::string> lines;
  lines.push_back("mysql " + DescribeDsn(cfg_.conn.dsn) + " (" + conn_->server_info() +
                  "), mode trigger: change capture by triggers, counter " + Counter() +
                  ", after change " + std::to_string(committed_seq_) +
                  (has_position_ ? "" : " (the sink holds no position)"));
  std::set<std::string> dbs = {counter_db_};
  for (size_t i = 0; i < tables_.size(); ++i) {
    const auto& t = tables_[i];
    dbs.insert(t.db);
    lines.push_back("table " + t.stream + ": key [" + Join(t.key, ", ") + "], " +
                    std::to_string(t.columns.size()) + " columns, log " + t.Log());
    if (i < capture_.size() && capture_[i] == Capture::kInstalled) {
      lines.push_back(
          has_position_
              ? "  installed"
              : "  installed; the sink holds no position, so `sluice run` copies the table "
                "into the log again:");
      if (has_position_) continue;
    } else {
      lines.push_back(
          "  not installed yet; `sluice run` installs this (`sluice cdc uninstall` removes it):");
      for (const auto& ddl : InstallDdl(t)) lines.push_back("    " + ddl + ";");
      lines.push_back("  then copies the table's rows into the log as snapshot reads (op r):");
    }
    for (const auto& sql : SnapshotSql(t)) lines.push_back("    " + sql);
  }
  auto user = conn_->Query("SELECT CURRENT_USER(), @@log_bin, @@log_bin_trust_function_creators");
  std::string grantee = "USER";
  if (user.ok() && !user->empty()) {
    const std::string cu = (*user)[0][0].value_or("");
    if (const size_t at = cu.rfind('@'); at != std::string::npos) {
      grantee = "'" + cu.substr(0, at) + "'@'" + cu.substr(at + 1) + "'";
    }
  }
  for (const auto& db : dbs) {
    lines.push_back(
        "privileges needed: GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, TRIGGER ON " +
        QuoteIdent(db) + ".* TO " + grantee +
        " (the triggers run with these rights, as their definer: keep the user)");
  }
  if (user.ok() && !user->empty() && (*user)[0][1].value_or("0") == "1" &&
      (*user)[0][2].value_or("0") == "0") {
    lines.push_back(
        "binary logging is on and log_bin_trust_function_creators is off: creating the triggers "
        "(and "
        "dropping them, in `cdc uninstall`) needs SUPER, or SET GLOBAL "
        "log_bin_trust_function_creators = 1");
  }
  return lines;
}

}  // namespace

Result<std::unique_ptr<Source>> MakeTriggerSource(const ConnectorContext& ctx, TriggerConfig cfg) {
  if (cfg.tables.empty())
    return Status::InvalidArgument("source.tables: mode: trigger needs the tables to capture");
  return std::unique_ptr<Source>(new MysqlTriggerSource(ctx, std::move(cfg)));
}

}  // namespace sluice::mysql
