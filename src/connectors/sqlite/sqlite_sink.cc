// The `sqlite` sink. A commit group is one SQLite transaction: BEGIN IMMEDIATE at the group's
// first Write (or at Commit when every row was quarantined), the rows, then the group's positions
// and counters in `_sluice_state`, then COMMIT. A crash or an error before COMMIT leaves neither.
//
// replicate applies change data by key: each batch is compacted so that every key appears once,
// with its final operation (sql/change_compact.h), then deletes, upserts and partial updates run
// in that order. changelog appends one row per change event (sql/changelog.h).
//
// Threading: one thread at a time (the sink stage), as the Sink interface states.

#include "connectors/sqlite/sqlite_sink.h"
#include "connectors/sqlite/sqlite_source.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/sql/change_compact.h"
#include "connectors/sql/changelog.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"
#include "state/sqlite_db.h"
#include "state/state_store.h"

namespace sluice {
namespace {

enum class WriteMode { kAppend, kReplace, kUpsert, kReplicate, kChangelog };

const char* ModeName(WriteMode m) {
  switch (m) {
    case WriteMode::kAppend: return "append";
    case WriteMode::kReplace: return "replace";
    case WriteMode::kUpsert: return "upsert";
    case WriteMode::kReplicate: return "replicate";
    case WriteMode::kChangelog: return "changelog";
  }
  return "append";
}

// Modes that write by key, through the unique index on it.
bool KeyMode(WriteMode m) { return m == WriteMode::kUpsert || m == WriteMode::kReplicate; }

// The changelog table's own ordinal column: the order in which the events were written.
constexpr std::string_view kSeqColumn = "_sluice_seq";

constexpr std::string_view kStagingSuffix = "__sluice_staging";
constexpr std::string_view kKeyIndexSuffix = "__sluice_key";
constexpr std::string_view kStagingSinkSuffix = "#staging";
// Rows per multi-row INSERT: one sqlite3_step per 64 rows cuts the insert path's CPU time by a
// third against one row per statement; 256 rows was no faster (README, "Performance").
constexpr int kRowsPerInsert = 64;

struct SqliteSinkConfig {
  std::string path;          // resolved against the pipeline's directory
  std::string display_path;  // as the user wrote it, for Describe
  std::string table;         // empty: the stream name; "{stream}" is replaced by it
  WriteMode mode = WriteMode::kAppend;
  std::vector<std::string> key;
  std::string version;  // upsert: a stored row is replaced only by one at least as new
  std::string name;
};

// How one batch column is bound. Text forms (decimal, date, time, timestamp) are formatted into
// a scratch buffer first, then bound without a copy.
enum class BindKind { kBool, kInt64, kFloat64, kText, kBlob, kFormatted };

BindKind KindOf(const DataType& t) {
  switch (t.id) {
    case TypeId::kBool: return BindKind::kBool;
    case TypeId::kInt64: return BindKind::kInt64;
    case TypeId::kFloat64: return BindKind::kFloat64;
    case TypeId::kString:
    case TypeId::kJson: return BindKind::kText;
    case TypeId::kBinary: return BindKind::kBlob;
    case TypeId::kDecimal:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp: return BindKind::kFormatted;
  }
  return BindKind::kText;
}

// Declared column types. Decimals, dates and timestamps are TEXT: a declared type such as
// DECIMAL or DATE would get NUMERIC affinity, and SQLite would turn "12.50" into 12.5.
const char* DeclaredType(const DataType& t) {
  switch (t.id) {
    case TypeId::kBool:
    case TypeId::kInt64: return "INTEGER";
    case TypeId::kFloat64: return "REAL";
    case TypeId::kBinary: return "BLOB";
    default: return "TEXT";
  }
}

// SQLite compares identifiers ASCII case-insensitively.
std::string IdentKey(std::string_view name) { return ToLower(name); }

std::string QuotedList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += QuoteSqlIdent(n);
  }
  return out;
}

// The column named in an SQLite constraint message ("NOT NULL constraint failed: t.amount",
// "cannot store TEXT value in INTEGER column t.n"), or empty.
std::string ColumnInMessage(const std::string& msg, const std::string& table) {
  const std::string prefix = table + ".";
  size_t at = msg.find(prefix);
  if (at == std::string::npos) return {};
  size_t start = at + prefix.size();
  // A UNIQUE failure lists every column: "t.a, t.b". The first one is named.
  size_t end = msg.find(", " + prefix, start);
  return msg.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// One target table of this sink: its columns as SQLite knows them and the INSERT statements
// prepared for the batch schema last seen. Valid within one transaction: a rollback may undo a
// CREATE or ALTER, so the cache is dropped with it.
struct Target {
  std::string table;       // the physical table (the staging table in replace mode)
  std::string user_table;  // the table the user sees
  bool ready = false;      // `columns` read from the database
  bool key_checked = false;  // upsert, replicate: the unique index on the key exists
  std::set<std::string> columns;  // IdentKey of each column
  Schema schema;           // the schema the statements below are prepared for
  bool prepared = false;
  std::vector<BindKind> kinds;
  std::vector<std::string> key;  // upsert, replicate: the key columns (StreamKeys::For)
  std::vector<int> key_fields;    // upsert, replicate: batch field of each key column
  SqliteStmt multi;             // kRowsPerInsert rows (or fewer when columns are many)
  int multi_rows = 0;
  SqliteStmt single;
  // replicate: DELETE by key; UPDATE by key that leaves flagged columns as stored (per non-key
  // column a flag and a value, then the key).
  SqliteStmt del;
  SqliteStmt partial;
  std::vector<int> partial_fields;  // batch field of each (flag, value) pair of `partial`
};

class SqliteSink final : public Sink {
 public:
  SqliteSink(const ConnectorContext& ctx, SqliteSinkConfig cfg)
      : pipeline_(ctx.pipeline),
        log_(ctx.log),
        cfg_(std::move(cfg)),
        stream_tables_(ctx.stream_tables),
        stream_keys_(ctx.stream_keys) {}

  ~SqliteSink() override {
    // Statements before the connection; closing with an open transaction rolls it back, which
    // is what a crash does too.
    targets_.clear();
    put_state_ = SqliteStmt();
    get_state_ = SqliteStmt();
  }

  Status Open() override;
  Result<StateMap> LoadState() override;
  Status Write(const RecordBatch& batch) override;
  std::vector<RejectedRow> TakeRefused() override { return std::exchange(refused_, {}); }
  Status Commit(const CommitState& state) override;
  Status Abort() override;
  Status Finish() override;
  Status Close() override;
  Status ResetState(const std::string& stream) override;
  bool transactional() const override { return true; }
  std::string Describe() const override;

 private:
  // The sink name positions are stored under: replace mode stages them with its rows.
  std::string StateSink() const {
    return cfg_.mode == WriteMode::kReplace ? cfg_.name + std::string(kStagingSinkSuffix) : cfg_.name;
  }
  Result<std::string> TableFor(const std::string& stream) const;
  std::string StagingTable(const std::string& table) const {
    return table + std::string(kStagingSuffix);
  }
  Status CheckOpen() const {
    if (!db_.is_open()) return Status::Internal("sqlite sink used before Open");
    return Status::OK();
  }
  Status Begin();
  Status Rollback();
  Result<bool> TableExists(const std::string& table);
  Result<std::vector<std::string>> Columns(const std::string& table);
  Result<Target*> PrepareTarget(const std::string& user_table, const RecordBatch& batch);
  Status CreateOrWiden(Target& t, const Schema& schema);
  Status EnsureUniqueKey(Target& t);
  Status PrepareStatements(Target& t, const Schema& schema);
  Status CheckKeys(const Target& t, const RecordBatch& batch) const;
  Status InsertRows(Target& t, const RecordBatch& batch);
  Status ApplyChanges(Target& t, const RecordBatch& batch);
  Status BindOne(const Target& t, sqlite3_stmt* s, int param, const RecordBatch& batch, int field,
                 int64_t row);
  void RefuseWith(const Target& t, const RecordBatch& batch, int64_t row, const std::string& column,
                  const std::string& reason);
  Status BindRows(Target& t, SqliteStmt& stmt, const RecordBatch& batch, int64_t r0, int64_t n);
  Status RefusedRows(Target& t, const RecordBatch& batch, int64_t r0, int64_t n, const Status& st);
  Status Refuse(Target& t, const RecordBatch& batch, int64_t row, const Status& st);
  Result<std::vector<std::string>> StagedStreams();
  Result<StateMap> ReadState(const std::string& sink);
  void Info(const std::string& msg) const {
    if (log_) log_->Info(msg, {{"sink", "sqlite"}});
  }

  std::string pipeline_;
  Logger* log_;
  SqliteSinkConfig cfg_;
  std::map<std::string, std::string> stream_tables_;  // `streams:` of the pipeline
  std::shared_ptr<StreamKeys> stream_keys_;

  SqliteDb db_;
  bool in_group_ = false;
  // Replace mode: a previous run's staging rows are resumed (its positions were found), so the
  // staging tables are kept; otherwise each is emptied at its first Write of the run.
  bool resume_staging_ = false;
  std::map<std::string, std::string> staged_;  // IdentKey(user table) -> user table, committed
  std::map<std::string, std::unique_ptr<Target>> targets_;  // by IdentKey(physical table)
  SqliteStmt put_state_;
  SqliteStmt get_state_;
  std::string text_;  // formatted values of the rows being bound
  std::vector<std::pair<uint32_t, uint32_t>> spans_;
  std::vector<RejectedRow> refused_;
};

Result<std::string> SqliteSink::TableFor(const std::string& stream) const {
  return SinkTableFor(cfg_.table, stream, stream_tables_);
}

Status SqliteSink::Open() {
  Status st = db_.Open(cfg_.path);
  if (!st.ok()) return st.WithContext("sqlite sink");
  RETURN_IF_ERROR(
      db_.Exec("CREATE TABLE IF NOT EXISTS _sluice_state (pipeline TEXT NOT NULL, sink TEXT NOT NULL, "
               "stream TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
               "updated_at TEXT NOT NULL, PRIMARY KEY (pipeline, sink, stream, key))"));
  ASSIGN_OR_RETURN(put_state_,
                   db_.Prepare("INSERT OR REPLACE INTO _sluice_state VALUES "
                               "(?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"));
  ASSIGN_OR_RETURN(get_state_, db_.Prepare("SELECT value FROM _sluice_state WHERE pipeline = ? "
                                           "AND sink = ? AND stream = ? AND key = ?"));
  if (cfg_.mode == WriteMode::kReplace) {
    ASSIGN_OR_RETURN(std::vector<std::string> streams, StagedStreams());
    resume_staging_ = !streams.empty();
    if (resume_staging_) Info("resuming the staged replace of an interrupted run");
  }
  return Status::OK();
}

Result<StateMap> SqliteSink::ReadState(const std::string& sink) {
  StateMap out;
  ASSIGN_OR_RETURN(SqliteStmt stmt, db_.Prepare("SELECT stream, key, value FROM _sluice_state "
                                                "WHERE pipeline = ? AND sink = ?"));
  stmt.BindText(1, pipeline_);
  stmt.BindText(2, sink);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out[{stmt.ColumnText(0), stmt.ColumnText(1)}] = stmt.ColumnText(2);
  }
  return out;
}

Result<StateMap> SqliteSink::LoadState() {
  RETURN_IF_ERROR(CheckOpen());
  ASSIGN_OR_RETURN(StateMap state, ReadState(StateSink()));
  if (cfg_.mode == WriteMode::kReplace) {
    // Positions come from the staged run only (a replace run otherwise starts over), but the
    // cumulative counters stay the sink's own, so that `state show` has its totals.
    ASSIGN_OR_RETURN(StateMap own, ReadState(cfg_.name));
    auto counters = own.find({"", kCountersKey});
    if (counters != own.end()) state.insert(*counters);
  }
  return state;
}

// Streams with staged (replace mode) positions.
Result<std::vector<std::string>> SqliteSink::StagedStreams() {
  ASSIGN_OR_RETURN(SqliteStmt stmt, db_.Prepare("SELECT DISTINCT stream FROM _sluice_state WHERE "
                                                "pipeline = ? AND sink = ? AND stream <> ''"));
  stmt.BindText(1, pipeline_);
  stmt.BindText(2, cfg_.name + std::string(kStagingSinkSuffix));
  std::vector<std::string> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(stmt.ColumnText(0));
  }
  return out;
}

Status SqliteSink::Begin() {
  if (in_group_) {
    if (!sqlite3_get_autocommit(db_.get())) return Status::OK();
    // SQLite rolls a transaction back by itself after some errors (disk full, I/O). Going on
    // would write the rest of the group outside any transaction.
    targets_.clear();
    in_group_ = false;
    return Status::Internal(
        "sqlite sink: SQLite rolled the commit group back after an earlier error; the group "
        "must be aborted and written again");
  }
  Status st = db_.Exec("BEGIN IMMEDIATE");
  if (!st.ok()) return st.WithContext("sqlite sink " + cfg_.display_path);
  in_group_ = true;
  return Status::OK();
}

Status SqliteSink::Rollback() {
  // Whatever the group created or altered is undone, so the cached table shapes go too.
  targets_.clear();
  in_group_ = false;
  if (db_.is_open() && !sqlite3_get_autocommit(db_.get())) return db_.Exec("ROLLBACK");
  return Status::OK();
}

Result<bool> SqliteSink::TableExists(const std::string& table) {
  ASSIGN_OR_RETURN(SqliteStmt stmt,
                   db_.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? "
                               "COLLATE NOCASE"));
  stmt.BindText(1, table);
  return stmt.Step();
}

Result<std::vector<std::string>> SqliteSink::Columns(const std::string& table) {
  ASSIGN_OR_RETURN(SqliteStmt stmt, db_.Prepare("SELECT name FROM pragma_table_info(?)"));
  stmt.BindText(1, table);
  std::vector<std::string> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(stmt.ColumnText(0));
  }
  return out;
}

Result<Target*> SqliteSink::PrepareTarget(const std::string& user_table, const RecordBatch& batch) {
  const bool replace = cfg_.mode == WriteMode::kReplace;
  const std::string table = replace ? StagingTable(user_table) : user_table;
  auto& slot = targets_[IdentKey(table)];
  if (!slot) {
    slot = std::make_unique<Target>();
    slot->table = table;
    slot->user_table = user_table;
  }
  Target& t = *slot;
  if (KeyMode(cfg_.mode) && t.key.empty()) {
    t.key = stream_keys_->For(batch.stream, cfg_.key);
    if (t.key.empty()) return Status::InvalidArgument("sink" + MissingKey(ModeName(cfg_.mode), batch.stream));
  }
  const Schema& schema = *batch.schema();
  if (!t.ready) {
    if (replace && !resume_staging_ && !staged_.count(IdentKey(user_table))) {
      // A fresh full refresh: whatever an abandoned run left in the staging table goes.
      RETURN_IF_ERROR(db_.Exec("DROP TABLE IF EXISTS " + QuoteSqlIdent(table)));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> cols, Columns(table));
    for (const auto& c : cols) t.columns.insert(IdentKey(c));
    t.ready = true;
  }
  if (!t.prepared || !(t.schema == schema)) {
    RETURN_IF_ERROR(CreateOrWiden(t, schema));
    if (KeyMode(cfg_.mode) && !t.key_checked) {
      RETURN_IF_ERROR(EnsureUniqueKey(t));
      t.key_checked = true;
    }
    RETURN_IF_ERROR(PrepareStatements(t, schema));
  }
  return &t;
}

// Creates the table from `schema`, or adds the columns of `schema` that the table lacks.
Status SqliteSink::CreateOrWiden(Target& t, const Schema& schema) {
  std::set<std::string> seen;
  for (const Field& f : schema.fields()) {
    if (!seen.insert(IdentKey(f.name)).second) {
      return Status::Permanent("sqlite table " + QuoteSqlIdent(t.user_table) +
                               ": the batch has two columns named '" + f.name +
                               "' (SQLite column names ignore case)");
    }
  }
  if (t.columns.empty()) {
    if (schema.size() == 0) {
      return Status::Permanent("sqlite table " + QuoteSqlIdent(t.user_table) +
                               ": cannot create a table with no columns");
    }
    std::string sql = "CREATE TABLE " + QuoteSqlIdent(t.table) + " (";
    if (cfg_.mode == WriteMode::kChangelog) {
      // AUTOINCREMENT: an ordinal is never reused, even after the last rows are deleted.
      sql += QuoteSqlIdent(kSeqColumn) + " INTEGER PRIMARY KEY AUTOINCREMENT, ";
      t.columns.insert(IdentKey(kSeqColumn));
    }
    for (size_t i = 0; i < schema.size(); ++i) {
      if (i) sql += ", ";
      sql += QuoteSqlIdent(schema.field(i).name) + " " + DeclaredType(schema.field(i).type);
    }
    sql += ")";
    Status st = db_.Exec(sql);
    if (!st.ok()) return st.WithContext("sqlite sink: creating table " + QuoteSqlIdent(t.table));
    for (const Field& f : schema.fields()) t.columns.insert(IdentKey(f.name));
    Info("created table " + QuoteSqlIdent(t.table));
    return Status::OK();
  }
  for (const Field& f : schema.fields()) {
    if (t.columns.count(IdentKey(f.name))) continue;
    Status st = db_.Exec("ALTER TABLE " + QuoteSqlIdent(t.table) + " ADD COLUMN " +
                         QuoteSqlIdent(f.name) + " " + DeclaredType(f.type));
    if (!st.ok()) {
      return st.WithContext("sqlite sink: adding column " + QuoteSqlIdent(f.name) + " to table " +
                            QuoteSqlIdent(t.table));
    }
    t.columns.insert(IdentKey(f.name));
    Info("added column " + QuoteSqlIdent(f.name) + " to table " + QuoteSqlIdent(t.table));
  }
  return Status::OK();
}

// ON CONFLICT(key) needs a PRIMARY KEY or a UNIQUE index on exactly the key columns.
Status SqliteSink::EnsureUniqueKey(Target& t) {
  std::set<std::string> want;
  for (const auto& k : t.key) want.insert(IdentKey(k));
  for (const auto& k : t.key) {
    if (!t.columns.count(IdentKey(k))) {
      return Status::InvalidArgument("sink.key: column '" + k + "' is not in table " +
                                     QuoteSqlIdent(t.table) + " nor in the incoming rows");
    }
  }
  {
    ASSIGN_OR_RETURN(SqliteStmt pk, db_.Prepare("SELECT name FROM pragma_table_info(?) WHERE pk > 0"));
    pk.BindText(1, t.table);
    std::set<std::string> have;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, pk.Step());
      if (!row) break;
      have.insert(IdentKey(pk.ColumnText(0)));
    }
    if (have == want) return Status::OK();
  }
  ASSIGN_OR_RETURN(SqliteStmt list, db_.Prepare("SELECT name FROM pragma_index_list(?) WHERE "
                                                "\"unique\" AND NOT partial"));
  list.BindText(1, t.table);
  std::vector<std::string> indexes;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    indexes.push_back(list.ColumnText(0));
  }
  for (const auto& index : indexes) {
    ASSIGN_OR_RETURN(SqliteStmt info, db_.Prepare("SELECT name FROM pragma_index_info(?)"));
    info.BindText(1, index);
    std::set<std::string> have;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, info.Step());
      if (!row) break;
      have.insert(IdentKey(info.ColumnText(0)));
    }
    if (have == want) return Status::OK();
  }
  // Our own index under another key (the key option changed) is replaced.
  const std::string index = QuoteSqlIdent(t.table + std::string(kKeyIndexSuffix));
  RETURN_IF_ERROR(db_.Exec("DROP INDEX IF EXISTS " + index));
  Status st = db_.Exec("CREATE UNIQUE INDEX " + index + " ON " + QuoteSqlIdent(t.table) + " (" +
                       QuotedList(t.key) + ")");
  if (st.code() == StatusCode::kInvalidArgument) {
    return Status::Permanent("sqlite table " + QuoteSqlIdent(t.table) + " has rows with the same key (" +
                             Join(t.key, ", ") + "), so the unique index that " +
                             ModeName(cfg_.mode) +
                             " needs cannot be created. Remove the duplicates, or use mode: append. (" +
                             st.message() + ")");
  }
  if (!st.ok()) return st;
  Info("created unique index " + index + " for the " + std::string(ModeName(cfg_.mode)) + " key");
  return Status::OK();
}

Status SqliteSink::PrepareStatements(Target& t, const Schema& schema) {
  t.prepared = false;
  t.multi = SqliteStmt();
  t.single = SqliteStmt();
  t.del = SqliteStmt();
  t.partial = SqliteStmt();
  t.partial_fields.clear();
  const size_t ncols = schema.size();
  t.kinds.clear();
  std::vector<std::string> names;
  for (const Field& f : schema.fields()) {
    t.kinds.push_back(KindOf(f.type));
    names.push_back(f.name);
  }
  t.key_fields.clear();
  std::string conflict;
  if (KeyMode(cfg_.mode)) {
    for (const auto& k : t.key) {
      int at = -1;
      for (size_t i = 0; i < ncols; ++i) {
        if (IdentKey(schema.field(i).name) == IdentKey(k)) at = static_cast<int>(i);
      }
      if (at < 0) {
        return Status::InvalidArgument("sink.key: column '" + k + "' is not in the rows of table " +
                                       QuoteSqlIdent(t.user_table) + " (columns: " +
                                       Join(names, ", ") + ")");
      }
      t.key_fields.push_back(at);
    }
    std::string set;
    for (size_t i = 0; i < ncols; ++i) {
      bool is_key = false;
      for (int k : t.key_fields) is_key |= (k == static_cast<int>(i));
      if (is_key) continue;
      if (!set.empty()) set += ", ";
      set += QuoteSqlIdent(names[i]) + " = excluded." + QuoteSqlIdent(names[i]);
    }
    conflict = " ON CONFLICT (" + QuotedList(t.key) + ") DO " +
               (set.empty() ? std::string("NOTHING") : "UPDATE SET " + set);
    if (!cfg_.version.empty() && !set.empty()) {
      int at = -1;
      for (size_t i = 0; i < ncols; ++i) {
        if (IdentKey(names[i]) == IdentKey(cfg_.version)) at = static_cast<int>(i);
      }
      if (at < 0) {
        return Status::InvalidArgument("sink.version: column '" + cfg_.version + "' is not in the rows of table " +
                                       QuoteSqlIdent(t.user_table) + " (columns: " + Join(names, ", ") + ")");
      }
      // Decimals are stored as text: compared as numbers. Timestamps and dates are ISO text,
      // which sorts as it reads. A row without a version never replaces one with a version.
      const bool decimal = schema.field(static_cast<size_t>(at)).type.id == TypeId::kDecimal;
      auto v = [&](const std::string& row) {
        const std::string col = row + "." + QuoteSqlIdent(names[static_cast<size_t>(at)]);
        return decimal ? "CAST(" + col + " AS REAL)" : col;
      };
      conflict += " WHERE " + v("excluded") + " >= " + v(QuoteSqlIdent(t.table)) + " OR " +
                  QuoteSqlIdent(t.table) + "." + QuoteSqlIdent(names[static_cast<size_t>(at)]) + " IS NULL";
    }
  }
  std::string head = "INSERT INTO " + QuoteSqlIdent(t.table) + " (" + QuotedList(names) + ") VALUES ";
  std::string row = "(";
  for (size_t i = 0; i < ncols; ++i) row += i ? ", ?" : "?";
  row += ")";
  ASSIGN_OR_RETURN(t.single, db_.Prepare(head + row + conflict));
  int max_vars = sqlite3_limit(db_.get(), SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  t.multi_rows = std::min<int>(kRowsPerInsert, max_vars / static_cast<int>(ncols));
  if (t.multi_rows > 1) {
    std::string sql = head;
    for (int r = 0; r < t.multi_rows; ++r) {
      if (r) sql += ", ";
      sql += row;
    }
    ASSIGN_OR_RETURN(t.multi, db_.Prepare(sql + conflict));
  }
  if (cfg_.mode == WriteMode::kReplicate) {
    std::string where;
    for (int k : t.key_fields) {
      where += std::string(where.empty() ? " WHERE " : " AND ") +
               QuoteSqlIdent(names[static_cast<size_t>(k)]) + " = ?";
    }
    ASSIGN_OR_RETURN(t.del, db_.Prepare("DELETE FROM " + QuoteSqlIdent(t.table) + where));
    // A flag per column: 1 keeps the stored value (the source did not send it).
    std::string set;
    for (size_t i = 0; i < ncols; ++i) {
      if (std::find(t.key_fields.begin(), t.key_fields.end(), static_cast<int>(i)) != t.key_fields.end())
        continue;
      const std::string col = QuoteSqlIdent(names[i]);
      set += std::string(set.empty() ? "" : ", ") + col + " = CASE WHEN ? THEN " + col + " ELSE ? END";
      t.partial_fields.push_back(static_cast<int>(i));
    }
    if (set.empty()) {
      const std::string col = QuoteSqlIdent(names[static_cast<size_t>(t.key_fields[0])]);
      set = col + " = " + col;
    }
    ASSIGN_OR_RETURN(t.partial, db_.Prepare("UPDATE " + QuoteSqlIdent(t.table) + " SET " + set + where));
  }
  t.schema = schema;
  t.prepared = true;
  return Status::OK();
}

// Upsert rows need their key: a null key would insert a new row on every rerun.
Status SqliteSink::CheckKeys(const Target& t, const RecordBatch& batch) const {
  for (size_t k = 0; k < t.key_fields.size(); ++k) {
    const Column& col = batch.column(t.key_fields[k]);
    if (col.null_count() == 0) continue;
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      if (!col.IsNull(r)) continue;
      return Status::Permanent("sqlite table " + QuoteSqlIdent(t.user_table) + ": key column '" +
                               t.key[k] + "' is null in the row from " + RowOriginText(batch, r) +
                               "; upsert needs a key in every row (declare the column not null "
                               "in the contract to quarantine such rows)");
    }
  }
  return Status::OK();
}

Status SqliteSink::Write(const RecordBatch& batch) {
  RETURN_IF_ERROR(CheckOpen());
  ASSIGN_OR_RETURN(std::string table, TableFor(batch.stream));
  if (batch.schema()->size() == 0) {
    if (batch.num_rows() == 0) return Status::OK();
    return Status::Permanent("sqlite table " + QuoteSqlIdent(table) + ": rows without columns");
  }
  RETURN_IF_ERROR(Begin());
  if (cfg_.mode == WriteMode::kChangelog) {
    RecordBatchPtr events = sql::ChangelogBatch(batch);
    ASSIGN_OR_RETURN(Target * t, PrepareTarget(table, *events));
    return InsertRows(*t, *events);
  }
  ASSIGN_OR_RETURN(Target * t, PrepareTarget(table, batch));
  if (cfg_.mode == WriteMode::kReplicate) return ApplyChanges(*t, batch);
  RETURN_IF_ERROR(CheckKeys(*t, batch));
  return InsertRows(*t, batch);
}

// Replicate: the batch compacted by key, then deletes (a delete followed by a re-insert deletes
// first), then whole rows by upsert, then updates that leave unchanged columns as stored. A row
// with a null key, and a partial update of a row the table does not hold (its unchanged columns
// cannot be filled in), are refused with the reason.
Status SqliteSink::ApplyChanges(Target& t, const RecordBatch& batch) {
  sql::CompactedRows c = sql::CompactByKey(batch, t.key_fields, true);
  for (int64_t r : c.null_key_rows) {
    RefuseWith(t, batch, r, t.key[0],
               "the key (" + Join(t.key, ", ") + ") is null, so the change cannot be applied by key");
  }
  // The compacted rows as a batch, each with the origin of its key's last change.
  auto rows = std::make_shared<RecordBatch>(batch.schema(), c.owned.empty() ? batch.columns() : c.owned,
                                            c.num_rows);
  rows->stream = batch.stream;
  rows->origin_unit = batch.origin_unit;
  rows->TakeRowMeta(batch, c.batch_row);
  std::vector<int64_t> upserts, partials;
  Status st;
  for (int64_t i = 0; st.ok() && i < c.num_rows; ++i) {
    const char op = c.ops->BytesAt(i)[0];
    if (op == 'p') partials.push_back(i);
    if (op == 'c') upserts.push_back(i);
    if (op != 'd' && op != 'R') continue;
    sqlite3_stmt* s = t.del.get();
    for (size_t k = 0; st.ok() && k < t.key_fields.size(); ++k) {
      st = BindOne(t, s, static_cast<int>(k) + 1, *rows, t.key_fields[k], i);
    }
    if (st.ok()) st = t.del.Run();
    if (!st.ok()) {
      sqlite3_reset(s);
      st = Refuse(t, *rows, i, st);
      continue;  // refused (a foreign key): its re-insert must not update the old row instead
    }
    if (op == 'R') upserts.push_back(i);
  }
  sqlite3_clear_bindings(t.del.get());
  RETURN_IF_ERROR(st);
  if (!upserts.empty()) RETURN_IF_ERROR(InsertRows(t, *SelectRows(rows, upserts)));
  for (int64_t i : partials) {
    sqlite3_stmt* s = t.partial.get();
    const std::string_view mask = c.unchanged->BytesAt(i);
    int p = 1;
    std::vector<std::string> missing;
    for (int f : t.partial_fields) {
      const bool keep = mask[static_cast<size_t>(f)] == '1';
      if (keep) missing.push_back(batch.schema()->field(static_cast<size_t>(f)).name);
      sqlite3_bind_int(s, p, keep ? 1 : 0);
      if (keep) {
        sqlite3_bind_null(s, p + 1);
      } else {
        st = BindOne(t, s, p + 1, *rows, f, i);
      }
      p += 2;
      if (!st.ok()) break;
    }
    for (size_t k = 0; st.ok() && k < t.key_fields.size(); ++k) {
      st = BindOne(t, s, p++, *rows, t.key_fields[k], i);
    }
    if (st.ok()) st = t.partial.Run();
    if (!st.ok()) {
      sqlite3_reset(s);
      st = Refuse(t, *rows, i, st);
    } else if (sqlite3_changes(db_.get()) == 0) {
      RefuseWith(t, *rows, i, missing.empty() ? "" : missing[0],
                 "an update of a row that the table does not hold, and the source did not send "
                 "column(s) " + Join(missing, ", ") +
                 " (unchanged values), so the row cannot be inserted whole. The replica lacks "
                 "rows of the source table: a snapshot of it fills them in");
    }
    sqlite3_clear_bindings(s);
    RETURN_IF_ERROR(st);
  }
  return Status::OK();
}

// Binds row `row` of batch field `field` to parameter `param`. The value is copied.
Status SqliteSink::BindOne(const Target& t, sqlite3_stmt* s, int param, const RecordBatch& batch,
                           int field, int64_t row) {
  const Column& col = batch.column(static_cast<size_t>(field));
  int rc = SQLITE_OK;
  if (col.IsNull(row)) {
    rc = sqlite3_bind_null(s, param);
  } else {
    switch (t.kinds[static_cast<size_t>(field)]) {
      case BindKind::kBool: rc = sqlite3_bind_int(s, param, col.BoolAt(row)); break;
      case BindKind::kInt64: rc = sqlite3_bind_int64(s, param, col.Int64At(row)); break;
      case BindKind::kFloat64: {
        double v = col.Float64At(row);
        rc = v == v ? sqlite3_bind_double(s, param, v) : sqlite3_bind_text(s, param, "NaN", 3, SQLITE_STATIC);
        break;
      }
      case BindKind::kText: {
        std::string_view v = col.BytesAt(row);
        rc = sqlite3_bind_text64(s, param, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
      }
      case BindKind::kBlob: {
        std::string_view v = col.BytesAt(row);
        rc = sqlite3_bind_blob64(s, param, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT);
        break;
      }
      case BindKind::kFormatted: {
        char buf[kMaxTextForm];
        char* end = PutTextForm(buf, col, row);
        rc = sqlite3_bind_text(s, param, buf, static_cast<int>(end - buf), SQLITE_TRANSIENT);
        break;
      }
    }
  }
  if (rc != SQLITE_OK) {
    return Status::Permanent("sqlite table " + QuoteSqlIdent(t.user_table) + ": a value in the row from " +
                             RowOriginText(batch, row) + " is too big for SQLite");
  }
  return Status::OK();
}

Status SqliteSink::InsertRows(Target& t, const RecordBatch& batch) {
  const int64_t n = batch.num_rows();
  int64_t r = 0;
  Status st;
  if (t.multi_rows > 1) {
    for (; st.ok() && n - r >= t.multi_rows; r += t.multi_rows) {
      st = BindRows(t, t.multi, batch, r, t.multi_rows);
      if (st.ok()) st = t.multi.Step().status();
      sqlite3_reset(t.multi.get());
      if (!st.ok()) st = RefusedRows(t, batch, r, t.multi_rows, st);
    }
  }
  for (; st.ok() && r < n; ++r) {
    st = BindRows(t, t.single, batch, r, 1);
    if (st.ok()) st = t.single.Step().status();
    sqlite3_reset(t.single.get());
    if (!st.ok()) st = Refuse(t, batch, r, st);
  }
  // The statements bound the batch's memory without a copy; the batch may go away after return.
  if (t.multi.get()) sqlite3_clear_bindings(t.multi.get());
  sqlite3_clear_bindings(t.single.get());
  return st;
}

Status SqliteSink::BindRows(Target& t, SqliteStmt& stmt, const RecordBatch& batch, int64_t r0,
                            int64_t n) {
  sqlite3_stmt* s = stmt.get();
  const int ncols = static_cast<int>(t.kinds.size());
  // Text forms first, all of them, so that the buffer no longer moves while they are bound.
  spans_.clear();
  size_t formatted = 0;
  for (int c = 0; c < ncols; ++c) formatted += t.kinds[c] == BindKind::kFormatted;
  if (text_.size() < formatted * n * kMaxTextForm) text_.resize(formatted * n * kMaxTextForm);
  char* out = text_.data();
  for (int c = 0; c < ncols; ++c) {
    if (t.kinds[c] != BindKind::kFormatted) continue;
    const Column& col = batch.column(c);
    for (int64_t r = r0; r < r0 + n; ++r) {
      if (col.IsNull(r)) continue;
      char* end = PutTextForm(out, col, r);
      spans_.emplace_back(static_cast<uint32_t>(out - text_.data()), static_cast<uint32_t>(end - out));
      out = end;
    }
  }
  size_t span = 0;
  int bad = SQLITE_OK;
  for (int c = 0; c < ncols; ++c) {
    const Column& col = batch.column(c);
    int p = c + 1;
    switch (t.kinds[c]) {
      case BindKind::kBool:
        for (int64_t r = r0; r < r0 + n; ++r, p += ncols) {
          bad |= col.IsNull(r) ? sqlite3_bind_null(s, p) : sqlite3_bind_int(s, p, col.BoolAt(r));
        }
        break;
      case BindKind::kInt64:
        for (int64_t r = r0; r < r0 + n; ++r, p += ncols) {
          bad |= col.IsNull(r) ? sqlite3_bind_null(s, p) : sqlite3_bind_int64(s, p, col.Int64At(r));
        }
        break;
      case BindKind::kFloat64:
        for (int64_t r = r0; r < r0 + n; ++r, p += ncols) {
          if (col.IsNull(r)) {
            bad |= sqlite3_bind_null(s, p);
            continue;
          }
          double v = col.Float64At(r);
          // SQLite stores a bound NaN as NULL; the text keeps the value (REAL affinity leaves
          // non-numeric text as it is).
          bad |= v == v ? sqlite3_bind_double(s, p, v)
                        : sqlite3_bind_text(s, p, "NaN", 3, SQLITE_STATIC);
        }
        break;
      case BindKind::kText:
        for (int64_t r = r0; r < r0 + n; ++r, p += ncols) {
          if (col.IsNull(r)) {
            bad |= sqlite3_bind_null(s, p);
            continue;
          }
          std::string_view v = col.BytesAt(r);
          bad |= sqlite3_bind_text64(s, p, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
        }
        break;
      case BindKind::kBlob:
        for (int64_t r = r0; r < r0 + n; ++r, p += ncols) {
          if (col.IsNull(r)) {
            bad |= sqlite3_bind_null(s, p);
            continue;
          }
          std::string_view v = col.BytesAt(r);
          // A zero-length blob needs a non-null pointer, or SQLite stores NULL.
          bad |= sqlite3_bind_blob64(s, p, v.empty() ? "" : v.data(), v.size(), SQLITE_STATIC);
        }
        break;
      case BindKind::kFormatted:
        for (int64_t r = r0; r < r0 + n; ++r, p += ncols) {
          if (col.IsNull(r)) {
            bad |= sqlite3_bind_null(s, p);
            continue;
          }
          const auto& [at, len] = spans_[span++];
          bad |= sqlite3_bind_text(s, p, text_.data() + at, static_cast<int>(len), SQLITE_STATIC);
        }
        break;
    }
  }
  if (bad != SQLITE_OK) {
    // Binding fails only for a value over SQLite's length limit (SQLITE_TOOBIG).
    return Status::Permanent("sqlite table " + QuoteSqlIdent(t.user_table) + ": a value in the rows from " +
                             RowOriginText(batch, r0) + " is too big for SQLite (over " +
                             std::to_string(sqlite3_limit(db_.get(), SQLITE_LIMIT_LENGTH, -1)) +
                             " bytes)");
  }
  return Status::OK();
}

// A multi-row statement failed. When SQLite refused a value (a constraint, a STRICT column), the
// statement left no trace, so its rows are inserted one by one and only the refused ones are left
// out; other errors (busy, disk full) pass through.
Status SqliteSink::RefusedRows(Target& t, const RecordBatch& batch, int64_t r0, int64_t n,
                               const Status& st) {
  if (st.code() != StatusCode::kInvalidArgument) {
    return st.WithContext("sqlite table " + QuoteSqlIdent(t.user_table));
  }
  for (int64_t r = r0; r < r0 + n; ++r) {
    Status s = BindRows(t, t.single, batch, r, 1);
    if (s.ok()) s = t.single.Step().status();
    sqlite3_reset(t.single.get());
    if (!s.ok()) RETURN_IF_ERROR(Refuse(t, batch, r, s));
  }
  return Status::OK();
}

// One row's statement failed: a refused value becomes a RejectedRow naming the row, column and
// value, and the load goes on; any other error is returned.
Status SqliteSink::Refuse(Target& t, const RecordBatch& batch, int64_t row, const Status& st) {
  const std::string where = "sqlite table " + QuoteSqlIdent(t.user_table);
  if (st.code() != StatusCode::kInvalidArgument) return st.WithContext(where);
  std::string msg = where + " refused the row";
  std::string column = ColumnInMessage(st.message(), t.table);
  int field = column.empty() ? -1 : batch.schema()->IndexOf(column);
  if (!column.empty()) {
    msg += ", column '" + column + "'";
    if (field >= 0) {
      const Column& col = batch.column(static_cast<size_t>(field));
      std::string value;
      AppendValueText(col, row, value);
      msg += col.IsNull(row) ? " (null)" : " (value '" + PrintableExcerpt(value, 80) + "')";
    } else {
      msg += " (not in the incoming rows, so null)";
    }
  }
  // "sqlite: NOT NULL constraint failed: t.amount" -> the part after the wrapper's prefix.
  std::string reason = st.message();
  if (StartsWith(reason, "sqlite: ")) reason = reason.substr(8);
  RejectedRow r;
  r.stream = batch.stream;
  r.origin = RowOriginText(batch, row);
  r.position_key = r.origin + "#sink";
  r.raw = RowJson(batch, row);
  r.rule = "sink";
  r.column = column;
  r.reason = msg + ": " + reason;
  refused_.push_back(std::move(r));
  return Status::OK();
}

// A row the sink refuses for a reason of its own (not SQLite's).
void SqliteSink::RefuseWith(const Target& t, const RecordBatch& batch, int64_t row,
                            const std::string& column, const std::string& reason) {
  RejectedRow r;
  r.stream = batch.stream;
  r.origin = RowOriginText(batch, row);
  r.position_key = r.origin + "#sink";
  r.raw = RowJson(batch, row);
  r.rule = "sink";
  r.column = column;
  r.reason = "sqlite table " + QuoteSqlIdent(t.user_table) + " refused the row: " + reason;
  refused_.push_back(std::move(r));
}

Status SqliteSink::Commit(const CommitState& state) {
  RETURN_IF_ERROR(CheckOpen());
  RETURN_IF_ERROR(Begin());
  const std::string sink = StateSink();
  Status st;
  for (const SourcePosition& pos : state.positions) {
    put_state_.BindText(1, pipeline_);
    put_state_.BindText(2, sink);
    put_state_.BindText(3, pos.stream);
    put_state_.BindText(4, pos.key);
    put_state_.BindText(5, pos.value);
    st = put_state_.Run();
    if (!st.ok()) break;
  }
  if (st.ok()) {
    // Cumulative counters live under the sink's own name in every mode: they count what was
    // loaded, staged or not.
    get_state_.BindText(1, pipeline_);
    get_state_.BindText(2, cfg_.name);
    get_state_.BindText(3, "");
    get_state_.BindText(4, kCountersKey);
    auto row = get_state_.Step();
    std::string previous = row.ok() && *row ? get_state_.ColumnText(0) : "";
    get_state_.Reset();
    st = row.status();
    if (st.ok()) {
      put_state_.BindText(1, pipeline_);
      put_state_.BindText(2, cfg_.name);
      put_state_.BindText(3, "");
      put_state_.BindText(4, kCountersKey);
      put_state_.BindText(5, AddCountersJson(previous, state.counters));
      st = put_state_.Run();
    }
  }
  if (st.ok()) st = db_.Exec("COMMIT");
  if (!st.ok()) {
    (void)Rollback();
    return st.WithContext("sqlite sink: commit");
  }
  in_group_ = false;
  if (cfg_.mode == WriteMode::kReplace) {
    for (const auto& entry : targets_) {
      staged_[IdentKey(entry.second->user_table)] = entry.second->user_table;
    }
  }
  return Status::OK();
}

Status SqliteSink::Abort() {
  refused_.clear();
  Status st = Rollback();
  if (!st.ok()) return st.WithContext("sqlite sink: rollback");
  return Status::OK();
}

// Replace mode: one transaction swaps every staged table in and makes its positions the sink's.
Status SqliteSink::Finish() {
  if (cfg_.mode != WriteMode::kReplace) return Status::OK();
  RETURN_IF_ERROR(CheckOpen());
  if (in_group_) return Status::Internal("sqlite sink: Finish with an uncommitted commit group");
  std::map<std::string, std::string> tables = staged_;
  ASSIGN_OR_RETURN(std::vector<std::string> streams, StagedStreams());
  for (const auto& s : streams) {
    ASSIGN_OR_RETURN(std::string table, TableFor(s));
    tables.emplace(IdentKey(table), table);
  }
  if (tables.empty()) return Status::OK();
  // Legacy rename leaves views alone: a view on the table resolves to the new one by name, where
  // the modern rename refuses to run while the view points at a dropped table.
  RETURN_IF_ERROR(db_.Exec("PRAGMA legacy_alter_table = ON"));
  Status st = Begin();
  for (auto it = tables.begin(); st.ok() && it != tables.end(); ++it) {
    const std::string& table = it->second;
    auto staged = TableExists(StagingTable(table));
    st = staged.status();
    if (!st.ok()) break;
    if (*staged) {
      st = db_.Exec("DROP TABLE IF EXISTS " + QuoteSqlIdent(table));
      if (st.ok()) {
        st = db_.Exec("ALTER TABLE " + QuoteSqlIdent(StagingTable(table)) + " RENAME TO " +
                      QuoteSqlIdent(table));
      }
    } else {
      // Every staged group was empty: the refreshed table has no rows.
      auto exists = TableExists(table);
      st = exists.status();
      if (st.ok() && *exists) st = db_.Exec("DELETE FROM " + QuoteSqlIdent(table));
    }
  }
  if (st.ok()) {
    auto stmt = db_.Prepare("DELETE FROM _sluice_state WHERE pipeline = ? AND sink = ? AND "
                            "NOT (stream = '' AND key = '" + std::string(kCountersKey) + "')");
    st = stmt.status();
    if (st.ok()) {
      stmt->BindText(1, pipeline_);
      stmt->BindText(2, cfg_.name);
      st = stmt->Run();
    }
  }
  if (st.ok()) {
    auto stmt = db_.Prepare("UPDATE _sluice_state SET sink = ? WHERE pipeline = ? AND sink = ?");
    st = stmt.status();
    if (st.ok()) {
      stmt->BindText(1, cfg_.name);
      stmt->BindText(2, pipeline_);
      stmt->BindText(3, StateSink());
      st = stmt->Run();
    }
  }
  if (st.ok()) st = db_.Exec("COMMIT");
  if (!st.ok()) (void)Rollback();
  in_group_ = false;
  (void)db_.Exec("PRAGMA legacy_alter_table = OFF");
  if (!st.ok()) return st.WithContext("sqlite sink: swapping in the replaced tables");
  for (const auto& entry : tables) Info("replaced table " + QuoteSqlIdent(entry.second));
  staged_.clear();
  targets_.clear();
  resume_staging_ = false;
  return Status::OK();
}

Status SqliteSink::Close() {
  Status st = Rollback();
  // Closing the last connection checkpoints the WAL into the database file and removes it.
  targets_.clear();
  put_state_ = SqliteStmt();
  get_state_ = SqliteStmt();
  db_.Close();
  return st;
}

Status SqliteSink::ResetState(const std::string& stream) {
  RETURN_IF_ERROR(CheckOpen());
  if (in_group_) return Status::Internal("sqlite sink: ResetState with an open commit group");
  // Forgetting staged positions also drops their staging rows: a staging table without
  // positions would otherwise be resumed with rows of unknown origin.
  std::vector<std::string> streams;
  if (cfg_.mode == WriteMode::kReplace) {
    if (stream.empty()) {
      ASSIGN_OR_RETURN(streams, StagedStreams());
    } else {
      streams.push_back(stream);
    }
  }
  RETURN_IF_ERROR(Begin());
  Status st;
  for (const auto& s : streams) {
    auto table = TableFor(s);
    if (!table.ok()) continue;
    st = db_.Exec("DROP TABLE IF EXISTS " + QuoteSqlIdent(StagingTable(*table)));
    if (!st.ok()) break;
  }
  if (st.ok()) {
    std::string sql = "DELETE FROM _sluice_state WHERE pipeline = ? AND sink IN (?, ?)";
    if (!stream.empty()) sql += " AND stream = ?";
    auto stmt = db_.Prepare(sql);
    st = stmt.status();
    if (st.ok()) {
      stmt->BindText(1, pipeline_);
      stmt->BindText(2, cfg_.name);
      stmt->BindText(3, cfg_.name + std::string(kStagingSinkSuffix));
      if (!stream.empty()) stmt->BindText(4, stream);
      st = stmt->Run();
    }
  }
  if (st.ok()) st = db_.Exec("COMMIT");
  if (!st.ok()) {
    (void)Rollback();
    return st.WithContext("sqlite sink: resetting state");
  }
  in_group_ = false;
  staged_.clear();
  resume_staging_ = false;
  return Status::OK();
}

std::string SqliteSink::Describe() const {
  std::string table = cfg_.table.empty() ? std::string("<stream name>") : cfg_.table;
  return "sqlite " + cfg_.display_path + " table " + table + " (" + ModeName(cfg_.mode) + ")";
}

const OptionSchema& SqliteSinkOptions() {
  static const OptionSchema schema = {
      {"path", OptionType::kString, "",
       "SQLite database file, created when missing; relative to the pipeline file", true},
      {"table", OptionType::kString, "",
       "target table (default: the stream name); '{stream}' in the name is replaced by the "
       "stream name"},
      {"mode", OptionType::kEnum, "append",
       "append: add the rows; upsert: insert or update by key; replace: load into "
       "<table>__sluice_staging and swap it in, in one transaction, when the input ends; "
       "replicate: apply change data (insert, update, delete) by key; changelog: append one row "
       "per change (_sluice_seq, op, before, after, source)",
       false, {"append", "upsert", "replace", "replicate", "changelog"}},
      {"key", OptionType::kStringList, "",
       "columns that identify a row; required by upsert and replicate, which create a unique "
       "index on them when the table has none"},
      {"version", OptionType::kString, "",
       "[upsert] a column that orders the versions of a row (updated_at, a version number): a row "
       "older than the stored one leaves it as it is, so a late or replayed row never overwrites a "
       "newer one"},
      {"name", OptionType::kString, "sqlite",
       "this sink's name in the _sluice_state table; set it when two pipelines' sinks of the "
       "same name share a database and pipeline name"},
  };
  return schema;
}

Result<std::unique_ptr<Sink>> MakeSqliteSink(const ConnectorContext& ctx, const ConfigNode& block) {
  Options opts(&block, &SqliteSinkOptions());
  const std::string where = block.path().empty() ? "sink" : block.path();
  SqliteSinkConfig cfg;
  cfg.display_path = opts.GetString("path");
  if (cfg.display_path.empty()) {
    return Status::InvalidArgument(where + ".path: required option is missing (the database file)");
  }
  std::filesystem::path path(cfg.display_path);
  if (path.is_relative() && !ctx.base_dir.empty()) path = std::filesystem::path(ctx.base_dir) / path;
  cfg.path = path.lexically_normal().string();
  cfg.table = opts.GetString("table");
  const std::string mode = opts.GetString("mode");
  cfg.mode = mode == "upsert"      ? WriteMode::kUpsert
             : mode == "replace"   ? WriteMode::kReplace
             : mode == "replicate" ? WriteMode::kReplicate
             : mode == "changelog" ? WriteMode::kChangelog
                                   : WriteMode::kAppend;
  cfg.key = opts.GetList("key");
  cfg.version = opts.GetString("version");
  cfg.name = opts.GetString("name");
  if (cfg.name.empty()) return Status::InvalidArgument(where + ".name: must not be empty");
  if (!cfg.version.empty() && cfg.mode != WriteMode::kUpsert) {
    return Status::InvalidArgument(where + ".version: only mode upsert compares versions (mode is " + mode + ")");
  }
  if (KeyMode(cfg.mode) && cfg.key.empty() && !ctx.keys_from_pipeline) return Status::InvalidArgument(where + MissingKey(mode, ""));
  return std::unique_ptr<Sink>(new SqliteSink(ctx, std::move(cfg)));
}

}  // namespace

void RegisterSqliteConnector(ConnectorRegistry& registry) {
  ConnectorInfo info;
  info.type = "sqlite";
  info.kind = "sink";
  info.summary = "SQLite database; rows and checkpoint commit in one transaction";
  info.delivery = "exactly-once";
  info.options = SqliteSinkOptions();
  info.make_sink = MakeSqliteSink;
  registry.Add(std::move(info));
  AddSqliteSource(registry);
}

}  // namespace sluice
