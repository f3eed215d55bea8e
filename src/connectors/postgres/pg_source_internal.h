#pragma once
// Internals of the `postgres` source, shared by its three files: postgres_source.cc (options,
// catalog, plan, registration), pg_source_full.cc (mode: full) and pg_source_incremental.cc
// (mode: incremental and mode: query). Nothing outside this folder includes it.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/pg_conn.h"
#include "connectors/postgres/pg_copy_decode.h"
#include "connectors/postgres/pg_source_state.h"

namespace sluice::pgsrc {

using pg::KeyText;
using pg::PgColumn;
using pg::PgConn;
using pg::PgResult;
using pg::PgTypeInfo;
using pg::QuoteIdent;

// Tables smaller than this (by the planner's estimate) are read as one range.
inline constexpr double kMinRowsToSplit = 100000;
// Rows sampled to find the range bounds of a key that is not an integer.
inline constexpr double kSampleRows = 200000;
// Position keys, one per table (or query) and mode.
inline constexpr char kFullKey[] = "full";
inline constexpr char kIncrementalKey[] = "incremental";
inline constexpr char kQueryKey[] = "query";

const OptionSchema& PostgresSourceOptions();

// A statement whose rows come back in binary form, the values bound as text parameters.
Result<PgResult> QueryBinary(PgConn& conn, const std::string& sql,
                             const std::vector<std::optional<std::string>>& params = {});

// A value read from the server, back into SQL: a quoted literal cast to the column's type.
std::string Literal(const std::optional<std::string>& text, const std::string& sql_type);

// Sleeps `seconds`, waking early on a stop request. False when stopped.
bool SleepUnlessStopped(Emitter& out, double seconds);

struct Relation {
  unsigned relid = 0;
  std::string nspname, relname;
  char relkind = 'r';
  double reltuples = -1;
};
struct CatalogColumn {
  std::string name;
  int attnum = 0;
  unsigned type_oid = 0;
  int typmod = -1;
  bool notnull = false;
  std::string sql_type;  // format_type(): safe to put after :: in SQL
};
// One table (or view) being read, with everything its reads need.
struct Table {
  std::string name;        // as configured: the stream's name
  std::string qualified;   // "schema"."table"
  Relation rel;
  std::vector<PgColumn> cols;           // selected columns: the output ones, then hidden ones
  std::vector<std::string> sql_types;   // per selected column
  std::vector<int> attnums;             // per selected column
  std::vector<bool> notnull;            // per selected column
  size_t out_cols = 0;
  SchemaPtr all_schema;  // every selected column (what the decoder fills)
  SchemaPtr schema;      // the output columns
  std::vector<int> key;  // the keyset: primary key (full) or key: (incremental); indices into cols
  int cursor = -1;       // incremental
  int deleted = -1;      // incremental
  std::vector<std::string> notes;  // for DescribePlan
  // mode: full
  pg::FullState full;
  bool resuming = false;
  bool keyless_open = false;  // a read without a key is in progress (no commit may end inside it)
  // mode: incremental
  pg::IncrementalState inc;

  bool keyed() const { return !key.empty(); }
  std::string Col(int i) const { return "t." + QuoteIdent(cols[static_cast<size_t>(i)].name); }
  std::string SelectList() const {
    std::string s;
    for (size_t i = 0; i < cols.size(); ++i) s += (i ? ", " : "") + cols[i].SelectExpr("t.");
    return s;
  }
  // "(t.a, t.b)"
  std::string Tuple(const std::vector<int>& idx) const {
    std::string s = "(";
    for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + Col(idx[i]);
    return s + ")";
  }
  // "($3::int8, $4::text)"; `n` is advanced past the parameters used.
  std::string Params(const std::vector<int>& idx, int* n) const {
    std::string s = "(";
    for (size_t i = 0; i < idx.size(); ++i) {
      s += (i ? ", $" : "$") + std::to_string((*n)++) + "::" + sql_types[static_cast<size_t>(idx[i])];
    }
    return s + ")";
  }
  std::string OrderBy(const std::vector<int>& idx) const {
    std::string s = " ORDER BY ";
    for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + Col(idx[i]);
    return s;
  }
  // The output columns of a batch decoded with every selected column.
  RecordBatchPtr Project(RecordBatchPtr b) const {
    if (!b || out_cols == cols.size()) return b;
    std::vector<ColumnPtr> keep(b->columns().begin(), b->columns().begin() + static_cast<long>(out_cols));
    auto out = std::make_shared<RecordBatch>(schema, std::move(keep), b->num_rows());
    out->stream = b->stream;
    out->origin_unit = b->origin_unit;
    out->origin_lines = b->origin_lines;
    out->ops = b->ops;
    return out;
  }
};

// What a worker hands to the emitting thread: one batch of one range.
struct Piece {
  size_t table = 0, range = 0;
  RecordBatchPtr batch;
  std::vector<RejectedRow> rejects;
  KeyText last;       // the last key read; empty when no row was
  int64_t rows = 0;   // rows read (loaded and rejected)
  uint64_t bytes = 0;
  bool done = false;  // the range is finished
};

// A bounded queue from the workers to the emitting thread. Push blocks while full and fails once
// closed; Pop returns nullopt once closed and drained.
class PieceQueue {
 public:
  explicit PieceQueue(size_t capacity) : capacity_(capacity) {}
  bool Push(Piece p) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(p));
    not_empty_.notify_one();
    return true;
  }
  std::optional<Piece> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    Piece p = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return p;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Piece> items_;
  bool closed_ = false;
};

// Catalog look-ups (postgres_source.cc), shared with mode: cdc.
Result<Relation> ResolveRelation(PgConn& conn, const std::string& name);
Result<std::map<unsigned, PgTypeInfo>> ResolveTypes(PgConn& conn, const std::vector<unsigned>& oids);
Result<std::vector<CatalogColumn>> ReadColumns(PgConn& conn, unsigned relid);
Result<std::vector<std::string>> ReadPrimaryKey(PgConn& conn, unsigned relid);

// mode: cdc (pg_cdc.cc): logical replication with pgoutput.
Result<std::unique_ptr<Source>> MakeCdcSource(const ConnectorContext& ctx, const ConfigNode& block);

class PostgresSource : public Source {
 public:
  PostgresSource(ConnectorContext ctx, const ConfigNode& block)
      : ctx_(std::move(ctx)), block_(block), opts_(&block_, &PostgresSourceOptions()) {}

  Status Init();
  Status Open(const StateMap& committed) override;
  Status Run(Emitter& out) override;
  std::vector<std::string> DescribePlan() override;

 private:
  // Config checks.
  Status CheckModeOptions();
  std::optional<DataType> Declared(const std::string& stream, const std::string& column) const;
  // Open.
  Status ExpandTablePatterns();
  Status OpenTable(const std::string& name);
  Status PlanTableColumns(Table& t, const std::vector<CatalogColumn>& catalog);
  Status CheckIncrementalColumns(Table& t);
  Result<std::vector<pg::RangeState>> PlanRanges(const Table& t);
  Status LoadFullStates(const StateMap& committed);
  Status LoadIncrementalStates(const StateMap& committed);
  Status OpenQuery(const StateMap& committed);
  // Runs.
  Status RunFull(Emitter& out);
  Status ReadRange(PgConn& conn, size_t ti, size_t ri, pg::RangeState r, PieceQueue& q);
  Status EmitPiece(Piece& p, Emitter& out);
  Status RunIncremental(Emitter& out);
  Status ReadIncremental(Table& t, Emitter& out);
  Status ReadNullCursors(Table& t, Emitter& out);
  Status EmitPage(Table& t, const PgResult& res, const std::vector<bool>* skip, int64_t skipped,
                  int64_t* ordinal, Emitter& out);
  Status RunQuery(Emitter& out);
  // Incremental page statements: (sql, params).
  using Stmt = std::pair<std::string, std::vector<std::optional<std::string>>>;
  Stmt FirstPage(const Table& t) const;
  Stmt WindowPage(const Table& t, const std::optional<KeyText>& after) const;
  Stmt NewRowsPage(const Table& t, const KeyText& after) const;
  std::vector<int> Keyset(const Table& t) const;
  long double CursorRank(const std::string& text) const;
  Status Poll(Emitter& out, const std::function<Status()>& pass);
  void SaveSchemas();

  ConnectorContext ctx_;
  ConfigNode block_;
  Options opts_;
  pg::PgConnOptions conn_opts_;
  std::unique_ptr<PgConn> conn_;
  std::string mode_;
  std::vector<std::string> table_names_;
  std::vector<std::string> columns_;
  int parallel_ = 1;
  std::string cursor_;
  std::vector<std::string> key_;
  int64_t page_size_ = kBatchRows;
  std::optional<double> poll_s_;
  std::string null_cursor_;
  std::string deleted_flag_;
  std::string initial_cursor_;
  // lookback: `lookback_text_` is what SQL subtracts (an interval or a number); `lookback_rank_`
  // the same in cursor ranks (microseconds or the number).
  std::string lookback_text_;
  long double lookback_rank_ = 0;
  bool cursor_is_time_ = false;
  std::vector<Table> tables_;
  // mode: query
  std::string stream_;
  std::string query_sql_;      // with $n parameters, wrapped for casts when needed
  bool query_uses_cursor_ = false;
  std::vector<PgColumn> query_cols_;
  SchemaPtr query_schema_;
  int query_cursor_col_ = -1;
  std::optional<std::string> query_cursor_;  // the value bound to :cursor
  // mode: full, while running
  std::atomic<bool> stop_{false};
};

}  // namespace sluice::pgsrc
