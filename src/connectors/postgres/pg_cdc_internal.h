#pragma once
// Internals of mode: cdc, shared by pg_cdc.cc (setup, stream) and pg_cdc_snapshot.cc (the
// initial copy). Nothing outside this folder includes it.
//
// Threading: Open and Run run on the source thread; OnCommitted on the sink thread, and it only
// touches the atomics `confirmed_` and `committed_groups_`.

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "connectors/postgres/pg_source_internal.h"
#include "connectors/postgres/pgoutput.h"

namespace sluice::pgsrc {

// The position key of every cdc stream.
inline constexpr char kCdcKey[] = "cdc";

// A table's checkpoint: `lsn` is the commit LSN of the last transaction the sink holds (every
// transaction at or below it is skipped), `end_lsn` where that commit record ends (what the
// server is told). While the initial copy runs (`snapshot_done` false) the table streams all the
// same; `last_key` is the last key of the last chunk in the sink and `snapshot_rows` the rows
// copied so far.
struct CdcState {
  pg::pgoutput::Lsn lsn = 0;
  pg::pgoutput::Lsn end_lsn = 0;
  bool snapshot_done = true;
  std::optional<KeyText> last_key;
  int64_t snapshot_rows = 0;
  std::string ToJson() const;
  static std::optional<CdcState> FromJson(const std::string& text);
};

struct CdcColumn {
  std::string name;
  unsigned type_oid = 0;
  int typmod = -1;
  DataType type;
  bool key = false;  // part of the primary key
};

struct CdcTable {
  std::string configured;  // as written in tables:
  std::string stream;      // the table's name without its schema
  std::string nspname, relname, qualified;
  unsigned relid = 0;
  char replident = 'd';
  std::vector<std::string> pk;
  std::map<std::string, std::string> sql_types;  // column -> format_type(), at open
  std::vector<CdcColumn> cols;
  SchemaPtr schema;
  std::optional<CdcState> state;
  // Rows decoded and not yet emitted.
  std::unique_ptr<RecordBatchBuilder> builder;
  std::vector<char> ops;
  std::vector<std::vector<uint8_t>> unchanged;
  std::vector<RecordBatch::ChangeSource> changes;
  std::vector<RejectedRow> rejects;
  // Old rows (RecordBatch::before_rows), for sinks that write them; `before_absent` marks the
  // columns the server did not send (a key-only old row, an unchanged TOAST value), as
  // `unchanged` does for the rows.
  std::unique_ptr<RecordBatchBuilder> before;
  std::vector<std::vector<uint8_t>> before_absent;
};

// The snapshot chunk in flight (pg_cdc_snapshot.cc; README.md, "Initial snapshot"): the rows
// selected between a low and a high watermark written into the WAL. While the stream is between
// the two, every key a change touches is dropped from it; at the high watermark the rest goes out
// as op `r`.
struct CdcChunk {
  size_t table = 0;
  std::string low, high;  // the contents of the two watermark messages
  bool low_seen = false;
  std::vector<std::string> columns;  // the table's columns when the rows were selected
  PgResult rows;
  std::vector<char> dropped;                    // per row
  std::unordered_map<std::string, int> by_key;  // EncodedKey -> row
  bool keyed = true;
  bool spoiled = false;  // a keyless table changed in the window: it is selected again
  std::optional<KeyText> last_key;  // the last selected key (before any drop)
  // The SELECT's snapshot (pg_current_snapshot): a transaction it did not see may not be
  // overwritten by the selected rows, wherever the stream has it.
  uint32_t xmin = 0, xmax = 0;
  std::set<uint32_t> xip;
  bool Sees(uint32_t xid) const;
};

// A replication-protocol command (simple query protocol) on a replication connection.
Result<PgResult> ReplCommand(PgConn& conn, const std::string& sql);

class CdcSource : public Source {
 public:
  CdcSource(ConnectorContext ctx, const ConfigNode& block);
  Status Init();
  Status Open(const StateMap& committed) override;
  Status Run(Emitter& out) override;
  void OnCommitted(const std::vector<SourcePosition>& positions) override;
  std::vector<std::string> DescribePlan() override;

 private:
  using Clock = std::chrono::steady_clock;
  Status PlanColumns(CdcTable& t, const std::vector<std::pair<std::string, std::pair<unsigned, int>>>& cols,
                     const std::set<std::string>& keys);
  Status LostSlot() const;
  Status EnsurePublication();
  Status Setup();
  Status CheckSnapshotSupport() const;
  void SaveSchema(const CdcTable& t);
  // pg_cdc_snapshot.cc
  // The first table whose snapshot is still to copy, or tables_.size().
  size_t NextSnapshotTable() const;
  bool SnapshotPending() const;
  // Writes the low watermark, selects the next chunk of the first table whose copy is not done,
  // writes the high watermark.
  Status StartChunk();
  Status EmitWatermark(const std::string& content);
  // A change of the chunk's table, seen by the stream: drops the keys it touched.
  void NoteChunkChange(const CdcTable& t, const pg::pgoutput::RowChange& ch);
  // A logical decoding message; at the chunk's high watermark its remaining rows are appended.
  Status OnWatermark(const pg::pgoutput::LogicalMessage& m, Emitter& out);
  // Streaming.
  Status Stream(Emitter& out);
  Status OnMessage(const pg::pgoutput::Message& m, Emitter& out);
  Status OnRelation(const pg::pgoutput::Relation& rel, Emitter& out);
  Status OnChange(const pg::pgoutput::RowChange& ch);
  // A key-changing update whose new row lacks TOAST values: reads them by the new key.
  Status FillUnchanged(const CdcTable& t, const pg::pgoutput::RowChange& ch, pg::pgoutput::Tuple* filled,
                       PgResult* fetched);
  // `before_row`: the change's old row in t.before (AppendBefore), or -1.
  void AppendRow(CdcTable& t, char op, const pg::pgoutput::Tuple& tuple, const pg::pgoutput::Tuple* old,
                 int64_t before_row, const RecordBatch::ChangeSource& base);
  // Appends the old row of a change (`kind` 'K': the key only, 'O': the whole row) to t.before
  // when the sink writes old rows; its row number there, or -1 (none, or a value that does not
  // parse).
  int64_t AppendBefore(CdcTable& t, const pg::pgoutput::Tuple& old, char kind);
  Status FlushTable(CdcTable& t, Emitter& out);
  Status FlushAll(Emitter& out, bool boundary, bool flush);
  Status SendStatus(bool reply_requested);
  void LogLag();

  ConnectorContext ctx_;
  ConfigNode block_;
  Options opts_;
  pg::PgConnOptions conn_opts_;
  std::vector<std::string> table_names_;
  std::string slot_, publication_;
  double heartbeat_s_ = 10;
  bool stop_at_caught_up_ = false;
  bool snapshot_initial_ = true;
  int64_t page_size_ = kBatchRows;

  std::unique_ptr<PgConn> meta_;  // catalog, publication, lag
  std::unique_ptr<PgConn> repl_;  // replication=database
  std::unique_ptr<PgConn> snap_;  // watermarks and snapshot chunks
  std::string wal_level_, database_, user_;
  int server_version_ = 0;
  bool can_replicate_ = false;
  bool has_partitioned_ = false;
  bool slot_exists_ = false, slot_lost_ = false, publication_exists_ = false;
  pg::pgoutput::Lsn slot_confirmed_ = 0;
  std::vector<std::string> missing_from_publication_;
  std::optional<CdcChunk> chunk_;
  std::string run_id_;  // tells this run's watermarks from those of earlier runs
  int64_t chunk_seq_ = 0;
  std::map<unsigned, PgTypeInfo> types_;

  std::vector<CdcTable> tables_;
  std::map<std::pair<std::string, std::string>, size_t> by_name_;  // (schema, table) -> index
  std::map<uint32_t, size_t> relid_to_table_;

  // Stream state (source thread).
  bool in_txn_ = false;
  pg::pgoutput::Begin txn_;
  std::string txn_lsn_text_;
  int64_t txn_ordinal_ = 0;
  int64_t pending_rows_ = 0;
  uint64_t pending_bytes_ = 0;
  bool pending_positions_ = false;
  pg::pgoutput::Lsn received_ = 0;
  pg::pgoutput::Lsn position_end_ = 0;  // end LSN of the latest position (commit or keepalive)
  pg::pgoutput::Lsn emitted_end_ = 0;   // ... as emitted with a boundary
  pg::pgoutput::Lsn sent_flush_ = 0;
  int64_t skipped_rows_ = 0;
  Clock::time_point last_flush_, last_status_;
  std::vector<size_t> unchanged_cols_;
  std::vector<size_t> absent_cols_;  // AppendBefore's
  // Commit times of transactions not yet confirmed, grouped by 100 ms of commit time: (end LSN of
  // the group's last transaction, commit time of its first, µs since the Unix epoch). The lag in
  // seconds is the age of the oldest.
  std::deque<std::pair<pg::pgoutput::Lsn, int64_t>> unconfirmed_;
  double lag_warning_s_ = 300;
  int64_t lag_warning_bytes_ = int64_t{1} << 30;
  // Acknowledged by the sink (OnCommitted).
  std::atomic<pg::pgoutput::Lsn> confirmed_{0};
  std::atomic<int64_t> committed_groups_{0};
};

}  // namespace sluice::pgsrc
