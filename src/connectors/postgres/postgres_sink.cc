// The `postgres` sink. A commit group is one transaction on one connection: BEGIN at the group's
// first Write (or at Commit when every row was quarantined), the rows, then the group's positions
// and counters in `_sluice_state`, then COMMIT. A dropped connection or a crash before COMMIT
// leaves neither; the runtime retries from the last checkpoint.
//
// Rows travel in PostgreSQL's binary COPY format, encoded from the column buffers
// (pg_copy_binary.h). append and replace COPY straight into the table when its column types take
// the wire forms as they are (always so for tables this sink creates); otherwise, and for upsert
// and replicate, rows are COPYed into a temporary staging table and moved by INSERT ... SELECT
// (with casts to the table's types), INSERT ... ON CONFLICT, UPDATE or DELETE. Every statement
// runs under a savepoint: when the server refuses the data, the range is halved until the
// refused rows stand alone; they are reported by TakeRefused and the rest loads.
//
// Threading: one thread at a time (the sink stage), as the Sink interface states.

#include "connectors/postgres/postgres_sink.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/postgres/pg_conn.h"
#include "connectors/postgres/pg_copy_binary.h"
#include "connectors/sql/change_compact.h"
#include "connectors/sql/changelog.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"
#include "state/state_store.h"

namespace sluice {
namespace {

using pg::PgConn;
using pg::QuoteIdent;
using pg::QuoteQualifiedName;
using pg::WireKind;

enum class WriteMode { kAppend, kUpsert, kReplace, kReplicate, kChangelog };

const char* ModeName(WriteMode m) {
  switch (m) {
    case WriteMode::kAppend:
      return "append";
    case WriteMode::kUpsert:
      return "upsert";
    case WriteMode::kReplace:
      return "replace";
    case WriteMode::kReplicate:
      return "replicate";
    case WriteMode::kChangelog:
      return "changelog";
  }
  return "append";
}

constexpr std::string_view kStagingSuffix = "__sluice_staging";
constexpr std::string_view kKeyIndexSuffix = "__sluice_key";
constexpr std::string_view kStagingSinkSuffix = "#staging";
// The changelog table's own ordinal column: the order in which the events were written.
constexpr const char* kSeqColumn = "_sluice_seq";
constexpr const char* kStateTable = "\"_sluice_state\"";
// Rows per COPY message stream step: about 1 MiB of encoded rows is produced, then sent, so the
// server parses one chunk while the next is encoded.
constexpr size_t kChunkBytes = 1u << 20;

struct PgSinkConfig {
  pg::PgConnOptions conn;
  std::string table;  // empty: the stream name; "{stream}" is replaced by it
  WriteMode mode = WriteMode::kAppend;
  std::vector<std::string> key;
  std::string version;  // upsert: a stored row is replaced only by one at least as new
  std::string name;
};

bool KeyMode(WriteMode m) { return m == WriteMode::kUpsert || m == WriteMode::kReplicate; }

struct TableColumn {
  std::string name;
  unsigned oid = 0;
  std::string type;       // format_type(): "integer", "character varying(20)" ...
  std::string base_type;  // without the modifier: "character varying"
  bool generated = false;
};

// The wire form that a column of type `oid` takes for a value of sluice type `t` as it is, or
// nullopt when the value must go through a staging table and a cast.
std::optional<WireKind> DirectKind(const DataType& t, unsigned oid) {
  namespace o = pg::oid;
  switch (t.id) {
    case TypeId::kBool:
      return oid == o::kBool ? std::optional(WireKind::kBool) : std::nullopt;
    case TypeId::kInt64:
      return oid == o::kInt8 ? std::optional(WireKind::kInt8) : std::nullopt;
    case TypeId::kFloat64:
      return oid == o::kFloat8 ? std::optional(WireKind::kFloat8) : std::nullopt;
    case TypeId::kDecimal:
      return oid == o::kNumeric ? std::optional(WireKind::kNumeric) : std::nullopt;
    case TypeId::kString:
      if (oid == o::kText || oid == o::kVarchar || oid == o::kBpchar) return WireKind::kBytes;
      if (oid == o::kJsonb) return WireKind::kJsonb;
      return std::nullopt;
    case TypeId::kBinary:
      return oid == o::kBytea ? std::optional(WireKind::kBytes) : std::nullopt;
    case TypeId::kJson:
      if (oid == o::kJsonb) return WireKind::kJsonb;
      if (oid == o::kJson || oid == o::kText || oid == o::kVarchar) return WireKind::kBytes;
      return std::nullopt;
    case TypeId::kDate:
      return oid == o::kDate ? std::optional(WireKind::kDate) : std::nullopt;
    case TypeId::kTime:
      return oid == o::kTime ? std::optional(WireKind::kTime) : std::nullopt;
    case TypeId::kTimestamp:
      if (oid == (t.tz ? o::kTimestamptz : o::kTimestamp)) return WireKind::kTimestamp;
      return std::nullopt;
  }
  return std::nullopt;
}

unsigned NaturalOid(const DataType& t) {
  namespace o = pg::oid;
  switch (t.id) {
    case TypeId::kBool:
      return o::kBool;
    case TypeId::kInt64:
      return o::kInt8;
    case TypeId::kFloat64:
      return o::kFloat8;
    case TypeId::kDecimal:
      return o::kNumeric;
    case TypeId::kString:
      return o::kText;
    case TypeId::kBinary:
      return o::kBytea;
    case TypeId::kDate:
      return o::kDate;
    case TypeId::kTime:
      return o::kTime;
    case TypeId::kTimestamp:
      return t.tz ? o::kTimestamptz : o::kTimestamp;
    case TypeId::kJson:
      return o::kJsonb;
  }
  return o::kText;
}

std::string QuotedList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += QuoteIdent(n);
  }
  return out;
}

// One target table of this sink: its columns as PostgreSQL knows them and the statements for
// the batch schema last seen. Valid within one transaction: a rollback may undo a CREATE or
// ALTER, so the cache is dropped with it. Staging tables are temporary and dropped at commit.
struct Target {
  std::string user_table;  // the table the user sees, as configured (maybe schema.table)
  std::string qtable;      // the physical table, quoted: the user's, or its staging table

  bool ready = false;
  bool exists = false;
  std::vector<TableColumn> columns;
  bool key_checked = false;
  // For the batch schema below.
  Schema schema;
  bool prepared = false;
  std::vector<int> column_of;    // batch field -> index in `columns`
  std::vector<std::string> key;  // upsert, replicate: the key columns (StreamKeys::For)
  std::vector<int> key_fields;   // batch field of each key column
  std::vector<WireKind> direct;  // non-empty: COPY straight into the table with these forms
  std::string copy_direct;
  std::string stage;                  // temp staging table (quoted) for this schema
  bool stage_created = false;         // in this transaction (it is dropped at commit)
  bool stage_used = false;            // holds rows of an earlier batch of this transaction
  std::vector<WireKind> stage_kinds;  // wire form of each field in the staging table
  std::string stage_ddl, copy_stage, insert_sql, delete_sql, update_sql;
};

// Rows ready to go out: columns with their wire forms, and the batch row each one stands for.
struct Outgoing {
  std::vector<const Column*> columns;
  std::vector<WireKind> kinds;
  int64_t num_rows = 0;
  std::vector<int64_t> batch_row;  // empty: row i is batch row i
  int64_t BatchRow(int64_t i) const {
    return batch_row.empty() ? i : batch_row[static_cast<size_t>(i)];
  }
};

// What the server said when it refused some rows.
struct Refusal {
  Status status;
  std::string column;
};

class PostgresSink final : public Sink {
 public:
  PostgresSink(const ConnectorContext& ctx, PgSinkConfig cfg)
      : pipeline_(ctx.pipeline),
        log_(ctx.log),
        cfg_(std::move(cfg)),
        stream_tables_(ctx.stream_tables),
        stream_keys_(ctx.stream_keys),
        schema_evolution_(ctx.schema_evolution) {}

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
  using RangeFn = std::function<Status(int64_t, int64_t)>;
  using RefuseFn = std::function<void(int64_t, const Refusal&)>;

  std::string StateSink() const {
    return cfg_.mode == WriteMode::kReplace ? cfg_.name + std::string(kStagingSinkSuffix)
                                            : cfg_.name;
  }
  Result<std::string> TableFor(const std::string& stream) const;
  static std::string StagingTable(const std::string& table);
  Status CheckOpen() const {
    if (!conn_) return Status::Internal("postgres sink used before Open");
    return Status::OK();
  }
  std::string Where(const Target& t) const {
    return "postgres table " + QuoteQualifiedName(t.user_table);
  }
  Status Begin();
  Status Rollback();
  Result<bool> TableExists(const std::string& table);
  Status LoadColumns(Target& t);
  Result<Target*> PrepareTarget(const std::string& user_table, const RecordBatch& batch);
  Status CreateStagingLike(Target& t);
  Status CreateOrWiden(Target& t, const Schema& schema);
  Result<bool> WidenDecimal(Target& t, const TableColumn& col, const Field& f);
  int FindColumn(const Target& t, const std::string& name) const;
  Status EnsureUniqueKey(Target& t);
  Status PlanStatements(Target& t, const Schema& schema);
  Status LoadRange(int64_t lo, int64_t hi, const RangeFn& load, const RefuseFn& refuse);
  Status CopyRows(const std::string& copy_sql, const Outgoing& rows, bool row_number, int64_t lo,
                  int64_t hi);
  Status WriteDirect(Target& t, const RecordBatch& batch);
  Status WriteStaged(Target& t, const RecordBatch& batch);
  Status StageRows(Target& t, const RecordBatch& batch, const Outgoing& rows);
  Status ApplyStaged(Target& t, int64_t lo, int64_t hi, bool deletes, bool partial);
  void Refuse(const Target& t, const RecordBatch& batch, int64_t row, const Refusal& why);
  Status PutState(const std::string& sink, const std::string& stream, const std::string& key,
                  const std::string& value);
  Result<StateMap> ReadState(const std::string& sink);
  Result<std::vector<std::string>> StagedStreams();
  Status SwapIn(const std::string& table);
  void Info(const std::string& msg) const {
    if (log_) log_->Info(msg, {{"sink", "postgres"}});
  }

  std::string pipeline_;
  Logger* log_;
  PgSinkConfig cfg_;
  std::map<std::string, std::string> stream_tables_;  // `streams:` of the pipeline
  std::shared_ptr<StreamKeys> stream_keys_;
  std::string schema_evolution_;  // the contract's policy: only evolve widens a column
  std::unique_ptr<PgConn> conn_;
  bool in_group_ = false;
  // Replace mode: a previous run's staging rows are resumed (its positions were found), so the
  // staging tables are kept; otherwise each is emptied at its first Write of the run.
  bool resume_staging_ = false;
  std::map<std::string, std::string> staged_;               // user table -> user table, committed
  std::map<std::string, std::unique_ptr<Target>> targets_;  // by physical table
  int stage_counter_ = 0;
  pg::CopyBuffer buf_;
  std::vector<RejectedRow> refused_;
};

Result<std::string> PostgresSink::TableFor(const std::string& stream) const {
  return SinkTableFor(cfg_.table, stream, stream_tables_);
}

// "s.t" -> "s.t__sluice_staging", in the same schema as the table.
std::string PostgresSink::StagingTable(const std::string& table) {
  auto [schema, name] = pg::SplitQualifiedName(table);
  std::string staged = name + std::string(kStagingSuffix);
  return schema.empty() ? QuoteIdent(staged) : QuoteIdent(schema) + "." + QuoteIdent(staged);
}

Status PostgresSink::Open() {
  auto conn = PgConn::Connect(cfg_.conn);
  if (!conn.ok()) return conn.status().WithContext("postgres sink");
  conn_ = std::move(conn).value();
  // Checked before created: CREATE ... IF NOT EXISTS needs the CREATE privilege on the schema
  // even when the table is there, and a least-privilege role may lack it.
  ASSIGN_OR_RETURN(bool exists, TableExists(kStateTable));
  if (!exists) {
    Status st = conn_->Exec(std::string("CREATE TABLE IF NOT EXISTS ") + kStateTable +
                            " (pipeline text NOT NULL, sink text NOT NULL, stream text NOT NULL, "
                            "key text NOT NULL, value text NOT NULL, updated_at text NOT NULL, "
                            "PRIMARY KEY (pipeline, sink, stream, key))");
    // Two sinks creating it at once: the loser sees a duplicate type; the table is there.
    if (!st.ok() && conn_->last_sqlstate() != "23505" && conn_->last_sqlstate() != "42P07") {
      return st.WithContext("postgres sink: creating _sluice_state");
    }
  }
  if (cfg_.mode == WriteMode::kReplace) {
    ASSIGN_OR_RETURN(std::vector<std::string> streams, StagedStreams());
    resume_staging_ = !streams.empty();
    if (resume_staging_) Info("resuming the staged replace of an interrupted run");
  }
  return Status::OK();
}

Result<StateMap> PostgresSink::ReadState(const std::string& sink) {
  StateMap out;
  ASSIGN_OR_RETURN(pg::PgResult res,
                   conn_->Query(std::string("SELECT stream, key, value FROM ") + kStateTable +
                                    " WHERE pipeline = $1 AND sink = $2",
                                {pipeline_, sink}));
  for (int r = 0; r < res.rows(); ++r) {
    out[{std::string(res.Get(r, 0)), std::string(res.Get(r, 1))}] = std::string(res.Get(r, 2));
  }
  return out;
}

Result<StateMap> PostgresSink::LoadState() {
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

Result<std::vector<std::string>> PostgresSink::StagedStreams() {
  ASSIGN_OR_RETURN(pg::PgResult res,
                   conn_->Query(std::string("SELECT DISTINCT stream FROM ") + kStateTable +
                                    " WHERE pipeline = $1 AND sink = $2 AND stream <> ''",
                                {pipeline_, cfg_.name + std::string(kStagingSinkSuffix)}));
  std::vector<std::string> out;
  for (int r = 0; r < res.rows(); ++r) out.emplace_back(res.Get(r, 0));
  return out;
}

Status PostgresSink::Begin() {
  if (in_group_) return Status::OK();
  Status st = conn_->Exec("BEGIN");
  if (!st.ok()) return st.WithContext("postgres sink " + conn_->Describe());
  in_group_ = true;
  return Status::OK();
}

Status PostgresSink::Rollback() {
  // Whatever the group created or altered is undone, so the cached table shapes go too.
  targets_.clear();
  const bool was = in_group_;
  in_group_ = false;
  if (was && conn_ && conn_->ok()) return conn_->Exec("ROLLBACK");
  return Status::OK();
}

// `table` is quoted. A view or a temporary table found first on the search path counts.
Result<bool> PostgresSink::TableExists(const std::string& table) {
  ASSIGN_OR_RETURN(pg::PgResult res, conn_->Query("SELECT to_regclass($1) IS NOT NULL", {table}));
  return res.rows() == 1 && res.Get(0, 0) == "t";
}

Status PostgresSink::LoadColumns(Target& t) {
  ASSIGN_OR_RETURN(t.exists, TableExists(t.qtable));
  t.columns.clear();
  if (!t.exists) return Status::OK();
  ASSIGN_OR_RETURN(
      pg::PgResult res,
      conn_->Query(
          "SELECT attname, atttypid, format_type(atttypid, atttypmod), "
          "attgenerated <> '', format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = "
          "to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
          {t.qtable}));
  for (int r = 0; r < res.rows(); ++r) {
    TableColumn c;
    c.name = std::string(res.Get(r, 0));
    c.oid = static_cast<unsigned>(std::stoul(std::string(res.Get(r, 1))));
    c.type = std::string(res.Get(r, 2));
    c.generated = res.Get(r, 3) == "t";
    c.base_type = std::string(res.Get(r, 4));
    t.columns.push_back(std::move(c));
  }
  return Status::OK();
}

// The column of `t` called `name`: the exact spelling first, then the only one that differs in
// case (a table created with unquoted names has them in lower case). -1 when there is none.
int PostgresSink::FindColumn(const Target& t, const std::string& name) const {
  int folded = -1, matches = 0;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].name == name) return static_cast<int>(i);
    if (ToLower(t.columns[i].name) == ToLower(name)) {
      folded = static_cast<int>(i);
      ++matches;
    }
  }
  return matches == 1 ? folded : -1;
}

Result<Target*> PostgresSink::PrepareTarget(const std::string& user_table,
                                            const RecordBatch& batch) {
  const bool replace = cfg_.mode == WriteMode::kReplace;
  const std::string physical = replace ? StagingTable(user_table) : QuoteQualifiedName(user_table);
  auto& slot = targets_[physical];
  if (!slot) {
    slot = std::make_unique<Target>();
    slot->user_table = user_table;
    slot->qtable = physical;
  }
  Target& t = *slot;
  if (KeyMode(cfg_.mode) && t.key.empty()) {
    t.key = stream_keys_->For(batch.stream, cfg_.key);
    if (t.key.empty()) return Status::InvalidArgument("sink" + MissingKey(ModeName(cfg_.mode), batch.stream));
  }
  const Schema& schema = *batch.schema();
  if (!t.ready) {
    if (replace && !resume_staging_ && !staged_.count(user_table)) {
      // A fresh full refresh: whatever an abandoned run left in the staging table goes.
      RETURN_IF_ERROR(conn_->Exec("DROP TABLE IF EXISTS " + t.qtable));
    }
    RETURN_IF_ERROR(LoadColumns(t));
    if (replace && !t.exists) RETURN_IF_ERROR(CreateStagingLike(t));
    t.ready = true;
  }
  if (!t.prepared || !(t.schema == schema)) {
    RETURN_IF_ERROR(CreateOrWiden(t, schema));
    if (KeyMode(cfg_.mode) && !t.key_checked) {
      RETURN_IF_ERROR(EnsureUniqueKey(t));
      t.key_checked = true;
    }
    RETURN_IF_ERROR(PlanStatements(t, schema));
  }
  return &t;
}

// Replace mode: the staging table copies the existing table's columns, defaults and checks, so
// that rows the table would refuse are refused while loading, not at the swap.
Status PostgresSink::CreateStagingLike(Target& t) {
  const std::string user = QuoteQualifiedName(t.user_table);
  ASSIGN_OR_RETURN(bool exists, TableExists(user));
  if (!exists) return Status::OK();  // created from the batch schema by CreateOrWiden
  Status st = conn_->Exec("CREATE TABLE " + t.qtable + " (LIKE " + user +
                          " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY "
                          "INCLUDING GENERATED)");
  if (!st.ok()) return st.WithContext("postgres sink: creating staging table " + t.qtable);
  return LoadColumns(t);
}

// Creates the table from `schema`, or adds the columns of `schema` that the table lacks.
// A decimal column narrower than the values now arriving (the source's numeric(12,2) became
// numeric(14,3)) would round or refuse them. Under schema_evolution: evolve the column is widened
// to hold both, and the change is logged; under any other policy the run stops and says which
// column changed from what to what. True when the column was altered.
Result<bool> PostgresSink::WidenDecimal(Target& t, const TableColumn& col, const Field& f) {
  if (f.type.id != TypeId::kDecimal || col.base_type != "numeric") return false;
  int p = 0, s = 0;
  if (std::sscanf(col.type.c_str(), "numeric(%d,%d)", &p, &s) != 2) return false;  // unconstrained numeric
  const int want_int = std::max(p - s, f.type.precision - f.type.scale);
  const int want_scale = std::max(s, static_cast<int>(f.type.scale));
  if (want_int == p - s && want_scale == s) return false;
  const std::string to = "numeric(" + std::to_string(std::min(1000, want_int + want_scale)) + "," + std::to_string(want_scale) + ")";
  if (schema_evolution_ != "evolve") {
    return Status::Permanent(Where(t) + ": column " + QuoteIdent(col.name) + " is " + col.type + " but its values are now " +
                             f.type.ToString() + "; storing them would round or refuse them. schema_evolution is " +
                             schema_evolution_ + ", so the column is not changed: ALTER it to " + to + " yourself, or use evolve");
  }
  Status st = conn_->Exec("ALTER TABLE " + t.qtable + " ALTER COLUMN " + QuoteIdent(col.name) + " TYPE " + to);
  if (!st.ok()) return st.WithContext("postgres sink: widening column " + QuoteIdent(col.name) + " of " + t.qtable);
  Info("widened column " + QuoteIdent(col.name) + " of " + t.qtable + " from " + col.type + " to " + to);
  return true;
}

Status PostgresSink::CreateOrWiden(Target& t, const Schema& schema) {
  std::set<std::string> seen;
  for (const Field& f : schema.fields()) {
    if (!seen.insert(f.name).second) {
      return Status::Permanent(Where(t) + ": the batch has two columns named '" + f.name + "'");
    }
  }
  if (!t.exists) {
    if (schema.size() == 0)
      return Status::Permanent(Where(t) + ": cannot create a table with no columns");
    std::string sql = "CREATE TABLE " + t.qtable + " (";
    if (cfg_.mode == WriteMode::kChangelog) {
      // Identity values come from a sequence in the order the rows are written; a rolled back
      // group leaves a gap, never a reordering.
      sql += QuoteIdent(kSeqColumn) + " bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ";
    }
    for (size_t i = 0; i < schema.size(); ++i) {
      if (i) sql += ", ";
      sql += QuoteIdent(schema.field(i).name) + " " + pg::PgTypeName(schema.field(i).type);
    }
    if (KeyMode(cfg_.mode)) sql += ", PRIMARY KEY (" + QuotedList(t.key) + ")";
    sql += ")";
    Status st = conn_->Exec(sql);
    if (!st.ok()) return st.WithContext("postgres sink: creating table " + t.qtable);
    Info("created table " + t.qtable);
    return LoadColumns(t);
  }
  bool added = false;
  for (const Field& f : schema.fields()) {
    if (int c = FindColumn(t, f.name); c >= 0) {
      ASSIGN_OR_RETURN(bool widened, WidenDecimal(t, t.columns[static_cast<size_t>(c)], f));
      added = added || widened;
      continue;
    }
    Status st = conn_->Exec("ALTER TABLE " + t.qtable + " ADD COLUMN " + QuoteIdent(f.name) + " " +
                            pg::PgTypeName(f.type));
    if (!st.ok()) {
      return st.WithContext("postgres sink: adding column " + QuoteIdent(f.name) + " to table " +
                            t.qtable);
    }
    Info("added column " + QuoteIdent(f.name) + " to table " + t.qtable);
    added = true;
  }
  return added ? LoadColumns(t) : Status::OK();
}

// ON CONFLICT (key) needs a unique index on exactly the key columns (a primary key is one).
Status PostgresSink::EnsureUniqueKey(Target& t) {
  std::set<std::string> want;
  for (const auto& k : t.key) {
    int c = FindColumn(t, k);
    if (c < 0) {
      return Status::InvalidArgument("sink.key: column '" + k + "' is not in table " + t.qtable +
                                     " nor in the incoming rows");
    }
    want.insert(t.columns[static_cast<size_t>(c)].name);
  }
  ASSIGN_OR_RETURN(
      pg::PgResult res,
      conn_->Query("SELECT i.indexrelid::text, a.attname FROM pg_index i JOIN "
                   "pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = "
                   "ANY(i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisunique "
                   "AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL",
                   {t.qtable}));
  std::map<std::string, std::set<std::string>> indexes;
  for (int r = 0; r < res.rows(); ++r)
    indexes[std::string(res.Get(r, 0))].insert(std::string(res.Get(r, 1)));
  for (const auto& [id, cols] : indexes) {
    if (cols == want) return Status::OK();
  }
  auto [schema, name] = pg::SplitQualifiedName(t.user_table);
  const std::string index = QuoteIdent(name + std::string(kKeyIndexSuffix));
  std::vector<std::string> names(want.begin(), want.end());
  Status st = conn_->Exec("CREATE UNIQUE INDEX " + index + " ON " + t.qtable + " (" +
                          QuotedList(names) + ")");
  if (!st.ok() && conn_->last_sqlstate() == "23505") {
    return Status::Permanent(Where(t) + " has rows with the same key (" + Join(t.key, ", ") +
                             "), so the unique index that " + ModeName(cfg_.mode) +
                             " needs cannot be created. Remove the duplicates, or use mode: "
                             "append. (" +
                             st.message() + ")");
  }
  if (!st.ok()) return st.WithContext("postgres sink: creating the unique index for the key");
  Info("created unique index " + index + " for the key");
  return Status::OK();
}

Status PostgresSink::PlanStatements(Target& t, const Schema& schema) {
  t.prepared = false;
  const size_t n = schema.size();
  t.column_of.assign(n, -1);
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    int c = FindColumn(t, schema.field(i).name);
    if (c < 0)
      return Status::Internal(Where(t) + ": column '" + schema.field(i).name +
                              "' missing after ALTER");
    t.column_of[i] = c;
    names.push_back(t.columns[static_cast<size_t>(c)].name);
  }
  t.key_fields.clear();
  std::vector<std::string> keys;
  if (KeyMode(cfg_.mode)) {
    for (const auto& k : t.key) {
      int at = -1;
      for (size_t i = 0; i < n; ++i) {
        if (ToLower(schema.field(i).name) == ToLower(k)) at = static_cast<int>(i);
      }
      if (at < 0) {
        return Status::InvalidArgument("sink.key: column '" + k + "' is not in the rows of table " +
                                       t.qtable + " (columns: " + Join(names, ", ") + ")");
      }
      t.key_fields.push_back(at);
      keys.push_back(names[static_cast<size_t>(at)]);
    }
  }
  // COPY straight into the table when every column takes the wire form as it is.
  t.direct.clear();
  if (!KeyMode(cfg_.mode)) {
    std::vector<WireKind> kinds;
    for (size_t i = 0; i < n; ++i) {
      auto k = DirectKind(schema.field(i).type, t.columns[static_cast<size_t>(t.column_of[i])].oid);
      if (!k) break;
      kinds.push_back(*k);
    }
    if (kinds.size() == n) t.direct = std::move(kinds);
  }
  t.copy_direct = "COPY " + t.qtable + " (" + QuotedList(names) + ") FROM STDIN (FORMAT binary)";

  // Staging: a temporary table with positional column names (no clash with user names).
  t.stage = QuoteIdent("_sluice_stage_" + std::to_string(++stage_counter_));
  t.stage_created = false;
  t.stage_used = false;
  const std::string& stage = t.stage;
  t.stage_ddl = "CREATE TEMP TABLE " + stage + " (_sluice_seq bigint";
  // The staged value of each field, cast to the column's type without its modifier: the
  // assignment to the column then checks the modifier (varchar(3) refuses 'long', where an
  // explicit cast to varchar(3) would cut it).
  std::vector<std::string> value;
  t.stage_kinds.clear();
  for (size_t i = 0; i < n; ++i) {
    const std::string c = "c" + std::to_string(i);
    const DataType& type = schema.field(i).type;
    const TableColumn& col = t.columns[static_cast<size_t>(t.column_of[i])];
    // JSON bound for a json or text column is staged as text, so that its spelling is kept
    // (jsonb would normalise it).
    const bool json_text =
        type.id == TypeId::kJson && DirectKind(type, col.oid) == WireKind::kBytes;
    const unsigned staged_oid = json_text ? pg::oid::kText : NaturalOid(type);
    t.stage_kinds.push_back(json_text ? WireKind::kBytes : pg::NaturalWireKind(type));
    t.stage_ddl += ", " + c + " " + (json_text ? std::string("text") : pg::PgTypeName(type));
    value.push_back("s." + c + (col.oid == staged_oid ? "" : "::" + col.base_type));
  }
  if (cfg_.mode == WriteMode::kReplicate)
    t.stage_ddl += ", _sluice_op text, _sluice_unchanged text";
  t.stage_ddl += ") ON COMMIT DROP";
  t.copy_stage = "COPY " + stage + " FROM STDIN (FORMAT binary)";
  const std::string range = " WHERE s._sluice_seq >= $1 AND s._sluice_seq < $2";
  std::string key_match;
  for (int f : t.key_fields) {
    key_match +=
        " AND t." + QuoteIdent(names[static_cast<size_t>(f)]) + " = s.c" + std::to_string(f);
  }
  t.insert_sql = "INSERT INTO " + t.qtable + " AS t (" + QuotedList(names) + ") SELECT " +
                 Join(value, ", ") + " FROM " + stage + " s" + range;
  if (cfg_.mode == WriteMode::kReplicate) t.insert_sql += " AND s._sluice_op IN ('c', 'R')";
  t.update_sql.clear();
  if (KeyMode(cfg_.mode)) {
    std::string set, partial;
    for (size_t i = 0; i < n; ++i) {
      if (std::find(t.key_fields.begin(), t.key_fields.end(), static_cast<int>(i)) !=
          t.key_fields.end())
        continue;
      const std::string col = QuoteIdent(names[i]);
      set += std::string(set.empty() ? "" : ", ") + col + " = EXCLUDED." + col;
      partial += std::string(partial.empty() ? "" : ", ") + col +
                 " = CASE WHEN substr(s._sluice_unchanged, " + std::to_string(i + 1) +
                 ", 1) = '1' THEN t." + col + " ELSE " + value[i] + " END";
    }
    t.insert_sql += " ON CONFLICT (" + QuotedList(keys) + ") DO " +
                    (set.empty() ? "NOTHING" : "UPDATE SET " + set);
    if (!cfg_.version.empty() && !set.empty()) {
      auto at = std::find_if(names.begin(), names.end(),
                             [&](const std::string& c) { return ToLower(c) == ToLower(cfg_.version); });
      if (at == names.end()) {
        return Status::InvalidArgument("sink.version: column '" + cfg_.version + "' is not in the rows of table " +
                                       t.qtable + " (columns: " + Join(names, ", ") + ")");
      }
      // A row without a version never replaces one with a version.
      const std::string v = QuoteIdent(*at);
      t.insert_sql += " WHERE EXCLUDED." + v + " >= t." + v + " OR t." + v + " IS NULL";
    }
    if (!partial.empty()) {
      t.update_sql = "UPDATE " + t.qtable + " t SET " + partial + " FROM " + stage + " s" + range +
                     " AND s._sluice_op = 'p'" + key_match;
    }
  }
  t.delete_sql = "DELETE FROM " + t.qtable + " t USING " + stage + " s" + range +
                 " AND s._sluice_op IN ('d', 'R')" + key_match;
  t.schema = schema;
  t.prepared = true;
  return Status::OK();
}

// Runs `load(lo, hi)` under a savepoint. When the server refuses the data (a constraint, a value
// out of range, bad encoding), the range is rolled back and halved until each refused row stands
// alone; those go to `refuse` and the others load, in the same transaction. Any other error
// (a lost connection, a missing privilege) is returned: the group is then aborted.
Status PostgresSink::LoadRange(int64_t lo, int64_t hi, const RangeFn& load,
                               const RefuseFn& refuse) {
  if (lo >= hi) return Status::OK();
  RETURN_IF_ERROR(conn_->Exec("SAVEPOINT sluice_rows"));
  Status st = load(lo, hi);
  if (st.ok()) return conn_->Exec("RELEASE SAVEPOINT sluice_rows");
  if (!pg::IsDataError(conn_->last_sqlstate())) return st;
  Refusal why{st, conn_->last_column()};
  RETURN_IF_ERROR(conn_->Exec("ROLLBACK TO SAVEPOINT sluice_rows; RELEASE SAVEPOINT sluice_rows"));
  if (hi - lo == 1) {
    refuse(lo, why);
    return Status::OK();
  }
  const int64_t mid = lo + (hi - lo) / 2;
  RETURN_IF_ERROR(LoadRange(lo, mid, load, refuse));
  return LoadRange(mid, hi, load, refuse);
}

// One COPY of rows [lo, hi), encoded and sent in chunks of about kChunkBytes.
Status PostgresSink::CopyRows(const std::string& copy_sql, const Outgoing& rows, bool row_number,
                              int64_t lo, int64_t hi) {
  pg::CopyBinaryEncoder enc(rows.columns, rows.kinds, row_number);
  RETURN_IF_ERROR(conn_->BeginCopyIn(copy_sql));
  buf_.Clear();
  pg::CopyBinaryEncoder::AppendHeader(buf_);
  // Rows per chunk from the range's average row size; a row larger than a chunk goes alone.
  const double bound = static_cast<double>(std::max<size_t>(enc.BoundRows(lo, hi), 1));
  const int64_t step = std::max<int64_t>(
      1, static_cast<int64_t>(kChunkBytes * static_cast<double>(hi - lo) / bound));
  Status sent;
  for (int64_t r = lo; r < hi && sent.ok(); r += step) {
    enc.AppendRows(r, std::min(hi, r + step), buf_);
    if (r + step >= hi) pg::CopyBinaryEncoder::AppendTrailer(buf_);
    sent = conn_->PutCopyData(buf_.view());
    buf_.Clear();
  }
  if (lo == hi) {
    pg::CopyBinaryEncoder::AppendTrailer(buf_);
    sent = conn_->PutCopyData(buf_.view());
  }
  // A send failure is kept by the connection and returned by EndCopyIn.
  return conn_->EndCopyIn();
}

Status PostgresSink::Write(const RecordBatch& batch) {
  RETURN_IF_ERROR(CheckOpen());
  ASSIGN_OR_RETURN(std::string table, TableFor(batch.stream));
  if (batch.schema()->size() == 0) {
    if (batch.num_rows() == 0) return Status::OK();
    return Status::Permanent("postgres table " + QuoteQualifiedName(table) +
                             ": rows without columns");
  }
  RETURN_IF_ERROR(Begin());
  if (cfg_.mode == WriteMode::kChangelog) {
    // Appended like any rows: one row per change event, in the batch's order.
    RecordBatchPtr events = sql::ChangelogBatch(batch);
    ASSIGN_OR_RETURN(Target * t, PrepareTarget(table, *events));
    if (!t->direct.empty()) return WriteDirect(*t, *events);
    return WriteStaged(*t, *events);
  }
  ASSIGN_OR_RETURN(Target * t, PrepareTarget(table, batch));
  if (!t->direct.empty()) return WriteDirect(*t, batch);
  return WriteStaged(*t, batch);
}

Status PostgresSink::WriteDirect(Target& t, const RecordBatch& batch) {
  Outgoing rows;
  for (size_t c = 0; c < batch.schema()->size(); ++c) rows.columns.push_back(&batch.column(c));
  rows.kinds = t.direct;
  rows.num_rows = batch.num_rows();
  return LoadRange(
      0, rows.num_rows,
      [&](int64_t lo, int64_t hi) { return CopyRows(t.copy_direct, rows, false, lo, hi); },
      [&](int64_t i, const Refusal& why) { Refuse(t, batch, i, why); });
}

// Upsert and replicate compact the batch by key first; append and replace (into a table whose
// types differ from the wire forms) stage the batch as it is.
Status PostgresSink::WriteStaged(Target& t, const RecordBatch& batch) {
  Outgoing rows;
  sql::CompactedRows compact;
  const size_t n = batch.schema()->size();
  rows.kinds = t.stage_kinds;
  if (KeyMode(cfg_.mode)) {
    compact = sql::CompactByKey(batch, t.key_fields, cfg_.mode == WriteMode::kReplicate);
    for (int64_t r : compact.null_key_rows) {
      Refuse(t, batch, r,
             {Status::Permanent(
                  "the key (" + Join(t.key, ", ") + ") is null, so the row cannot be " +
                  (cfg_.mode == WriteMode::kUpsert ? "upserted" : "applied") + " by key"),
              ""});
    }
    rows.columns = compact.columns;
    rows.num_rows = compact.num_rows;
    rows.batch_row = compact.batch_row;
    if (cfg_.mode == WriteMode::kReplicate) {
      rows.columns.push_back(compact.ops.get());
      rows.columns.push_back(compact.unchanged.get());
      rows.kinds.push_back(WireKind::kBytes);
      rows.kinds.push_back(WireKind::kBytes);
    }
  } else {
    for (size_t c = 0; c < n; ++c) rows.columns.push_back(&batch.column(c));
    rows.num_rows = batch.num_rows();
  }
  RETURN_IF_ERROR(StageRows(t, batch, rows));
  const bool deletes = cfg_.mode == WriteMode::kReplicate && compact.has_deletes;
  const bool partial = cfg_.mode == WriteMode::kReplicate && compact.has_partial;
  return LoadRange(
      0, rows.num_rows,
      [&](int64_t lo, int64_t hi) { return ApplyStaged(t, lo, hi, deletes, partial); },
      [&](int64_t i, const Refusal& why) { Refuse(t, batch, rows.BatchRow(i), why); });
}

// COPYs `rows` into the transaction's staging table of `t`, numbered from 0. Rows the COPY itself
// refuses (bad UTF-8, invalid JSON) are reported and stay out of the staging table.
Status PostgresSink::StageRows(Target& t, const RecordBatch& batch, const Outgoing& rows) {
  if (!t.stage_created) {
    Status st = conn_->Exec(t.stage_ddl);
    if (!st.ok())
      return st.WithContext("postgres sink: creating the temporary staging table of " + Where(t));
    t.stage_created = true;
  } else if (t.stage_used) {
    RETURN_IF_ERROR(conn_->Exec("TRUNCATE " + t.stage));
  }
  t.stage_used = true;
  return LoadRange(
      0, rows.num_rows,
      [&](int64_t lo, int64_t hi) { return CopyRows(t.copy_stage, rows, true, lo, hi); },
      [&](int64_t i, const Refusal& why) { Refuse(t, batch, rows.BatchRow(i), why); });
}

// Staged rows [lo, hi) into the table: deletes first (a delete-then-reinsert deletes, then
// inserts), then inserts or upserts, then updates that leave unchanged columns as stored.
Status PostgresSink::ApplyStaged(Target& t, int64_t lo, int64_t hi, bool deletes, bool partial) {
  const std::vector<std::optional<std::string>> range = {std::to_string(lo), std::to_string(hi)};
  if (deletes) RETURN_IF_ERROR(conn_->Query(t.delete_sql, range).status());
  RETURN_IF_ERROR(conn_->Query(t.insert_sql, range).status());
  if (partial && !t.update_sql.empty()) RETURN_IF_ERROR(conn_->Query(t.update_sql, range).status());
  return Status::OK();
}

void PostgresSink::Refuse(const Target& t, const RecordBatch& batch, int64_t row,
                          const Refusal& why) {
  std::string msg = Where(t) + " refused the row";
  int field = why.column.empty() ? -1 : batch.schema()->IndexOf(why.column);
  if (!why.column.empty()) {
    msg += ", column '" + why.column + "'";
    if (field >= 0) {
      const Column& col = batch.column(static_cast<size_t>(field));
      std::string value;
      AppendValueText(col, row, value);
      msg += col.IsNull(row) ? " (null)" : " (value '" + PrintableExcerpt(value, 80) + "')";
    }
  }
  std::string reason = why.status.message();
  if (StartsWith(reason, "postgres: ")) reason = reason.substr(10);
  RejectedRow r;
  r.stream = batch.stream;
  r.origin = RowOriginText(batch, row);
  r.position_key = r.origin + "#sink";
  r.raw = RowJson(batch, row);
  r.rule = "sink";
  r.column = why.column;
  r.reason = msg + ": " + reason;
  refused_.push_back(std::move(r));
}

Status PostgresSink::PutState(const std::string& sink, const std::string& stream,
                              const std::string& key, const std::string& value) {
  return conn_
      ->Query(
          std::string("INSERT INTO ") + kStateTable +
              " (pipeline, sink, stream, key, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6) "
              "ON CONFLICT (pipeline, sink, stream, key) DO UPDATE SET value = EXCLUDED.value, "
              "updated_at = EXCLUDED.updated_at",
          {pipeline_, sink, stream, key, value, UtcNowIso()})
      .status();
}

Status PostgresSink::Commit(const CommitState& state) {
  RETURN_IF_ERROR(CheckOpen());
  RETURN_IF_ERROR(Begin());
  Status st;
  for (const SourcePosition& pos : state.positions) {
    st = PutState(StateSink(), pos.stream, pos.key, pos.value);
    if (!st.ok()) break;
  }
  if (st.ok()) {
    // Cumulative counters live under the sink's own name in every mode: they count what was
    // loaded, staged or not.
    auto prev = conn_->Query(std::string("SELECT value FROM ") + kStateTable +
                                 " WHERE pipeline = $1 AND sink = $2 AND stream = '' AND key = $3",
                             {pipeline_, cfg_.name, std::string(kCountersKey)});
    st = prev.status();
    if (st.ok()) {
      std::string previous = prev->rows() ? std::string(prev->Get(0, 0)) : "";
      st = PutState(cfg_.name, "", kCountersKey, AddCountersJson(previous, state.counters));
    }
  }
  if (st.ok()) st = conn_->Exec("COMMIT");
  if (!st.ok()) {
    (void)Rollback();
    return st.WithContext("postgres sink: commit");
  }
  in_group_ = false;
  for (auto& entry : targets_) {
    entry.second->stage_created = false;  // ON COMMIT DROP
    entry.second->stage_used = false;
    if (cfg_.mode == WriteMode::kReplace)
      staged_[entry.second->user_table] = entry.second->user_table;
  }
  return Status::OK();
}

Status PostgresSink::Abort() {
  refused_.clear();
  Status st = Rollback();
  if (!st.ok()) return st.WithContext("postgres sink: rollback");
  return Status::OK();
}

// Replace mode, one table: the staged rows become the table's rows. An existing table is
// emptied and refilled, so its indexes, grants, views and foreign keys stay as they are; a new
// one is the staging table renamed.
Status PostgresSink::SwapIn(const std::string& table) {
  Target t;
  t.user_table = table;
  t.qtable = StagingTable(table);
  RETURN_IF_ERROR(LoadColumns(t));
  const std::string user = QuoteQualifiedName(table);
  ASSIGN_OR_RETURN(bool user_exists, TableExists(user));
  if (!t.exists) {
    // Every staged group was empty: the refreshed table has no rows.
    return user_exists ? conn_->Exec("TRUNCATE " + user) : Status::OK();
  }
  if (!user_exists) {
    auto [schema, name] = pg::SplitQualifiedName(table);
    return conn_->Exec("ALTER TABLE " + t.qtable + " RENAME TO " + QuoteIdent(name));
  }
  Target u;
  u.user_table = table;
  u.qtable = user;
  RETURN_IF_ERROR(LoadColumns(u));
  std::vector<std::string> cols;
  for (const TableColumn& c : t.columns) {
    if (c.generated) continue;
    int at = FindColumn(u, c.name);
    if (at < 0) {
      RETURN_IF_ERROR(
          conn_->Exec("ALTER TABLE " + user + " ADD COLUMN " + QuoteIdent(c.name) + " " + c.type));
    } else if (u.columns[static_cast<size_t>(at)].generated) {
      continue;
    }
    cols.push_back(c.name);
  }
  RETURN_IF_ERROR(conn_->Exec("TRUNCATE " + user));
  RETURN_IF_ERROR(conn_->Exec("INSERT INTO " + user + " (" + QuotedList(cols) +
                              ") OVERRIDING SYSTEM VALUE SELECT " + QuotedList(cols) + " FROM " +
                              t.qtable));
  return conn_->Exec("DROP TABLE " + t.qtable);
}

// Replace mode: one transaction swaps every staged table in and makes its positions the sink's.
Status PostgresSink::Finish() {
  if (cfg_.mode != WriteMode::kReplace) return Status::OK();
  RETURN_IF_ERROR(CheckOpen());
  if (in_group_) return Status::Internal("postgres sink: Finish with an uncommitted commit group");
  std::map<std::string, std::string> tables = staged_;
  ASSIGN_OR_RETURN(std::vector<std::string> streams, StagedStreams());
  for (const auto& s : streams) {
    ASSIGN_OR_RETURN(std::string table, TableFor(s));
    tables.emplace(table, table);
  }
  if (tables.empty()) return Status::OK();
  Status st = Begin();
  for (auto it = tables.begin(); st.ok() && it != tables.end(); ++it) st = SwapIn(it->second);
  if (st.ok()) {
    st = conn_
             ->Query(std::string("DELETE FROM ") + kStateTable +
                         " WHERE pipeline = $1 AND sink = $2 AND NOT (stream = '' AND key = $3)",
                     {pipeline_, cfg_.name, std::string(kCountersKey)})
             .status();
  }
  if (st.ok()) {
    st = conn_
             ->Query(std::string("UPDATE ") + kStateTable +
                         " SET sink = $1 WHERE pipeline = $2 AND sink = $3",
                     {cfg_.name, pipeline_, StateSink()})
             .status();
  }
  if (st.ok()) st = conn_->Exec("COMMIT");
  if (!st.ok()) {
    (void)Rollback();
    return st.WithContext("postgres sink: swapping in the replaced tables");
  }
  in_group_ = false;
  for (const auto& entry : tables) Info("replaced table " + QuoteQualifiedName(entry.second));
  staged_.clear();
  targets_.clear();
  resume_staging_ = false;
  return Status::OK();
}

Status PostgresSink::Close() {
  Status st = Rollback();
  conn_.reset();  // closing with an open transaction rolls it back, as a crash would
  return st;
}

Status PostgresSink::ResetState(const std::string& stream) {
  RETURN_IF_ERROR(CheckOpen());
  if (in_group_) return Status::Internal("postgres sink: ResetState with an open commit group");
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
    st = conn_->Exec("DROP TABLE IF EXISTS " + StagingTable(*table));
    if (!st.ok()) break;
  }
  if (st.ok()) {
    std::string sql =
        std::string("DELETE FROM ") + kStateTable + " WHERE pipeline = $1 AND sink IN ($2, $3)";
    std::vector<std::optional<std::string>> params = {pipeline_, cfg_.name,
                                                      cfg_.name + std::string(kStagingSinkSuffix)};
    if (!stream.empty()) {
      sql += " AND stream = $4";
      params.emplace_back(stream);
    }
    st = conn_->Query(sql, params).status();
  }
  if (st.ok()) st = conn_->Exec("COMMIT");
  if (!st.ok()) {
    (void)Rollback();
    return st.WithContext("postgres sink: resetting state");
  }
  in_group_ = false;
  staged_.clear();
  resume_staging_ = false;
  return Status::OK();
}

std::string PostgresSink::Describe() const {
  std::string table = cfg_.table.empty() ? std::string("<stream name>") : cfg_.table;
  return "postgres " + pg::DescribeDsn(cfg_.conn.dsn) + " table " + table + " (" +
         ModeName(cfg_.mode) + ")";
}

const OptionSchema& PostgresSinkOptions() {
  static const OptionSchema schema = {
      pg::DsnOptionSpec(),
      {"table", OptionType::kString, "",
       "target table, optionally schema.table (default: the stream name); '{stream}' in the name "
       "is replaced by the stream name. Names are quoted, so their case is kept"},
      {"mode",
       OptionType::kEnum,
       "append",
       "append: add the rows; upsert: insert or update by key; replace: load into "
       "<table>__sluice_staging and swap it in, in one transaction, when the input ends; "
       "replicate: apply change data (insert, update, delete) by key; changelog: append one row "
       "per change (_sluice_seq, op, before, after, source)",
       false,
       {"append", "upsert", "replace", "replicate", "changelog"}},
      {"key", OptionType::kStringList, "",
       "columns that identify a row; required by upsert and replicate, which create a unique "
       "index on them when the table has none"},
      {"version", OptionType::kString, "",
       "[upsert] a column that orders the versions of a row (updated_at, a version number): a row "
       "older than the stored one leaves it as it is, so a late or replayed row never overwrites a "
       "newer one"},
      {"name", OptionType::kString, "postgres",
       "this sink's name in the _sluice_state table; set it when two pipelines' sinks of the "
       "same name share a database and pipeline name"},
      TlsOptionSpec(),
  };
  return schema;
}

Result<std::unique_ptr<Sink>> MakePostgresSink(const ConnectorContext& ctx,
                                               const ConfigNode& block) {
  Options opts(&block, &PostgresSinkOptions());
  const std::string where = block.path().empty() ? "sink" : block.path();
  PgSinkConfig cfg;
  ASSIGN_OR_RETURN(cfg.conn, pg::ParsePgConnOptions(opts, block, ctx.base_dir));
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
  return std::unique_ptr<Sink>(new PostgresSink(ctx, std::move(cfg)));
}

}  // namespace

void RegisterPostgresSink(ConnectorRegistry& registry) {
  ConnectorInfo info;
  info.type = "postgres";
  info.kind = "sink";
  info.summary = "PostgreSQL table; binary COPY, rows and checkpoint commit in one transaction";
  info.delivery = "exactly-once";
  info.options = PostgresSinkOptions();
  info.make_sink = MakePostgresSink;
  registry.Add(std::move(info));
}

}  // namespace sluice
