// The `mysql` sink. A commit group is one InnoDB transaction on one connection: START
// TRANSACTION at the group's first Write (or at Commit when every row was quarantined), the rows,
// then the group's positions and counters in `_sluice_state`, then COMMIT. A crash or an error
// before COMMIT leaves neither.
//
// DDL commits implicitly in MySQL, so it never runs on the group's connection while a group is
// open: tables are created, widened and indexed on a second connection, and a table the open
// group already wrote to is widened only after the group is rolled back (see WidenTouched).
//
// Threading: one thread at a time (the sink stage), as the Sink interface states.

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/mysql/mysql.h"
#include "connectors/mysql/mysql_compact.h"
#include "connectors/mysql/mysql_conn.h"
#include "connectors/mysql/mysql_types.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"
#include "state/state_store.h"

namespace sluice::mysql {
namespace {

enum class WriteMode { kAppend, kReplace, kUpsert, kReplicate };
enum class LoadMethod { kLoadData, kInsert };

const char* ModeName(WriteMode m) {
  switch (m) {
    case WriteMode::kAppend:
      return "append";
    case WriteMode::kReplace:
      return "replace";
    case WriteMode::kUpsert:
      return "upsert";
    case WriteMode::kReplicate:
      return "replicate";
  }
  return "append";
}

constexpr std::string_view kStagingSuffix = "__sluice_staging";
constexpr std::string_view kOldSuffix = "__sluice_old";
constexpr std::string_view kKeyIndexSuffix = "__sluice_key";
constexpr std::string_view kStagingSinkSuffix = "#staging";
constexpr const char* kSwapKey = "swap";  // marker of a replace swap in progress
// Bytes of SQL per multi-row statement (README, "Performance"), and never near max_allowed_packet.
constexpr size_t kStatementBytes = 1 << 20;

struct SinkConfig {
  ConnOptions conn;
  std::string table;  // empty: the stream name; "{stream}" is replaced by it
  WriteMode mode = WriteMode::kAppend;
  std::vector<std::string> key;
  std::string version;  // upsert: a stored row is replaced only by one at least as new
  std::string name;
  LoadMethod load = LoadMethod::kLoadData;
};

// Column names compare case-insensitively in MySQL.
std::string IdentKey(std::string_view name) { return ToLower(name); }

std::string QuotedList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += QuoteIdent(n);
  }
  return out;
}

std::string RowOrigin(const RecordBatch& b, int64_t row) {
  if (!b.origin_unit.empty() && row < static_cast<int64_t>(b.origin_lines.size())) {
    return b.origin_unit + ":" + std::to_string(b.origin_lines[row]);
  }
  return "row " + std::to_string(row + 1) + " of a batch of stream '" + b.stream + "'";
}

// The column a server message names: "Column 'x' cannot be null", "Out of range value for column
// 'x' at row 1", "Incorrect integer value: 'a' for column `db`.`t`.`x` at row 1".
std::string ColumnInMessage(const std::string& msg) {
  size_t at = msg.find("column '");
  if (at != std::string::npos) {
    size_t start = at + 8, end = msg.find('\'', start);
    if (end != std::string::npos) return msg.substr(start, end - start);
  }
  at = msg.find("column `");
  if (at != std::string::npos) {
    size_t end = msg.find("` at row", at);
    if (end == std::string::npos) end = msg.rfind('`');
    size_t start = msg.rfind("`.`", end);
    start = (start == std::string::npos || start < at) ? at + 8 : start + 3;
    if (end != std::string::npos && end > start) return msg.substr(start, end - start);
  }
  return {};
}

// The text LOAD DATA reads, served from memory: the server names a file, and whatever it names,
// it gets this buffer (so a server can never read a local file through us).
struct InfileBuffer {
  std::string_view data;
  size_t pos = 0;
};

int InfileInit(void** ptr, const char*, void* userdata) {
  auto* b = static_cast<InfileBuffer*>(userdata);
  b->pos = 0;
  *ptr = b;
  return 0;
}
int InfileRead(void* ptr, char* buf, unsigned int len) {
  auto* b = static_cast<InfileBuffer*>(ptr);
  size_t n = std::min<size_t>(len, b->data.size() - b->pos);
  std::memcpy(buf, b->data.data() + b->pos, n);
  b->pos += n;
  return static_cast<int>(n);
}
void InfileEnd(void*) {}
int InfileError(void*, char* buf, unsigned int len) {
  std::snprintf(buf, len, "sluice: the in-memory LOAD DATA buffer failed");
  return CR_UNKNOWN_ERROR;
}

// One target table of this sink and what is prepared for the batch schema last seen.
struct Target {
  std::string table;       // the physical table (the staging table in replace mode)
  std::string user_table;  // the table the user sees
  bool ready = false;      // `columns` read from the server
  std::map<std::string, std::string> columns;  // IdentKey -> DATA_TYPE
  bool key_checked = false;                    // upsert/replicate: a unique index on the key exists
  bool touched = false;                        // written by the open transaction
  Schema schema;                               // the schema the strings below are built for
  bool prepared = false;
  std::vector<std::string> key;  // upsert, replicate: the key columns (StreamKeys::For)
  std::vector<int> key_fields;
  std::vector<std::string> names;  // batch field names
  std::string load_sql;
};

class MysqlSink final : public Sink {
 public:
  MysqlSink(const ConnectorContext& ctx, SinkConfig cfg)
      : pipeline_(ctx.pipeline),
        log_(ctx.log),
        cfg_(std::move(cfg)),
        stream_tables_(ctx.stream_tables),
        stream_keys_(ctx.stream_keys) {}

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
  std::string StagingSink() const { return cfg_.name + std::string(kStagingSinkSuffix); }
  std::string StateSink() const {
    return cfg_.mode == WriteMode::kReplace ? StagingSink() : cfg_.name;
  }
  std::string Where(const std::string& table) const { return "mysql table " + QuoteIdent(table); }
  Result<std::string> TableFor(const std::string& stream) const;
  Status CheckOpen() const {
    if (!conn_) return Status::Internal("mysql sink used before Open");
    return Status::OK();
  }
  Status Begin();
  Status Rollback();
  Status Ddl(const std::string& sql);
  Result<bool> TableExists(const std::string& table);
  Result<std::map<std::string, std::string>> Columns(const std::string& table);
  Result<Target*> PrepareTarget(const std::string& user_table, const RecordBatch& batch);
  Status CreateOrWiden(Target& t, const Schema& schema);
  Status EnsureUniqueKey(Target& t);
  Status PrepareStatements(Target& t, const Schema& schema);
  // Loading.
  Status AppendRows(Target& t, const RecordBatch& batch);
  Status LoadData(Target& t, const RecordBatch& batch, const std::vector<int64_t>& rows,
                  bool* done);
  Status InsertRows(Target& t, const RecordBatch& batch, const std::vector<int64_t>& rows);
  Status ApplyChanges(Target& t, const RecordBatch& batch);
  using ItemWriter = std::function<void(size_t item, std::string& sql)>;
  using ItemRefuser = std::function<void(size_t item, unsigned code, const std::string& msg)>;
  Status ExecItems(const std::string& head, const std::string& tail, size_t n,
                   const ItemWriter& item, const ItemRefuser& refuse);
  Status Bisect(const std::string& head, const std::string& tail, size_t lo, size_t hi,
                const ItemWriter& item, const ItemRefuser& refuse);
  Status RunStatement(const std::string& sql, unsigned* code, std::string* msg);
  bool HasNonFinite(const RecordBatch& batch, int64_t row, std::string* column) const;
  void Refuse(const Target& t, const RecordBatch& batch, int64_t row, const std::string& column,
              const std::string& reason);
  // State.
  Status PutState(const std::string& sink, const std::string& stream, const std::string& key,
                  const std::string& value);
  Result<StateMap> ReadState(const std::string& sink);
  Result<std::vector<std::string>> StagedStreams();
  Status CompleteSwap(const std::vector<std::string>& tables);
  Status RecoverSwap();
  void Info(const std::string& msg) const {
    if (log_) log_->Info(msg, {{"sink", "mysql"}});
  }

  std::string pipeline_;
  Logger* log_;
  SinkConfig cfg_;
  std::map<std::string, std::string> stream_tables_;  // `streams:` of the pipeline
  std::shared_ptr<StreamKeys> stream_keys_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<Connection> ddl_;  // DDL while a group is open (it would commit the group)
  bool in_group_ = false;
  bool load_data_ok_ = true;  // false once the server refused LOAD DATA LOCAL
  bool resume_staging_ = false;
  std::map<std::string, std::string> staged_;  // user tables with committed staged rows
  std::map<std::string, std::unique_ptr<Target>> targets_;  // by physical table
  InfileBuffer infile_;
  std::string buf_;
  std::vector<RejectedRow> refused_;
};

Result<std::string> MysqlSink::TableFor(const std::string& stream) const {
  return SinkTableFor(cfg_.table, stream, stream_tables_);
}

Status MysqlSink::Open() {
  ASSIGN_OR_RETURN(conn_, Connection::Connect(cfg_.conn, Session::kSink));
  mysql_set_local_infile_handler(conn_->raw(), InfileInit, InfileRead, InfileEnd, InfileError,
                                 &infile_);
  // The key columns' lengths keep the primary key within InnoDB's 3072-byte limit in utf8mb4.
  RETURN_IF_ERROR(conn_->Exec(
      "CREATE TABLE IF NOT EXISTS `_sluice_state` (`pipeline` VARCHAR(128) NOT NULL, "
      "`sink` VARCHAR(64) NOT NULL, `stream` VARCHAR(192) NOT NULL, `key` VARCHAR(384) NOT NULL, "
      "`value` LONGTEXT NOT NULL, `updated_at` DATETIME(6) NOT NULL, "
      "PRIMARY KEY (`pipeline`, `sink`, `stream`, `key`)) "
      "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"));
  if (cfg_.mode == WriteMode::kReplace) {
    RETURN_IF_ERROR(RecoverSwap());
    ASSIGN_OR_RETURN(std::vector<std::string> streams, StagedStreams());
    resume_staging_ = !streams.empty();
    if (resume_staging_) Info("resuming the staged replace of an interrupted run");
  }
  return Status::OK();
}

Result<StateMap> MysqlSink::ReadState(const std::string& sink) {
  ASSIGN_OR_RETURN(auto rows, conn_->Query("SELECT `stream`, `key`, `value` FROM `_sluice_state` "
                                           "WHERE `pipeline` = ? AND `sink` = ?",
                                           {Value::Text(pipeline_), Value::Text(sink)}));
  StateMap out;
  for (auto& r : rows) out[{r[0].value_or(""), r[1].value_or("")}] = r[2].value_or("");
  return out;
}

Result<StateMap> MysqlSink::LoadState() {
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

Result<std::vector<std::string>> MysqlSink::StagedStreams() {
  ASSIGN_OR_RETURN(auto rows, conn_->Query("SELECT DISTINCT `stream` FROM `_sluice_state` WHERE "
                                           "`pipeline` = ? AND `sink` = ? AND `stream` <> ''",
                                           {Value::Text(pipeline_), Value::Text(StagingSink())}));
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(r[0].value_or(""));
  return out;
}

Status MysqlSink::PutState(const std::string& sink, const std::string& stream,
                           const std::string& key, const std::string& value) {
  return conn_
      ->Query(
          "INSERT INTO `_sluice_state` VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY "
          "UPDATE `value` = VALUES(`value`), `updated_at` = VALUES(`updated_at`)",
          {Value::Text(pipeline_), Value::Text(sink), Value::Text(stream), Value::Text(key),
           Value::Text(value)})
      .status();
}

Status MysqlSink::Begin() {
  if (in_group_) return Status::OK();
  Status st = conn_->Exec("START TRANSACTION");
  if (!st.ok()) return st;
  in_group_ = true;
  return Status::OK();
}

Status MysqlSink::Rollback() {
  for (auto& [name, t] : targets_) t->touched = false;
  if (!in_group_) return Status::OK();
  in_group_ = false;
  if (!conn_) return Status::OK();
  // After a lost connection the server has rolled back already; the error says so.
  return conn_->Exec("ROLLBACK");
}

// DDL commits the transaction it runs in, so while a group is open it runs on its own connection.
Status MysqlSink::Ddl(const std::string& sql) {
  if (!in_group_) return conn_->Exec(sql);
  if (!ddl_) {
    ASSIGN_OR_RETURN(ddl_, Connection::Connect(cfg_.conn, Session::kAdmin));
  }
  return ddl_->Exec(sql);
}

Result<bool> MysqlSink::TableExists(const std::string& table) {
  ASSIGN_OR_RETURN(auto rows, conn_->Query("SELECT 1 FROM information_schema.TABLES WHERE "
                                           "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                                           {Value::Text(table)}));
  return !rows.empty();
}

Result<std::map<std::string, std::string>> MysqlSink::Columns(const std::string& table) {
  ASSIGN_OR_RETURN(auto rows,
                   conn_->Query("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                                {Value::Text(table)}));
  std::map<std::string, std::string> out;
  for (auto& r : rows) out[IdentKey(r[0].value_or(""))] = ToLower(r[1].value_or(""));
  return out;
}

Result<Target*> MysqlSink::PrepareTarget(const std::string& user_table, const RecordBatch& batch) {
  const bool replace = cfg_.mode == WriteMode::kReplace;
  const std::string table = replace ? DerivedName(user_table, kStagingSuffix) : user_table;
  auto& slot = targets_[table];
  if (!slot) {
    slot = std::make_unique<Target>();
    slot->table = table;
    slot->user_table = user_table;
  }
  Target& t = *slot;
  if ((cfg_.mode == WriteMode::kUpsert || cfg_.mode == WriteMode::kReplicate) && t.key.empty()) {
    t.key = stream_keys_->For(batch.stream, cfg_.key);
    if (t.key.empty()) {
      return Status::InvalidArgument(
          "sink" + MissingKey(cfg_.mode == WriteMode::kUpsert ? "upsert" : "replicate", batch.stream));
    }
  }
  const Schema& schema = *batch.schema();
  if (!t.ready) {
    if (replace && !resume_staging_ && !staged_.count(user_table)) {
      // A fresh full refresh: whatever an abandoned run left in the staging table goes.
      RETURN_IF_ERROR(Ddl("DROP TABLE IF EXISTS " + QuoteIdent(table)));
    }
    ASSIGN_OR_RETURN(t.columns, Columns(table));
    if (t.columns.empty() && replace) {
      // The refreshed table keeps the user's definition (types, indexes) when it exists.
      ASSIGN_OR_RETURN(bool exists, TableExists(user_table));
      if (exists) {
        RETURN_IF_ERROR(Ddl("CREATE TABLE IF NOT EXISTS " + QuoteIdent(table) + " LIKE " +
                            QuoteIdent(user_table)));
        ASSIGN_OR_RETURN(t.columns, Columns(table));
      }
    }
    t.ready = true;
  }
  if (!t.prepared || !(t.schema == schema)) {
    RETURN_IF_ERROR(CreateOrWiden(t, schema));
    if ((cfg_.mode == WriteMode::kUpsert || cfg_.mode == WriteMode::kReplicate) && !t.key_checked) {
      RETURN_IF_ERROR(EnsureUniqueKey(t));
      t.key_checked = true;
    }
    RETURN_IF_ERROR(PrepareStatements(t, schema));
  }
  return &t;
}

// Creates the table from `schema`, or adds the columns of `schema` that the table lacks.
Status MysqlSink::CreateOrWiden(Target& t, const Schema& schema) {
  std::set<std::string> seen;
  for (const Field& f : schema.fields()) {
    if (!seen.insert(IdentKey(f.name)).second) {
      return Status::Permanent(Where(t.user_table) + ": the batch has two columns named '" +
                               f.name + "' (MySQL column names ignore case)");
    }
  }
  const bool keyed = cfg_.mode == WriteMode::kUpsert || cfg_.mode == WriteMode::kReplicate;
  std::set<std::string> keys;
  if (keyed) {
    for (const auto& k : t.key) keys.insert(IdentKey(k));
  }
  const bool mariadb = conn_->is_mariadb();
  if (t.columns.empty()) {
    for (const auto& k : keys) {
      if (!seen.count(k)) {
        return Status::InvalidArgument("sink.key: column '" + k + "' is not in the rows of table " +
                                       QuoteIdent(t.user_table));
      }
    }
    std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdent(t.table) + " (";
    for (size_t i = 0; i < schema.size(); ++i) {
      const Field& f = schema.field(i);
      const bool is_key = keys.count(IdentKey(f.name)) > 0;
      if (i) sql += ", ";
      sql += QuoteIdent(f.name) + " " + DdlType(f.type, is_key, mariadb) +
             (is_key ? " NOT NULL" : " NULL");
    }
    if (keyed) sql += ", PRIMARY KEY (" + QuotedList(t.key) + ")";
    sql += ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
    Status st = Ddl(sql);
    if (!st.ok()) return st.WithContext("mysql sink: creating table " + QuoteIdent(t.table));
    ASSIGN_OR_RETURN(t.columns, Columns(t.table));
    Info("created table " + QuoteIdent(t.table));
    return Status::OK();
  }
  std::vector<const Field*> missing;
  for (const Field& f : schema.fields()) {
    if (!t.columns.count(IdentKey(f.name))) missing.push_back(&f);
  }
  if (missing.empty()) return Status::OK();
  std::string sql = "ALTER TABLE " + QuoteIdent(t.table);
  std::string names;
  for (size_t i = 0; i < missing.size(); ++i) {
    sql += std::string(i ? "," : "") + " ADD COLUMN " + QuoteIdent(missing[i]->name) + " " +
           DdlType(missing[i]->type, false, mariadb) + " NULL";
    names += std::string(i ? ", " : "") + QuoteIdent(missing[i]->name);
  }
  if (in_group_ && t.touched) {
    // The open group holds a metadata lock on the table, and DDL here would commit it: roll the
    // group back, widen, and let the runtime load the group again from its checkpoint.
    RETURN_IF_ERROR(Rollback());
    Status st = conn_->Exec(sql);
    if (!st.ok())
      return st.WithContext("mysql sink: adding " + names + " to table " + QuoteIdent(t.table));
    t.columns.clear();
    t.ready = false;
    Info("added " + names + " to table " + QuoteIdent(t.table) +
         " after rolling back the open group");
    return Status::Transient(Where(t.user_table) + ": the rows gained " + names +
                             " in the middle of a commit group; the table was widened and the "
                             "group is loaded again from the last checkpoint");
  }
  Status st = Ddl(sql);
  if (!st.ok())
    return st.WithContext("mysql sink: adding " + names + " to table " + QuoteIdent(t.table));
  for (const Field* f : missing) t.columns[IdentKey(f->name)] = "";
  Info("added " + names + " to table " + QuoteIdent(t.table));
  return Status::OK();
}

// ON DUPLICATE KEY UPDATE needs a PRIMARY KEY or a UNIQUE index on exactly the key columns.
Status MysqlSink::EnsureUniqueKey(Target& t) {
  std::set<std::string> want;
  for (const auto& k : t.key) {
    if (!t.columns.count(IdentKey(k))) {
      return Status::InvalidArgument("sink.key: column '" + k + "' is not in table " +
                                     QuoteIdent(t.table) + " nor in the incoming rows");
    }
    want.insert(IdentKey(k));
  }
  ASSIGN_OR_RETURN(
      auto rows,
      conn_->Query("SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                   "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0",
                   {Value::Text(t.table)}));
  std::map<std::string, std::set<std::string>> indexes;
  for (auto& r : rows) indexes[r[0].value_or("")].insert(IdentKey(r[1].value_or("")));
  for (const auto& [name, cols] : indexes) {
    if (cols == want) return Status::OK();
  }
  const std::string index = QuoteIdent(DerivedName(t.table, kKeyIndexSuffix));
  if (indexes.count(DerivedName(t.table, kKeyIndexSuffix))) {
    // Our own index under another key (the key option changed) is replaced.
    RETURN_IF_ERROR(Ddl("DROP INDEX " + index + " ON " + QuoteIdent(t.table)));
  }
  Status st = Ddl("CREATE UNIQUE INDEX " + index + " ON " + QuoteIdent(t.table) + " (" +
                  QuotedList(t.key) + ")");
  if (st.ok()) {
    Info("created unique index " + index + " for the key");
    return st;
  }
  const std::string prefix =
      Where(t.table) + ": upsert needs a unique index on the key (" + Join(t.key, ", ") + ")";
  if (st.message().find("error 1062") != std::string::npos) {
    return Status::Permanent(prefix +
                             ", and it cannot be created: rows share a key. Remove the "
                             "duplicates, or use mode: append. (" +
                             st.message() + ")");
  }
  if (st.message().find("error 1170") != std::string::npos) {
    return Status::Permanent(prefix +
                             ", and a TEXT or BLOB column cannot be indexed whole: change the "
                             "key columns to VARCHAR / VARBINARY. (" +
                             st.message() + ")");
  }
  return st;
}

Status MysqlSink::PrepareStatements(Target& t, const Schema& schema) {
  t.prepared = false;
  t.names.clear();
  for (const Field& f : schema.fields()) t.names.push_back(f.name);
  t.key_fields.clear();
  if (cfg_.mode == WriteMode::kUpsert || cfg_.mode == WriteMode::kReplicate) {
    for (const auto& k : t.key) {
      int at = -1;
      for (size_t i = 0; i < schema.size(); ++i) {
        if (IdentKey(schema.field(i).name) == IdentKey(k)) at = static_cast<int>(i);
      }
      if (at < 0) {
        return Status::InvalidArgument("sink.key: column '" + k + "' is not in the rows of table " +
                                       QuoteIdent(t.user_table) +
                                       " (columns: " + Join(t.names, ", ") + ")");
      }
      t.key_fields.push_back(at);
    }
  }
  // LOAD DATA reads binary values as hex into user variables: the bytes never meet a character
  // set conversion.
  std::string cols, sets;
  for (size_t i = 0; i < schema.size(); ++i) {
    if (i) cols += ", ";
    if (schema.field(i).type.id == TypeId::kBinary) {
      cols += "@v" + std::to_string(i);
      sets += std::string(sets.empty() ? " SET " : ", ") + QuoteIdent(t.names[i]) + " = UNHEX(@v" +
              std::to_string(i) + ")";
    } else {
      cols += QuoteIdent(t.names[i]);
    }
  }
  t.load_sql =
      "LOAD DATA LOCAL INFILE 'sluice-batch' INTO TABLE " + QuoteIdent(t.table) +
      " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY "
      "'\\n' (" +
      cols + ")" + sets;
  t.schema = schema;
  t.prepared = true;
  return Status::OK();
}

Status MysqlSink::Write(const RecordBatch& batch) {
  RETURN_IF_ERROR(CheckOpen());
  ASSIGN_OR_RETURN(std::string table, TableFor(batch.stream));
  if (batch.schema()->size() == 0) {
    if (batch.num_rows() == 0) return Status::OK();
    return Status::Permanent(Where(table) + ": rows without columns");
  }
  ASSIGN_OR_RETURN(Target * t, PrepareTarget(table, batch));
  RETURN_IF_ERROR(Begin());
  t->touched = true;
  Status st = cfg_.mode == WriteMode::kUpsert || cfg_.mode == WriteMode::kReplicate
                  ? ApplyChanges(*t, batch)
                  : AppendRows(*t, batch);
  return st.ok() ? st : st.WithContext("mysql sink");
}

bool MysqlSink::HasNonFinite(const RecordBatch& batch, int64_t row, std::string* column) const {
  for (size_t c = 0; c < batch.schema()->size(); ++c) {
    const Column& col = batch.column(c);
    if (col.type().id != TypeId::kFloat64 || col.IsNull(row)) continue;
    if (!std::isfinite(col.Float64At(row))) {
      *column = batch.schema()->field(c).name;
      return true;
    }
  }
  return false;
}

void MysqlSink::Refuse(const Target& t, const RecordBatch& batch, int64_t row,
                       const std::string& column, const std::string& reason) {
  std::string msg = Where(t.user_table) + " refused the row";
  int field = column.empty() ? -1 : batch.schema()->IndexOf(column);
  if (field < 0 && !column.empty()) {
    for (size_t c = 0; c < batch.schema()->size(); ++c) {
      if (IdentKey(batch.schema()->field(c).name) == IdentKey(column)) field = static_cast<int>(c);
    }
  }
  if (!column.empty()) {
    msg += ", column '" + column + "'";
    if (field >= 0) {
      const Column& col = batch.column(static_cast<size_t>(field));
      std::string value;
      AppendValueText(col, row, value);
      msg += col.IsNull(row) ? " (null)" : " (value '" + PrintableExcerpt(value, 80) + "')";
    }
  }
  RejectedRow r;
  r.stream = batch.stream;
  r.origin = RowOrigin(batch, row);
  r.position_key = r.origin + "#sink";
  r.raw = "{";
  for (size_t c = 0; c < batch.schema()->size(); ++c) {
    if (c) r.raw += ',';
    AppendJsonString(r.raw, batch.schema()->field(c).name);
    r.raw += ':';
    AppendValueJson(batch.column(c), row, r.raw);
  }
  r.raw += '}';
  r.rule = "sink";
  r.column = field >= 0 ? batch.schema()->field(static_cast<size_t>(field)).name : column;
  r.reason = msg + ": " + reason;
  refused_.push_back(std::move(r));
}

Status MysqlSink::RunStatement(const std::string& sql, unsigned* code, std::string* msg) {
  *code = 0;
  if (mysql_real_query(conn_->raw(), sql.data(), sql.size()) == 0) return Status::OK();
  *code = conn_->last_errno();
  *msg = mysql_error(conn_->raw());
  return conn_->Error("mysql " + conn_->describe());
}

// Multi-row statements of `head item, item ... tail`, each about kStatementBytes. A statement
// refused for its data is split in halves until each refused item stands alone; InnoDB undoes a
// failed statement whole, so the halves that succeed stay and nothing is half-applied.
Status MysqlSink::ExecItems(const std::string& head, const std::string& tail, size_t n,
                            const ItemWriter& item, const ItemRefuser& refuse) {
  const size_t budget =
      std::min<size_t>(kStatementBytes, static_cast<size_t>(conn_->max_packet() / 2));
  size_t i = 0;
  while (i < n) {
    std::string& sql = buf_;
    sql = head;
    size_t j = i;
    while (j < n && (j == i || sql.size() < budget)) {
      if (j > i) sql += ", ";
      item(j++, sql);
    }
    sql += tail;
    unsigned code = 0;
    std::string msg;
    Status st = RunStatement(sql, &code, &msg);
    if (!st.ok()) {
      if (!IsDataError(code)) return st;
      if (j - i == 1) {
        refuse(i, code, msg);
      } else {
        RETURN_IF_ERROR(Bisect(head, tail, i, j, item, refuse));
      }
    }
    i = j;
  }
  return Status::OK();
}

Status MysqlSink::Bisect(const std::string& head, const std::string& tail, size_t lo, size_t hi,
                         const ItemWriter& item, const ItemRefuser& refuse) {
  const size_t mid = lo + (hi - lo) / 2;
  for (auto [a, b] : {std::pair{lo, mid}, {mid, hi}}) {
    std::string sql = head;
    for (size_t k = a; k < b; ++k) {
      if (k > a) sql += ", ";
      item(k, sql);
    }
    sql += tail;
    unsigned code = 0;
    std::string msg;
    Status st = RunStatement(sql, &code, &msg);
    if (st.ok()) continue;
    if (!IsDataError(code)) return st;
    if (b - a == 1) {
      refuse(a, code, msg);
    } else {
      RETURN_IF_ERROR(Bisect(head, tail, a, b, item, refuse));
    }
  }
  return Status::OK();
}

Status MysqlSink::AppendRows(Target& t, const RecordBatch& batch) {
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(batch.num_rows()));
  std::string column;
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    if (HasNonFinite(batch, r, &column)) {
      Refuse(t, batch, r, column, "DOUBLE cannot hold NaN or Infinity");
      continue;
    }
    rows.push_back(r);
  }
  if (rows.empty()) return Status::OK();
  if (cfg_.load == LoadMethod::kLoadData && load_data_ok_) {
    bool done = false;
    RETURN_IF_ERROR(LoadData(t, batch, rows, &done));
    if (done) return Status::OK();
  }
  return InsertRows(t, batch, rows);
}

// LOAD DATA LOCAL from memory. With LOCAL the server turns refused values into warnings (it cannot
// stop the client mid-file), so any warning, or a row count that differs, undoes the load back to
// a savepoint and the rows go through INSERT, where strict mode refuses them one by one.
Status MysqlSink::LoadData(Target& t, const RecordBatch& batch, const std::vector<int64_t>& rows,
                           bool* done) {
  std::string& data = buf_;
  data.clear();
  const size_t ncols = batch.schema()->size();
  for (int64_t r : rows) {
    for (size_t c = 0; c < ncols; ++c) {
      if (c) data += '\t';
      AppendLoadValue(data, batch.column(c), r);
    }
    data += '\n';
  }
  infile_.data = data;
  RETURN_IF_ERROR(conn_->Exec("SAVEPOINT sluice_load"));
  unsigned code = 0;
  std::string msg;
  Status st = RunStatement(t.load_sql, &code, &msg);
  infile_.data = {};
  if (st.ok() && conn_->affected_rows() == rows.size() && conn_->warning_count() == 0) {
    *done = true;
    return Status::OK();
  }
  if (!st.ok() && !IsDataError(code)) {
    if (code != ER_NOT_ALLOWED_COMMAND && code != 3948 && code != CR_UNKNOWN_ERROR) return st;
    load_data_ok_ = false;  // local_infile is off on the server: INSERT from now on
    if (log_)
      log_->Warn("LOAD DATA LOCAL is refused by the server; loading with INSERT",
                 {{"error", st.message()}});
  }
  return conn_->Exec("ROLLBACK TO SAVEPOINT sluice_load");
}

Status MysqlSink::InsertRows(Target& t, const RecordBatch& batch,
                             const std::vector<int64_t>& rows) {
  const size_t ncols = batch.schema()->size();
  const std::string head =
      "INSERT INTO " + QuoteIdent(t.table) + " (" + QuotedList(t.names) + ") VALUES ";
  auto item = [&](size_t i, std::string& sql) {
    sql += '(';
    for (size_t c = 0; c < ncols; ++c) {
      if (c) sql += ", ";
      AppendSqlLiteral(sql, batch.column(c), rows[i], *conn_);
    }
    sql += ')';
  };
  auto refuse = [&](size_t i, unsigned code, const std::string& msg) {
    Refuse(t, batch, rows[i], ColumnInMessage(msg), "error " + std::to_string(code) + ": " + msg);
  };
  return ExecItems(head, "", rows.size(), item, refuse);
}

// upsert / replicate: each key's final operation (mysql_compact.h); first the deletes (keys that
// end deleted, and keys deleted before their new version), then INSERT ... ON DUPLICATE KEY
// UPDATE, one statement shape per set of columns the rows leave as stored.
Status MysqlSink::ApplyChanges(Target& t, const RecordBatch& batch) {
  CompactedBatch cb = CompactByKey(batch, t.key_fields, cfg_.mode == WriteMode::kReplicate);
  for (auto& [row, reason] : cb.refused) Refuse(t, batch, row, "", reason);
  const size_t ncols = batch.schema()->size();
  auto value_row = [&](const CompactedBatch::Upsert& u, size_t c) {
    return u.from.empty() ? u.row : u.from[c];
  };
  // Rows that cannot be stored at all are refused before any statement touches their key.
  std::vector<const CompactedBatch::Upsert*> upserts;
  std::string column;
  for (const auto& u : cb.upserts) {
    bool bad = false;
    for (size_t c = 0; c < ncols && !bad; ++c) {
      int64_t from = value_row(u, c);
      const Column& col = batch.column(c);
      if (from >= 0 && col.type().id == TypeId::kFloat64 && !col.IsNull(from) &&
          !std::isfinite(col.Float64At(from))) {
        Refuse(t, batch, u.row, batch.schema()->field(c).name,
               "DOUBLE cannot hold NaN or Infinity");
        bad = true;
      }
    }
    if (!bad) upserts.push_back(&u);
  }
  std::vector<int64_t> delete_rows = cb.deletes;
  for (const auto* u : upserts) {
    if (u->delete_first) delete_rows.push_back(u->row);
  }
  auto key_tuple = [&](int64_t row, std::string& sql) {
    if (t.key_fields.size() > 1) sql += '(';
    for (size_t k = 0; k < t.key_fields.size(); ++k) {
      if (k) sql += ", ";
      AppendSqlLiteral(sql, batch.column(static_cast<size_t>(t.key_fields[k])), row, *conn_);
    }
    if (t.key_fields.size() > 1) sql += ')';
  };
  std::vector<std::string> key_names;
  for (int f : t.key_fields) key_names.push_back(t.names[static_cast<size_t>(f)]);
  if (!delete_rows.empty()) {
    std::string head =
        "DELETE FROM " + QuoteIdent(t.table) + " WHERE " +
        (key_names.size() > 1 ? "(" + QuotedList(key_names) + ")" : QuoteIdent(key_names[0])) +
        " IN (";
    RETURN_IF_ERROR(ExecItems(
        head, ")", delete_rows.size(),
        [&](size_t i, std::string& sql) { key_tuple(delete_rows[i], sql); },
        [&](size_t i, unsigned code, const std::string& msg) {
          Refuse(t, batch, delete_rows[i], "",
                 "deleting the key: error " + std::to_string(code) + ": " + msg);
        }));
  }
  // Group the upserts by the columns they leave as stored.
  std::map<std::vector<bool>, std::vector<const CompactedBatch::Upsert*>> shapes;
  for (const auto* u : upserts) {
    std::vector<bool> keep(ncols, false);
    for (size_t c = 0; c < ncols && !u->from.empty(); ++c)
      keep[c] = u->from[c] == CompactedBatch::kKeep;
    shapes[keep].push_back(u);
  }
  std::string version_name;
  if (!cfg_.version.empty()) {
    for (const auto& n : t.names) {
      if (IdentKey(n) == IdentKey(cfg_.version)) version_name = n;
    }
    if (version_name.empty()) {
      return Status::InvalidArgument("sink.version: column '" + cfg_.version + "' is not in the rows of table " +
                                     QuoteIdent(t.table) + " (columns: " + Join(t.names, ", ") + ")");
    }
  }
  // `c = VALUES(c)`; with version:, only when the row is at least as new as the stored one (a
  // row without a version never replaces one with a version).
  auto assign = [&](const std::string& c) {
    const std::string q = QuoteIdent(c);
    if (version_name.empty()) return q + " = VALUES(" + q + ")";
    const std::string v = QuoteIdent(version_name);
    return q + " = IF(VALUES(" + v + ") >= " + v + " OR " + v + " IS NULL, VALUES(" + q + "), " + q + ")";
  };
  for (const auto& [keep, items] : shapes) {
    std::vector<size_t> cols;
    std::vector<std::string> names;
    std::string update;
    for (size_t c = 0; c < ncols; ++c) {
      if (keep[c]) continue;
      cols.push_back(c);
      names.push_back(t.names[c]);
      if (std::find(t.key_fields.begin(), t.key_fields.end(), static_cast<int>(c)) !=
          t.key_fields.end())
        continue;
      if (IdentKey(t.names[c]) == IdentKey(cfg_.version)) continue;  // assigned last, below
      update += std::string(update.empty() ? "" : ", ") + assign(t.names[c]);
    }
    if (!cfg_.version.empty()) {
      // MySQL assigns left to right: the version column goes last so that the comparison of
      // the other assignments sees the stored version.
      update += std::string(update.empty() ? "" : ", ") + assign(version_name);
    }
    if (update.empty()) update = QuoteIdent(key_names[0]) + " = " + QuoteIdent(key_names[0]);
    const std::string head =
        "INSERT INTO " + QuoteIdent(t.table) + " (" + QuotedList(names) + ") VALUES ";
    const std::string tail = " ON DUPLICATE KEY UPDATE " + update;
    RETURN_IF_ERROR(ExecItems(
        head, tail, items.size(),
        [&](size_t i, std::string& sql) {
          const auto& u = *items[i];
          sql += '(';
          for (size_t k = 0; k < cols.size(); ++k) {
            if (k) sql += ", ";
            int64_t from = value_row(u, cols[k]);
            if (from == CompactedBatch::kNull)
              sql += "NULL";
            else
              AppendSqlLiteral(sql, batch.column(cols[k]), from, *conn_);
          }
          sql += ')';
        },
        [&](size_t i, unsigned code, const std::string& msg) {
          Refuse(t, batch, items[i]->row, ColumnInMessage(msg),
                 "error " + std::to_string(code) + ": " + msg);
        }));
  }
  return Status::OK();
}

Status MysqlSink::Commit(const CommitState& state) {
  RETURN_IF_ERROR(CheckOpen());
  RETURN_IF_ERROR(Begin());
  const std::string sink = StateSink();
  Status st;
  for (const SourcePosition& pos : state.positions) {
    st = PutState(sink, pos.stream, pos.key, pos.value);
    if (!st.ok()) break;
  }
  if (st.ok()) {
    // Cumulative counters live under the sink's own name in every mode. FOR UPDATE: the read is
    // of the latest row, locked until COMMIT.
    auto rows = conn_->Query(
        "SELECT `value` FROM `_sluice_state` WHERE `pipeline` = ? AND `sink` = ? "
        "AND `stream` = '' AND `key` = ? FOR UPDATE",
        {Value::Text(pipeline_), Value::Text(cfg_.name), Value::Text(kCountersKey)});
    st = rows.status();
    if (st.ok()) {
      std::string previous = rows->empty() ? "" : (*rows)[0][0].value_or("");
      st = PutState(cfg_.name, "", kCountersKey, AddCountersJson(previous, state.counters));
    }
  }
  if (st.ok()) st = conn_->Exec("COMMIT");
  if (!st.ok()) {
    (void)Rollback();
    return st.WithContext("mysql sink: commit");
  }
  in_group_ = false;
  for (auto& [name, t] : targets_) {
    if (cfg_.mode == WriteMode::kReplace && t->touched) staged_[t->user_table] = t->user_table;
    t->touched = false;
  }
  return Status::OK();
}

Status MysqlSink::Abort() {
  refused_.clear();
  Status st = Rollback();
  if (!st.ok()) return st.WithContext("mysql sink: rollback");
  return Status::OK();
}

// Replace mode. RENAME TABLE commits by itself, so the swap cannot share a transaction with the
// positions. Instead: (1) a marker listing the tables is committed; (2) each staging table is
// renamed over its table (one atomic RENAME per table); (3) one transaction moves the staged
// positions to the sink and drops the marker; (4) the old tables are dropped. A crash after (1)
// is finished by the next Open (RecoverSwap), because the staged load was complete.
Status MysqlSink::Finish() {
  if (cfg_.mode != WriteMode::kReplace) return Status::OK();
  RETURN_IF_ERROR(CheckOpen());
  if (in_group_) return Status::Internal("mysql sink: Finish with an uncommitted commit group");
  std::set<std::string> tables;
  for (const auto& [k, v] : staged_) tables.insert(v);
  ASSIGN_OR_RETURN(std::vector<std::string> streams, StagedStreams());
  for (const auto& s : streams) {
    ASSIGN_OR_RETURN(std::string table, TableFor(s));
    tables.insert(table);
  }
  if (tables.empty()) return Status::OK();
  std::vector<std::string> list(tables.begin(), tables.end());
  // Every group of a stream was empty: an empty staging table makes the refreshed table empty,
  // and keeps "staging table present" meaning "not swapped yet".
  for (const auto& table : list) {
    ASSIGN_OR_RETURN(bool staged, TableExists(DerivedName(table, kStagingSuffix)));
    ASSIGN_OR_RETURN(bool exists, TableExists(table));
    if (!staged && exists) {
      RETURN_IF_ERROR(conn_->Exec("CREATE TABLE " + QuoteIdent(DerivedName(table, kStagingSuffix)) +
                                  " LIKE " + QuoteIdent(table)));
    }
  }
  std::string marker = "[";
  for (size_t i = 0; i < list.size(); ++i) marker += (i ? "," : "") + JsonQuote(list[i]);
  marker += "]";
  RETURN_IF_ERROR(Begin());
  Status st = PutState(StagingSink(), "", kSwapKey, marker);
  if (st.ok()) st = conn_->Exec("COMMIT");
  in_group_ = false;
  if (!st.ok()) {
    (void)conn_->Exec("ROLLBACK");
    return st.WithContext("mysql sink: recording the swap");
  }
  RETURN_IF_ERROR(CompleteSwap(list));
  staged_.clear();
  targets_.clear();
  resume_staging_ = false;
  return Status::OK();
}

Status MysqlSink::CompleteSwap(const std::vector<std::string>& tables) {
  for (const auto& table : tables) {
    const std::string staging = DerivedName(table, kStagingSuffix),
                      old = DerivedName(table, kOldSuffix);
    ASSIGN_OR_RETURN(bool staged, TableExists(staging));
    if (!staged) continue;  // swapped before a crash
    ASSIGN_OR_RETURN(bool exists, TableExists(table));
    RETURN_IF_ERROR(conn_->Exec("DROP TABLE IF EXISTS " + QuoteIdent(old)));
    // One RENAME of both is atomic: readers see the old table or the new one, never none.
    RETURN_IF_ERROR(
        conn_->Exec(exists ? "RENAME TABLE " + QuoteIdent(table) + " TO " + QuoteIdent(old) + ", " +
                                 QuoteIdent(staging) + " TO " + QuoteIdent(table)
                           : "RENAME TABLE " + QuoteIdent(staging) + " TO " + QuoteIdent(table)));
  }
  RETURN_IF_ERROR(Begin());
  Status st =
      conn_
          ->Query(
              "DELETE FROM `_sluice_state` WHERE `pipeline` = ? AND ((`sink` = ? AND NOT "
              "(`stream` = '' AND `key` = ?)) OR (`sink` = ? AND `stream` = '' AND `key` = ?))",
              {Value::Text(pipeline_), Value::Text(cfg_.name), Value::Text(kCountersKey),
               Value::Text(StagingSink()), Value::Text(kSwapKey)})
          .status();
  if (st.ok()) {
    st = conn_
             ->Query("UPDATE `_sluice_state` SET `sink` = ? WHERE `pipeline` = ? AND `sink` = ?",
                     {Value::Text(cfg_.name), Value::Text(pipeline_), Value::Text(StagingSink())})
             .status();
  }
  if (st.ok()) st = conn_->Exec("COMMIT");
  in_group_ = false;
  if (!st.ok()) {
    (void)conn_->Exec("ROLLBACK");
    return st.WithContext("mysql sink: swapping in the replaced tables");
  }
  for (const auto& table : tables) {
    RETURN_IF_ERROR(
        conn_->Exec("DROP TABLE IF EXISTS " + QuoteIdent(DerivedName(table, kOldSuffix))));
    Info("replaced table " + QuoteIdent(table));
  }
  return Status::OK();
}

Status MysqlSink::RecoverSwap() {
  ASSIGN_OR_RETURN(
      auto rows,
      conn_->Query("SELECT `value` FROM `_sluice_state` WHERE `pipeline` = ? AND "
                   "`sink` = ? AND `stream` = '' AND `key` = ?",
                   {Value::Text(pipeline_), Value::Text(StagingSink()), Value::Text(kSwapKey)}));
  if (rows.empty()) return Status::OK();
  std::vector<std::string> tables;
  auto j = nlohmann::json::parse(rows[0][0].value_or(""), nullptr, false);
  if (!j.is_array())
    return Status::Corruption("mysql sink: the replace swap marker in _sluice_state is damaged");
  for (const auto& t : j) {
    if (t.is_string()) tables.push_back(t.get<std::string>());
  }
  Info("finishing the table swap of an interrupted replace run");
  return CompleteSwap(tables);
}

Status MysqlSink::Close() {
  Status st = Rollback();
  targets_.clear();
  ddl_.reset();
  conn_.reset();
  return st;
}

Status MysqlSink::ResetState(const std::string& stream) {
  RETURN_IF_ERROR(CheckOpen());
  if (in_group_) return Status::Internal("mysql sink: ResetState with an open commit group");
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
  for (const auto& s : streams) {
    auto table = TableFor(s);
    if (!table.ok()) continue;
    RETURN_IF_ERROR(
        conn_->Exec("DROP TABLE IF EXISTS " + QuoteIdent(DerivedName(*table, kStagingSuffix))));
  }
  std::string sql = "DELETE FROM `_sluice_state` WHERE `pipeline` = ? AND `sink` IN (?, ?)";
  std::vector<Value> params = {Value::Text(pipeline_), Value::Text(cfg_.name),
                               Value::Text(StagingSink())};
  if (!stream.empty()) {
    sql += " AND `stream` = ?";
    params.push_back(Value::Text(stream));
  }
  Status st = conn_->Query(sql, params).status();
  if (!st.ok()) return st.WithContext("mysql sink: resetting state");
  staged_.clear();
  resume_staging_ = false;
  return Status::OK();
}

std::string MysqlSink::Describe() const {
  std::string table = cfg_.table.empty() ? std::string("<stream name>") : cfg_.table;
  return "mysql " + DescribeDsn(cfg_.conn.dsn) + " table " + table + " (" + ModeName(cfg_.mode) +
         ")";
}

const OptionSchema& SinkOptions() {
  static const OptionSchema schema = {
      DsnOptionSpec(),
      MysqlTlsOptionSpec(),
      {"table", OptionType::kString, "",
       "target table in the dsn's database (default: the stream name); '{stream}' in the name is "
       "replaced by the stream name"},
      {"mode",
       OptionType::kEnum,
       "append",
       "append: add the rows; upsert: insert or update by key; replicate: apply change "
       "operations by key (deletes too); replace: load into <table>__sluice_staging and swap it in "
       "when the input ends",
       false,
       {"append", "upsert", "replicate", "replace"}},
      {"key", OptionType::kStringList, "",
       "columns that identify a row; required by upsert and replicate (a new table gets them as "
       "its PRIMARY KEY; an existing one needs, or gets, a unique index on them)"},
      {"version", OptionType::kString, "",
       "[upsert] a column that orders the versions of a row (updated_at, a version number): a row "
       "older than the stored one leaves it as it is, so a late or replayed row never overwrites a "
       "newer one"},
      {"name", OptionType::kString, "mysql", "this sink's name in the _sluice_state table"},
      {"load_method",
       OptionType::kEnum,
       "load_data",
       "append and replace: load_data (LOAD DATA LOCAL INFILE from memory; falls back to INSERT "
       "when the server disables it) or insert (multi-row INSERT)",
       false,
       {"load_data", "insert"}},
  };
  return schema;
}

Result<std::unique_ptr<Sink>> MakeSink(const ConnectorContext& ctx, const ConfigNode& block) {
  Options opts(&block, &SinkOptions());
  const std::string where = block.path().empty() ? "sink" : block.path();
  SinkConfig cfg;
  ASSIGN_OR_RETURN(cfg.conn, ParseConnOptions(opts, block, ctx.base_dir));
  cfg.table = opts.GetString("table");
  const std::string mode = opts.GetString("mode");
  cfg.mode = mode == "upsert"      ? WriteMode::kUpsert
             : mode == "replicate" ? WriteMode::kReplicate
             : mode == "replace"   ? WriteMode::kReplace
                                   : WriteMode::kAppend;
  cfg.key = opts.GetList("key");
  cfg.version = opts.GetString("version");
  if (!cfg.version.empty() && cfg.mode != WriteMode::kUpsert) {
    return Status::InvalidArgument(where + ".version: only mode upsert compares versions (mode is " + mode + ")");
  }
  cfg.name = opts.GetString("name");
  cfg.load =
      opts.GetString("load_method") == "insert" ? LoadMethod::kInsert : LoadMethod::kLoadData;
  if (cfg.name.empty()) return Status::InvalidArgument(where + ".name: must not be empty");
  if (cfg.name.size() > 48) return Status::InvalidArgument(where + ".name: at most 48 characters");
  if ((cfg.mode == WriteMode::kUpsert || cfg.mode == WriteMode::kReplicate) && cfg.key.empty() &&
      !ctx.keys_from_pipeline) {
    return Status::InvalidArgument(where + MissingKey(mode, ""));
  }
  return std::unique_ptr<Sink>(new MysqlSink(ctx, std::move(cfg)));
}

}  // namespace

void RegisterMysqlSink(ConnectorRegistry& registry) {
  ConnectorInfo info;
  info.type = "mysql";
  info.kind = "sink";
  info.summary = "MySQL or MariaDB table; rows and checkpoint commit in one transaction";
  info.delivery = "exactly-once";
  info.options = SinkOptions();
  info.make_sink = MakeSink;
  registry.Add(std::move(info));
}

}  // namespace sluice::mysql

namespace sluice {

void RegisterMysqlConnector(ConnectorRegistry& registry) {
  mysql::RegisterMysqlSink(registry);
  mysql::RegisterMysqlSource(registry);
}

}  // namespace sluice
