// mode: cdc of the `mysql` source, for MariaDB.
//
// Lifecycle. Open connects, checks the server (binlog_format=ROW, binlog_row_image=FULL,
// binlog_row_metadata=FULL, log_bin, the replication privileges) and reads the tables' columns
// and keys and the committed positions; it changes nothing, so `sluice check` is safe. A
// problem fails Open with the statement that fixes it. Run copies the tables that need it, then
// streams the binlog.
//
// Positions. Each table's position (stream key "cdc") is the GTID position of the last source
// transaction whose rows the sink holds, written with the rows (DESIGN.md "Where state lives").
// The rows of one transaction go out with boundary=false; the boundary carrying the positions
// follows its XID (or COMMIT), so a commit group never splits a transaction. On restart the
// stream starts at the lowest committed position and every transaction at or below a table's own
// position is skipped for that table: a kill -9 anywhere loses nothing and applies nothing twice.
//
// Snapshot, by watermarks (the DBLog approach; README.md "Initial snapshot"). The stream runs from
// the first moment; a table whose copy is not done is read in chunks of `page_size` rows in key
// order, one chunk in flight at a time:
//   1. a low watermark: this pipeline's row of `_sluice_watermark` in the source database is
//      written (autocommit, so it is a GTID transaction of its own in the binlog);
//   2. the chunk: `WHERE (key) > (last key) ORDER BY key LIMIT page_size`, autocommit;
//   3. a high watermark, the same way.
// When the stream reads the low watermark it starts dropping from the chunk every key that a
// change of the table touches; at the high watermark the rest goes out as op 'r', inside the high
// watermark's transaction, whose position carries the table's progress (last key, done). So a
// chunk is in the sink exactly when its position is: kill -9 resumes after the last committed
// chunk and applies nothing twice. A selected row the window did not touch may go out at the
// high watermark: a change before the low watermark is in it (MariaDB commits in the engine in
// binlog order, commit_ordered, so once the low watermark's commit has returned every transaction
// before it in the binlog is visible to the SELECT), one after the high watermark follows it. A
// table without key is selected whole; a change of it in the window spoils the chunk, which is
// selected again.
//
// Fallback, when the watermark table cannot be created or written (privileges): START
// TRANSACTION WITH CONSISTENT SNAPSHOT; the binlog coordinates of that snapshot
// (binlog_snapshot_file/position) become a GTID position with BINLOG_GTID_POS. Tables are read in
// key order (op 'r') before the stream starts; each batch ends with a boundary whose position
// holds the last key, so a killed copy resumes after it (in a new snapshot; the changes in between
// are streamed again over rows that already hold them, which a replicate sink absorbs by key).
//
// Threading: Open and Run on the source thread; OnCommitted is not used (MariaDB keeps no
// replica position: the sink's is the only one).

#include "connectors/mysql/mysql_cdc.h"

// mysql.h must come first: mariadb_rpl.h uses its types.
// clang-format off
#include <mysql.h>
// After mysql.h, which it needs.
#include <ma_pvio.h>
#include <mariadb_rpl.h>
#include <poll.h>
// clang-format on

#include <charconv>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include "connectors/mysql/mysql_binlog.h"
#include "connectors/mysql/mysql_reader.h"
#include "connectors/mysql/mysql_types.h"
#include "connectors/sql/table_patterns.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"
#include "state/state_store.h"

namespace sluice::mysql {

// ---- GtidSet ----

bool GtidSet::Parse(std::string_view text, GtidSet* out) {
  out->domains.clear();
  for (const std::string& part : Split(text, ',')) {
    std::string_view p = Trim(part);
    if (p.empty()) continue;
    auto parts = Split(p, '-');
    if (parts.size() != 3) return false;
    int64_t d = 0, s = 0, n = 0;
    if (!ParseInt64(parts[0], &d) || !ParseInt64(parts[1], &s) || !ParseInt64(parts[2], &n) ||
        d < 0 || s < 0 || n < 0) {
      return false;
    }
    out->domains[static_cast<uint32_t>(d)] = {static_cast<uint32_t>(s), static_cast<uint64_t>(n)};
  }
  return true;
}

std::string GtidSet::ToString() const {
  std::string out;
  for (const auto& [d, e] : domains) {
    if (!out.empty()) out += ',';
    out += std::to_string(d) + "-" + std::to_string(e.server_id) + "-" + std::to_string(e.seq);
  }
  return out;
}

bool GtidSet::Contains(uint32_t domain, uint64_t seq) const {
  auto it = domains.find(domain);
  return it != domains.end() && it->second.seq >= seq;
}

bool GtidSet::Reaches(const GtidSet& target) const {
  for (const auto& [d, e] : target.domains) {
    if (!Contains(d, e.seq)) return false;
  }
  return true;
}

void GtidSet::Advance(uint32_t domain, uint32_t server_id, uint64_t seq) {
  auto& e = domains[domain];
  if (seq >= e.seq) e = {server_id, seq};
}

GtidSet GtidSet::Min(const GtidSet& a, const GtidSet& b) {
  GtidSet out;
  for (const auto& [d, e] : a.domains) {
    auto it = b.domains.find(d);
    if (it == b.domains.end()) continue;
    out.domains[d] = e.seq <= it->second.seq ? e : it->second;
  }
  return out;
}

namespace {

namespace bl = binlog;
using Clock = std::chrono::steady_clock;

std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
constexpr char kCdcKey[] = "cdc";
// The table the snapshot's watermarks are written to, in the DSN's database (never captured).
constexpr char kWatermarkTable[] = "_sluice_watermark";
// How long the binlog stream must be quiet before waiting whole transactions go out.
constexpr int kIdleFlushMs = 50;

std::string NewRunId() {
  std::random_device rd;
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                     static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// One part of a key as one string: a null mark, or its length and text.
void AppendKeyPart(std::string& out, const Column& col, int64_t row) {
  if (col.IsNull(row)) {
    out += '\x01';
    return;
  }
  std::string text;
  AppendValueText(col, row, text);
  out += '\x02';
  out += std::to_string(text.size());
  out += ':';
  out += text;
}

// A table's checkpoint. While the snapshot runs (`snapshot_done` false) `after` is the last key
// of the last chunk in the sink; with watermarks the table streams all the same, and `gtid`
// advances with the stream.
struct TableState {
  GtidSet gtid;
  bool snapshot_done = true;
  std::string after;  // JSON array of the last key copied, while the snapshot runs
  int64_t snapshot_rows = 0;

  std::string ToJson() const {
    nlohmann::json j;
    j["gtid"] = gtid.ToString();
    j["snapshot"] = snapshot_done ? "done" : "running";
    if (!snapshot_done && !after.empty()) j["after"] = nlohmann::json::parse(after, nullptr, false);
    if (snapshot_rows) j["snapshot_rows"] = snapshot_rows;
    return j.dump();
  }
  static bool FromJson(const std::string& text, TableState* out) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("gtid") || !j["gtid"].is_string()) return false;
    if (!GtidSet::Parse(j["gtid"].get<std::string>(), &out->gtid)) return false;
    out->snapshot_done = j.value("snapshot", "done") == "done";
    if (j.contains("after") && j["after"].is_array()) out->after = j["after"].dump();
    if (j.contains("snapshot_rows") && j["snapshot_rows"].is_number_integer())
      out->snapshot_rows = j["snapshot_rows"].get<int64_t>();
    return true;
  }
};

struct CdcTable {
  std::string stream;  // as written in tables:
  std::string db, name, qualified;
  // The columns as information_schema has them now (types by name), and the key's names.
  std::vector<SourceColumn> catalog;
  std::vector<std::string> key_names;
  // The columns of the rows being decoded: the catalog's, until a table map of the binlog names
  // other columns (an event older than a later ALTER): then the map's, typed from the catalog
  // where the name is known, else from the binlog type.
  std::vector<SourceColumn> columns;
  std::vector<size_t> key;
  SchemaPtr schema;
  std::optional<TableState> state;
  bool needs_snapshot = false;
  // Binlog column i -> index into columns (or -1: not in the schema), per table map.
  uint64_t map_id = ~0ULL;
  bl::TableMap map;
  std::vector<int> map_to_col;
  std::vector<int> col_to_map;
  // Rows decoded and not yet emitted, and the old rows of their updates (before images).
  std::unique_ptr<RecordBatchBuilder> builder;
  std::unique_ptr<RecordBatchBuilder> before;
  std::vector<char> ops;
  std::vector<RecordBatch::ChangeSource> changes;
  size_t changes_hint = 1024;  // the largest batch so far: room reserved for the next one
  std::vector<RejectedRow> rejects;
};

// The snapshot chunk in flight: the rows selected between a low and a high watermark.
struct CdcChunk {
  size_t table = 0;
  std::string low, high;  // the marks of the two watermark rows
  bool low_seen = false;
  std::vector<std::string> columns;  // the table's columns when the rows were selected
  RecordBatchPtr rows;               // null when nothing was selected
  std::vector<RejectedRow> rejects;  // selected rows whose values sluice cannot hold
  std::vector<char> dropped;         // per row of `rows`
  std::unordered_map<std::string, int64_t> by_key;  // key text -> row
  bool keyed = true;
  bool spoiled = false;  // a keyless table changed in the window: it is selected again
  int64_t selected = 0;  // rows and rejects
  std::string last_key;  // JSON array of the last selected key (before any drop)
};

uint32_t DefaultServerId(const std::string& pipeline) {
  uint32_t h = 2166136261u;
  for (char c : pipeline) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return 0x40000000u | (h & 0x3fffffffu);
}

// The shortest decimal text of a FLOAT, as a double (0.1f reads as 0.1).
double FloatAsShown(float f) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = f;
  std::from_chars(buf, r.ptr, d);
  return d;
}

int64_t CivilMicros(const bl::Cell& c) {
  return static_cast<int64_t>(DaysFromCivil(c.year, c.month, c.day)) * 86400000000LL +
         ((static_cast<int64_t>(c.hour) * 60 + c.minute) * 60 + c.second) * 1000000 + c.micro;
}

// Appends `v` as exactly `width` digits.
void PutDigits(std::string& out, uint64_t v, int width) {
  char tmp[20];
  for (int k = width - 1; k >= 0; --k, v /= 10) tmp[k] = static_cast<char>('0' + v % 10);
  out.append(tmp, static_cast<size_t>(width));
}

void PutDateTime(std::string& out, const bl::Cell& c, bool time) {
  out += '"';
  PutDigits(out, c.year, 4);
  out += '-';
  PutDigits(out, c.month, 2);
  out += '-';
  PutDigits(out, c.day, 2);
  if (time) {
    out += ' ';
    PutDigits(out, c.hour, 2);
    out += ':';
    PutDigits(out, c.minute, 2);
    out += ':';
    PutDigits(out, c.second, 2);
    out += '.';
    PutDigits(out, c.micro, 6);
  }
  out += '"';
}

bool SameCell(const bl::Cell& a, const bl::Cell& b) {
  using K = bl::Cell::Kind;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kInt:
    case K::kTime:
    case K::kTimestamp:
      return a.i == b.i;
    case K::kUInt:
      return a.u == b.u;
    case K::kFloat:
    case K::kDouble:
      return a.d == b.d;
    case K::kDecimal:
      return a.text.empty() && b.text.empty() ? a.dec == b.dec && a.scale == b.scale
                                              : a.text == b.text;
    case K::kBytes:
      return a.bytes == b.bytes;
    case K::kDate:
    case K::kDateTime:
      return a.year == b.year && a.month == b.month && a.day == b.day && a.hour == b.hour &&
             a.minute == b.minute && a.second == b.second && a.micro == b.micro;
    default:
      return true;
  }
}

// A cell as JSON (before images, raw rows of rejects).
void AppendCellJson(const bl::Cell& c, std::string& out) {
  using K = bl::Cell::Kind;
  char buf[64];
  switch (c.kind) {
    case K::kAbsent:
    case K::kNull:
      out += "null";
      return;
    case K::kInt:
      out += std::to_string(c.i);
      return;
    case K::kUInt:
      out += std::to_string(c.u);
      return;
    case K::kFloat:
    case K::kDouble:
      if (std::isfinite(c.d)) {
        out += FormatFloat64(c.kind == K::kFloat ? FloatAsShown(static_cast<float>(c.d)) : c.d);
      } else {
        out += "null";
      }
      return;
    case K::kDecimal:
      out += bl::DecimalText(c);
      return;
    case K::kBytes: {
      // Plain printable ASCII (the common case) is copied as one run; the rest is escaped.
      const std::string_view b = c.bytes;
      size_t n = 0;
      while (n < b.size() && b[n] >= 0x20 && b[n] < 0x7f && b[n] != '"' && b[n] != '\\') ++n;
      if (n == b.size()) {
        out += '"';
        out.append(b.data(), n);
        out += '"';
      } else {
        AppendJsonString(out, IsValidUtf8(b) ? b : std::string_view("<binary>"));
      }
      return;
    }
    case K::kDate:
      PutDateTime(out, c, false);
      return;
    case K::kTime: {
      const int64_t a = c.i < 0 ? -c.i : c.i;
      std::snprintf(buf, sizeof buf, "\"%s%02lld:%02lld:%02lld.%06lld\"", c.i < 0 ? "-" : "",
                    static_cast<long long>(a / 3600000000LL),
                    static_cast<long long>(a / 60000000 % 60),
                    static_cast<long long>(a / 1000000 % 60), static_cast<long long>(a % 1000000));
      out += buf;
      return;
    }
    case K::kDateTime:
      PutDateTime(out, c, true);
      return;
    case K::kTimestamp:
      out += JsonQuote(FormatTimestamp(c.i, true));
      return;
  }
}

// Appends cell `c` to `b` as column `col` reads it; false (and `why`) when sluice cannot hold
// the value. `fixed_len`: a BINARY(n) column, whose trailing zero bytes the binlog leaves out.
bool AppendCell(ColumnBuilder& b, const SourceColumn& col, const bl::Cell& c, uint32_t fixed_len,
                std::string* why) {
  using K = bl::Cell::Kind;
  if (c.kind == K::kNull || c.kind == K::kAbsent) {
    b.AppendNull();
    return true;
  }
  auto as_int = [&](int64_t* v) {
    if (c.kind == K::kInt) return *v = c.i, true;
    if (c.kind == K::kUInt && c.u <= static_cast<uint64_t>(INT64_MAX))
      return *v = static_cast<int64_t>(c.u), true;
    return false;
  };
  switch (col.fetch) {
    case FetchKind::kBool:
    case FetchKind::kInt:
    case FetchKind::kBit: {
      int64_t v;
      if (!as_int(&v)) return *why = "not an integer sluice can hold", false;
      if (col.fetch == FetchKind::kBool)
        b.AppendBool(v != 0);
      else
        b.AppendInt64(v);
      return true;
    }
    case FetchKind::kUInt64:
    case FetchKind::kDecimal: {
      int128_t d;
      if (c.kind == K::kUInt) {
        d = static_cast<int128_t>(c.u) * Pow10(col.type.scale);
      } else if (c.kind == K::kInt) {
        d = static_cast<int128_t>(c.i) * Pow10(col.type.scale);
      } else if (c.kind == K::kDecimal && c.text.empty() && c.scale == col.type.scale &&
                 col.type.precision <= 38) {
        // The common case: the binlog's decimal has the column's scale; check the precision.
        const int128_t limit = Pow10(col.type.precision);
        if (c.dec >= limit || c.dec <= -limit) return *why = "does not fit the decimal type", false;
        d = c.dec;
      } else if (c.kind != K::kDecimal ||
                 !ParseDecimal(bl::DecimalText(c), col.type.precision, col.type.scale, &d)) {
        return *why = "does not fit the decimal type", false;
      }
      b.AppendDecimal(d);
      return true;
    }
    case FetchKind::kFloat:
    case FetchKind::kDouble:
      if (c.kind == K::kFloat) {
        b.AppendFloat64(FloatAsShown(static_cast<float>(c.d)));
      } else if (c.kind == K::kDouble) {
        b.AppendFloat64(c.d);
      } else {
        return *why = "not a number", false;
      }
      return true;
    case FetchKind::kDecimalText:
    case FetchKind::kString:
    case FetchKind::kJson: {
      if (c.kind == K::kBytes) {
        if (!IsValidUtf8(c.bytes)) return *why = "not valid UTF-8", false;
        b.AppendBytes(c.bytes);
        return true;
      }
      std::string text;
      AppendCellJson(c, text);
      if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
      b.AppendBytes(text);
      return true;
    }
    case FetchKind::kBinary: {
      if (c.kind != K::kBytes) return *why = "not a byte string", false;
      if (fixed_len > c.bytes.size()) {
        std::string padded(c.bytes);
        padded.resize(fixed_len, '\0');
        b.AppendBytes(padded);
      } else {
        b.AppendBytes(c.bytes);
      }
      return true;
    }
    case FetchKind::kDate:
      if (c.kind != K::kDate && c.kind != K::kDateTime) return *why = "not a date", false;
      if (c.year == 0 || c.month == 0 || c.day == 0)
        return *why = "not a calendar date (a zero date?)", false;
      b.AppendDate(DaysFromCivil(c.year, c.month, c.day));
      return true;
    case FetchKind::kTime:
      if (c.kind != K::kTime) return *why = "not a time", false;
      if (c.i < 0 || c.i >= 86400000000LL) {
        return *why = "a TIME outside 00:00:00-23:59:59.999999, which a time of day cannot hold",
               false;
      }
      b.AppendInt64(c.i);
      return true;
    case FetchKind::kDateTime:
    case FetchKind::kTimestamp:
      if (c.kind == K::kTimestamp) {
        if (c.i == 0) return *why = "a zero TIMESTAMP", false;
        b.AppendInt64(c.i);
        return true;
      }
      if (c.kind != K::kDateTime && c.kind != K::kDate) return *why = "not a date and time", false;
      if (c.year == 0 || c.month == 0 || c.day == 0)
        return *why = "not a calendar date and time (a zero date?)", false;
      b.AppendInt64(CivilMicros(c));
      return true;
  }
  return *why = "unsupported", false;
}

// A snapshot row (the `n`th of the table's copy) that `reader` could not type, as a reject.
RejectedRow SnapshotReject(const CdcTable& t, int64_t n, const RowIssue& issue, const RowReader& reader) {
  RejectedRow rej;
  rej.stream = t.stream;
  rej.origin = t.db + "." + t.name + "@snapshot:" + std::to_string(n);
  rej.position_key = rej.origin;
  rej.raw = reader.RowJson();
  rej.rule = "type";
  rej.column = issue.column;
  rej.reason = issue.reason;
  return rej;
}

class MysqlCdcSource final : public Source {
 public:
  MysqlCdcSource(ConnectorContext ctx, CdcConfig cfg) : ctx_(std::move(ctx)), cfg_(std::move(cfg)) {
    if (cfg_.server_id == 0) cfg_.server_id = DefaultServerId(ctx_.pipeline);
  }
  ~MysqlCdcSource() override { CloseStream(); }

  Status Open(const StateMap& committed) override;
  Status Run(Emitter& out) override;
  std::vector<std::string> DescribePlan() override;
  // Deletes this pipeline's watermark row, and the watermark table once it is empty.
  Status Uninstall() override;

 private:
  Status CheckServer();
  // Whether the user may create and write the watermark table (for `check`; Run decides by
  // writing it). Sets watermark_problem_.
  void CheckWatermarkPrivileges();
  // The statement that lets this user write the watermarks.
  std::string WatermarkGrant() const;
  // Creates the watermark table when missing and writes this pipeline's row once.
  Status PrepareWatermarks();
  Status WriteWatermark(const std::string& mark);
  // The first table whose snapshot is still to copy, or tables_.size().
  size_t NextSnapshotTable() const;
  bool SnapshotPending() const;
  bool StreamIdle();
  // Writes the low watermark, selects the next chunk of the first table whose copy is not done,
  // writes the high watermark.
  Status StartChunk(Emitter& out);
  // A row of the chunk's table changed in the stream: drops its key from the chunk.
  void NoteChunkChange(const CdcTable& t, const std::vector<bl::Cell>& cells);
  // Rows of the watermark table; at the chunk's high watermark its remaining rows go out.
  Status OnWatermarkRows(uint8_t type, std::string_view body, Emitter& out);
  Status OnWatermark(const std::string& mark, Emitter& out);
  Status LoadTable(CdcTable& t);
  void SaveSchema(const CdcTable& t);
  Status Snapshot(Emitter& out);
  Status SnapshotTable(CdcTable& t, Connection& conn, const GtidSet& at, Emitter& out);
  // The copy of `t` from after its checkpointed key (state->after), in key order, at most `limit`
  // rows (0: all), opened on `conn`: the text protocol without a key to bind, else a prepared
  // statement. `stmt` keeps that statement alive while `reader` reads.
  Status OpenCopy(const CdcTable& t, Connection& conn, int64_t limit, std::unique_ptr<Statement>* stmt,
                  std::unique_ptr<RowReader>* reader);
  Status Stream(Emitter& out);
  Status OpenStream(const GtidSet& from);
  void CloseStream();
  Status OnTableMap(std::string_view body, Emitter& out);
  Status OnRows(uint8_t type, std::string_view body, Emitter& out);
  Status OnQuery(std::string_view body, Emitter& out);
  void Commit();
  // Appends a change of row `cells`; `before`: the old row of an update, kept as a before image
  // when the sink writes them.
  void AppendRow(CdcTable& t, char op, const std::vector<bl::Cell>& cells,
                 const std::vector<bl::Cell>* before);
  // A decoded row as JSON, by the table map's column names: the raw row of a reject.
  std::string CellsJson(const CdcTable& t, const std::vector<bl::Cell>& cells) const;
  Status FlushTable(CdcTable& t, Emitter& out);
  Status FlushAll(Emitter& out, bool flush);
  void Log(const std::string& msg, const Logger::Fields& f = {}) const {
    if (ctx_.log) ctx_.log->Info("mysql cdc: " + msg, f);
  }
  void Warn(const std::string& msg, const Logger::Fields& f = {}) const {
    if (ctx_.log) ctx_.log->Warn("mysql cdc: " + msg, f);
  }

  ConnectorContext ctx_;
  CdcConfig cfg_;
  std::unique_ptr<Connection> meta_;
  std::vector<CdcTable> tables_;
  std::map<std::pair<std::string, std::string>, size_t> by_name_;  // (db, table) -> index
  std::string server_info_, checksum_;
  GtidSet server_pos_;  // @@gtid_binlog_pos at Open
  std::vector<std::string> problems_;
  std::string grantee_;  // 'user'@'host'

  // Snapshot by watermarks.
  std::string wm_db_;                 // the database of the watermark table
  std::string watermark_problem_;     // why the watermark table cannot be used ("" if it can)
  bool chunked_ = false;              // decided by Run
  std::unique_ptr<Connection> snap_;  // watermarks and chunks
  std::optional<CdcChunk> chunk_;
  std::string run_id_;  // tells this run's watermarks from those of earlier runs
  int64_t chunk_seq_ = 0;
  uint64_t wm_map_id_ = ~0ULL;
  bl::TableMap wm_map_;
  int wm_mark_col_ = -1;
  bool chunk_boundary_ = false;  // a chunk went out: a boundary follows its transaction

  // Stream.
  std::unique_ptr<Connection> repl_conn_;
  MARIADB_RPL* rpl_ = nullptr;
  MARIADB_RPL_EVENT* event_ = nullptr;
  std::map<uint64_t, size_t> table_ids_;  // table map id -> index into tables_
  std::set<uint64_t> other_ids_;          // table map ids of tables not captured
  bool in_txn_ = false;
  bool txn_standalone_ = false;
  bl::Gtid txn_;
  std::string txn_text_;
  int64_t txn_commit_us_ = 0;
  GtidSet stream_pos_;  // every transaction at or below has been read
  bool positions_pending_ = false;
  int64_t pending_rows_ = 0;
  uint64_t pending_bytes_ = 0;
  int64_t skipped_rows_ = 0;
  int64_t ordinal_ = 0;
  std::vector<bl::Cell> before_, after_;
};

// ---- open and check ----

Status MysqlCdcSource::CheckServer() {
  server_info_ = meta_->server_info();
  if (!meta_->is_mariadb()) {
    return Status::Permanent("mysql cdc: the server is MySQL (" + server_info_ +
                             "); mode: cdc reads MariaDB's GTID binlog and supports MariaDB only");
  }
  ASSIGN_OR_RETURN(
      auto rows, meta_->Query("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, "
                              "@@binlog_row_metadata, @@global.binlog_checksum, @@gtid_binlog_pos, "
                              "CURRENT_USER()"));
  const auto& r = rows.at(0);
  auto v = [&](size_t i) { return ToUpper(r[i].value_or("")); };
  if (v(0) != "1") {
    problems_.push_back("the binary log is off: start the server with log_bin (and server_id) set");
  }
  if (v(1) != "ROW") {
    problems_.push_back("binlog_format is " + v(1) +
                        ": SET GLOBAL binlog_format = 'ROW' (and in the server's config file)");
  }
  if (v(2) != "FULL") {
    problems_.push_back("binlog_row_image is " + v(2) +
                        ": SET GLOBAL binlog_row_image = 'FULL' (and in the server's config file)");
  }
  if (v(3) != "FULL") {
    problems_.push_back("binlog_row_metadata is " + v(3) +
                        ": SET GLOBAL binlog_row_metadata = 'FULL' (and in the server's config "
                        "file); the column names come from it");
  }
  checksum_ = v(4);
  if (!GtidSet::Parse(r[5].value_or(""), &server_pos_))
    return Status::Corruption("mysql cdc: cannot read @@gtid_binlog_pos '" + r[5].value_or("") +
                              "'");
  const std::string user = r[6].value_or("");
  ASSIGN_OR_RETURN(auto grants, meta_->Query("SHOW GRANTS"));
  bool all = false, slave = false, monitor = false;
  for (const auto& g : grants) {
    const std::string s = ToUpper(g[0].value_or(""));
    if (s.find(" ON *.* ") == std::string::npos) continue;
    all |= s.find("ALL PRIVILEGES") != std::string::npos;
    slave |= s.find("REPLICATION SLAVE") != std::string::npos;
    monitor |= s.find("BINLOG MONITOR") != std::string::npos ||
               s.find("REPLICATION CLIENT") != std::string::npos ||
               s.find("SUPER") != std::string::npos;
  }
  std::string grantee = user;
  if (auto at = user.find('@'); at != std::string::npos)
    grantee = "'" + user.substr(0, at) + "'@'" + user.substr(at + 1) + "'";
  grantee_ = grantee;
  if (!all && !slave) {
    problems_.push_back("user " + user +
                        " lacks REPLICATION SLAVE: GRANT REPLICATION SLAVE ON *.* TO " + grantee);
  }
  if (!all && !monitor) {
    problems_.push_back(
        "user " + user +
        " lacks BINLOG MONITOR (REPLICATION CLIENT): GRANT BINLOG MONITOR ON *.* TO " + grantee);
  }
  return Status::OK();
}

Status MysqlCdcSource::LoadTable(CdcTable& t) {
  // The stream took over the first connection (one connection less to set up per run).
  if (!meta_) {
    ASSIGN_OR_RETURN(meta_, Connection::Connect(cfg_.conn, Session::kSource));
  }
  ASSIGN_OR_RETURN(
      auto rows,
      meta_->Query("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, "
                   "IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND "
                   "TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                   {Value::Text(t.db), Value::Text(t.name)}));
  if (rows.empty()) {
    return Status::Permanent("mysql cdc: table " + t.qualified +
                             " does not exist (or the user cannot see it)");
  }
  std::set<std::string> json_checked;
  auto checks = meta_->Query(
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
  std::vector<SourceColumn> cols;
  for (const auto& r : rows) {
    int64_t precision = 0, scale = 0;
    if (r[3]) ParseInt64(*r[3], &precision);
    if (r[4]) ParseInt64(*r[4], &scale);
    const std::string name = r[0].value_or("");
    ASSIGN_OR_RETURN(SourceColumn c,
                     MapColumn(t.qualified, name, r[1].value_or(""), r[2].value_or(""), precision,
                               scale, json_checked.count(ToLower(name)) > 0));
    c.nullable = r[5].value_or("YES") == "YES";
    cols.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN(auto keys,
                   meta_->Query("SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                                "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 "
                                "ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX",
                                {Value::Text(t.db), Value::Text(t.name)}));
  auto column_nullable = [&](const std::string& name) {
    for (const auto& c : cols) {
      if (c.name == name) return c.nullable;
    }
    return true;
  };
  std::vector<std::string> key;
  std::string index;
  bool nullable = false;
  for (const auto& r : keys) {
    const std::string name = r[0].value_or("");
    if (name != index) {
      if (!index.empty() && !nullable) break;
      index = name;
      key.clear();
      nullable = false;
    }
    key.push_back(r[1].value_or(""));
    nullable |= column_nullable(key.back());
  }
  if (nullable) key.clear();
  t.catalog = std::move(cols);
  t.key_names = std::move(key);
  t.map_id = ~0ULL;  // the next table map is matched again
  return Status::OK();
}

void SetColumns(CdcTable& t, std::vector<SourceColumn> cols) {
  t.key.clear();
  for (const auto& k : t.key_names) {
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i].name == k) t.key.push_back(i);
    }
  }
  t.columns = std::move(cols);
  std::vector<Field> fields;
  for (const auto& c : t.columns) fields.push_back({c.name, c.type, true});
  t.schema = std::make_shared<Schema>(std::move(fields));
  t.builder = std::make_unique<RecordBatchBuilder>(t.schema);
  t.before = std::make_unique<RecordBatchBuilder>(t.schema);
}

// A column known only from the binlog (dropped or renamed since): typed from its binlog type.
SourceColumn ColumnFromBinlog(const std::string& table, const bl::ColumnInfo& c) {
  std::string dt;
  int64_t precision = 0, scale = 0;
  switch (c.type) {
    case bl::kTypeTiny:
      dt = "tinyint";
      break;
    case bl::kTypeShort:
      dt = "smallint";
      break;
    case bl::kTypeInt24:
      dt = "mediumint";
      break;
    case bl::kTypeLong:
      dt = "int";
      break;
    case bl::kTypeLongLong:
      dt = "bigint";
      break;
    case bl::kTypeYear:
      dt = "year";
      break;
    case bl::kTypeFloat:
      dt = "float";
      break;
    case bl::kTypeDouble:
      dt = "double";
      break;
    case bl::kTypeNewDecimal:
      dt = "decimal";
      precision = c.meta >> 8;
      scale = c.meta & 0xff;
      break;
    case bl::kTypeBit:
      dt = "bit";
      break;
    case bl::kTypeDate:
    case bl::kTypeNewDate:
      dt = "date";
      break;
    case bl::kTypeTime:
    case bl::kTypeTime2:
      dt = "time";
      break;
    case bl::kTypeDateTime:
    case bl::kTypeDateTime2:
      dt = "datetime";
      break;
    case bl::kTypeTimestamp:
    case bl::kTypeTimestamp2:
      dt = "timestamp";
      break;
    case bl::kTypeJson:
      dt = "json";
      break;
    case bl::kTypeEnum:
      dt = "enum";
      break;
    case bl::kTypeSet:
      dt = "set";
      break;
    default:
      dt = "text";
      break;  // strings and blobs: text (a non-UTF-8 value is quarantined)
  }
  const std::string ct = dt + (c.is_unsigned ? " unsigned" : "");
  auto mapped = MapColumn(table, c.name, dt, ct, precision, scale, false);
  if (mapped.ok()) return *mapped;
  SourceColumn out;
  out.name = c.name;
  out.server_type = ct;
  return out;
}

Status MysqlCdcSource::Open(const StateMap& committed) {
  ASSIGN_OR_RETURN(meta_, Connection::Connect(cfg_.conn, Session::kSource));
  RETURN_IF_ERROR(CheckServer());
  std::vector<std::string> specs = cfg_.tables;
  if (sql::AnyTablePattern(specs)) {
    // `tables: [shop.order_*]`: the base tables matching now (a table created later that would
    // match is not captured until the pipeline runs again).
    ASSIGN_OR_RETURN(
        auto rows, meta_->Query("SELECT table_schema, table_name, DATABASE() FROM "
                                "information_schema.tables WHERE table_type = 'BASE TABLE' AND "
                                "table_schema NOT IN ('mysql', 'information_schema', "
                                "'performance_schema', 'sys') ORDER BY table_schema, table_name"));
    std::vector<sql::CatalogTable> catalog;
    std::string default_schema = cfg_.conn.dsn.database;
    for (const auto& r : rows) {
      if (r[1].value_or("") == kWatermarkTable) continue;  // sluice's own, never captured
      catalog.push_back({r[0].value_or(""), r[1].value_or("")});
    }
    ASSIGN_OR_RETURN(
        specs, sql::ExpandTablePatterns(specs, catalog, default_schema, "mysql source tables:"));
  }
  std::set<std::string> streams;
  for (const auto& spec : specs) {
    CdcTable t;
    t.stream = spec;
    auto [db, name] = SplitQualifiedName(spec);
    t.db = db.empty() ? cfg_.conn.dsn.database : db;
    t.name = name;
    t.qualified = QuoteIdent(t.db) + "." + QuoteIdent(t.name);
    if (t.name == kWatermarkTable) {
      return Status::InvalidArgument("source.tables: " + spec +
                                     " is the table of sluice's snapshot watermarks");
    }
    if (!streams.insert(spec).second)
      return Status::InvalidArgument("source.tables: " + spec + " is listed twice");
    RETURN_IF_ERROR(LoadTable(t));
    SetColumns(t, t.catalog);
    ctx_.stream_keys->Report(t.stream, t.key_names);  // a replicate sink without key: uses it
    auto it = committed.find({t.stream, kCdcKey});
    if (it != committed.end()) {
      TableState st;
      if (!TableState::FromJson(it->second, &st)) {
        return Status::Corruption("mysql cdc: the checkpoint of stream '" + t.stream +
                                  "' cannot be used (" + it->second +
                                  "); `sluice state reset` starts the stream over");
      }
      t.state = st;
    }
    tables_.push_back(std::move(t));
  }
  for (size_t i = 0; i < tables_.size(); ++i) by_name_[{tables_[i].db, tables_[i].name}] = i;
  wm_db_ =
      cfg_.conn.dsn.database.empty() && !tables_.empty() ? tables_[0].db : cfg_.conn.dsn.database;
  CheckWatermarkPrivileges();
  if (!problems_.empty()) {
    return Status::Permanent("mysql cdc: the server is not ready for change data capture: " +
                             Join(problems_, "; "));
  }
  return Status::OK();
}

std::vector<std::string> MysqlCdcSource::DescribePlan() {
  std::vector<std::string> lines;
  lines.push_back("mysql " + DescribeDsn(cfg_.conn.dsn) + " (" + server_info_ +
                  "), mode cdc (binlog, GTID), replica server_id " +
                  std::to_string(cfg_.server_id));
  lines.push_back("binlog ROW/FULL/FULL ok, replication privileges ok, server at GTID " +
                  server_pos_.ToString() +
                  (cfg_.stop_at_caught_up ? "; stop_at: caught_up (ends there)" : ""));
  if (cfg_.snapshot_initial && watermark_problem_.empty()) {
    lines.push_back("snapshot: in chunks of " + std::to_string(cfg_.page_size) +
                    " rows between watermarks written to " + QuoteIdent(wm_db_) + "." +
                    QuoteIdent(kWatermarkTable) + ", while the binlog streams");
  } else if (cfg_.snapshot_initial) {
    lines.push_back(
        "warning: snapshot: each table copied whole in one consistent transaction "
        "before the stream starts (the chunked watermark copy is off: " +
        watermark_problem_ + "); to enable it: " + WatermarkGrant());
  }
  for (const auto& t : tables_) {
    std::string line = t.db + "." + t.name + " -> stream " + t.stream + ": " +
                       std::to_string(t.columns.size()) + " columns";
    if (t.key.empty()) {
      line += ", no key";
    } else {
      std::string k;
      for (size_t i : t.key) k += (k.empty() ? "" : ", ") + t.columns[i].name;
      line += ", key (" + k + ")";
    }
    if (!t.state) {
      line += cfg_.snapshot_initial ? ", initial snapshot then stream"
                                    : ", stream only (snapshot: never)";
    } else if (!t.state->snapshot_done) {
      line += ", snapshot resumes after " + std::to_string(t.state->snapshot_rows) + " rows";
    } else {
      line += ", streaming after GTID " + t.state->gtid.ToString();
    }
    lines.push_back(line);
    if (t.key.empty()) {
      lines.push_back(
          "  warning: " + t.qualified +
          " has no primary key nor unique NOT NULL index: a replicate sink cannot "
          "apply its updates and deletes by key, and its snapshot cannot resume midway");
    }
  }
  return lines;
}

void MysqlCdcSource::SaveSchema(const CdcTable& t) {
  if (ctx_.state && !ctx_.dry_run) (void)ctx_.state->SaveSchema(ctx_.pipeline, t.stream, *t.schema);
}

// ---- run ----

Status MysqlCdcSource::Run(Emitter& out) {
  for (const auto& t : tables_) SaveSchema(t);
  bool pending = false;
  for (auto& t : tables_) {
    if (!t.state && !cfg_.snapshot_initial) {
      TableState st;
      st.gtid = server_pos_;
      if (!cfg_.start_gtid.empty()) (void)GtidSet::Parse(cfg_.start_gtid, &st.gtid);
      t.state = st;
    }
    pending |= !t.state || !t.state->snapshot_done;
  }
  Status st;
  if (pending) {
    st = PrepareWatermarks();
    chunked_ = st.ok();
    if (chunked_) {
      // Streams from now on; its rows come in chunks between watermarks.
      for (auto& t : tables_) {
        if (t.state) continue;
        TableState ts;
        ts.gtid = server_pos_;
        ts.snapshot_done = false;
        t.state = ts;
      }
    } else {
      Warn(
          "the snapshot copies each table whole, in one transaction, before the binlog streams: "
          "the watermark table cannot be used (" +
          st.message() + "); to copy in chunks while the binlog streams: " + WatermarkGrant());
      st = Snapshot(out);
    }
  }
  if (st.ok()) st = Stream(out);
  CloseStream();
  if (skipped_rows_ > 0) {
    Log("skipped changes already in the sink", {{"rows", std::to_string(skipped_rows_)}});
  }
  if (st.IsCancelled()) return Status::OK();
  return st;
}

// ---- snapshot by watermarks ----

std::string MysqlCdcSource::WatermarkGrant() const {
  return "GRANT CREATE, INSERT, UPDATE, DELETE ON " + QuoteIdent(wm_db_) + "." +
         QuoteIdent(kWatermarkTable) + " TO " + grantee_;
}

void MysqlCdcSource::CheckWatermarkPrivileges() {
  watermark_problem_.clear();
  const Value db = Value::Text(wm_db_), table = Value::Text(kWatermarkTable),
              who = Value::Text(grantee_);
  auto rows = meta_->Query(
      "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND "
      "TABLE_NAME = ?), (SELECT GROUP_CONCAT(p) FROM (SELECT PRIVILEGE_TYPE p FROM "
      "information_schema.USER_PRIVILEGES WHERE GRANTEE = ? UNION ALL SELECT PRIVILEGE_TYPE FROM "
      "information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND ? LIKE TABLE_SCHEMA UNION ALL "
      "SELECT PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? AND "
      "TABLE_SCHEMA = ? AND TABLE_NAME = ?) x)",
      {db, table, who, who, db, who, db, table});
  if (!rows.ok() || rows->empty()) return;  // unknown: Run finds out by writing
  const auto& r = rows->at(0);
  std::set<std::string> have;
  for (const std::string& p : Split(ToUpper(r[1].value_or("")), ','))
    have.insert(std::string(Trim(p)));
  std::vector<std::string> missing;
  if (r[0].value_or("0") == "0" && !have.count("CREATE")) missing.push_back("CREATE");
  for (const char* p : {"INSERT", "UPDATE"}) {
    if (!have.count(p)) missing.push_back(p);
  }
  if (!missing.empty()) {
    watermark_problem_ = "user " + grantee_ + " lacks " + Join(missing, ", ") + " on " +
                         QuoteIdent(wm_db_) + "." + QuoteIdent(kWatermarkTable);
  }
}

Status MysqlCdcSource::WriteWatermark(const std::string& mark) {
  return snap_
      ->Query("INSERT INTO " + QuoteIdent(wm_db_) + "." + QuoteIdent(kWatermarkTable) +
                  " (id, mark) VALUES (?, ?) ON DUPLICATE KEY UPDATE mark = VALUES(mark)",
              {Value::Text(ctx_.pipeline), Value::Text(mark)})
      .status();
}

Status MysqlCdcSource::PrepareWatermarks() {
  if (!snap_) {
    ASSIGN_OR_RETURN(snap_, Connection::Connect(cfg_.conn, Session::kSource));
  }
  // Each watermark is an autocommit transaction: a GTID of its own in the binlog.
  RETURN_IF_ERROR(snap_->Exec("SET SESSION autocommit = 1"));
  ASSIGN_OR_RETURN(auto exists, snap_->Query("SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                                             "TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                                             {Value::Text(wm_db_), Value::Text(kWatermarkTable)}));
  if (exists.empty() || exists[0][0].value_or("0") == "0") {
    RETURN_IF_ERROR(snap_->Exec("CREATE TABLE IF NOT EXISTS " + QuoteIdent(wm_db_) + "." +
                                QuoteIdent(kWatermarkTable) +
                                " (id VARCHAR(191) NOT NULL PRIMARY KEY, mark VARCHAR(1000) NOT "
                                "NULL) ENGINE=InnoDB"));
  }
  return WriteWatermark("ready");
}

Status MysqlCdcSource::Uninstall() {
  ASSIGN_OR_RETURN(meta_, Connection::Connect(cfg_.conn, Session::kAdmin));
  wm_db_ = cfg_.conn.dsn.database;
  if (wm_db_.empty() && !cfg_.tables.empty()) wm_db_ = SplitQualifiedName(cfg_.tables[0]).first;
  const std::string table = QuoteIdent(wm_db_) + "." + QuoteIdent(kWatermarkTable);
  ASSIGN_OR_RETURN(auto exists, meta_->Query("SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                                             "TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                                             {Value::Text(wm_db_), Value::Text(kWatermarkTable)}));
  if (exists.empty() || exists[0][0].value_or("0") == "0") return Status::OK();
  RETURN_IF_ERROR(
      meta_->Query("DELETE FROM " + table + " WHERE id = ?", {Value::Text(ctx_.pipeline)})
          .status());
  ASSIGN_OR_RETURN(auto left, meta_->Query("SELECT COUNT(*) FROM " + table));
  if (!left.empty() && left[0][0].value_or("0") == "0") {
    RETURN_IF_ERROR(meta_->Exec("DROP TABLE IF EXISTS " + table));
    Log("dropped the watermark table " + table);
  } else {
    Log("deleted this pipeline's watermark row; " + table +
        " stays for the other pipelines whose rows it holds");
  }
  return Status::OK();
}

// Whole transactions of ours are waiting and nothing more has come for a moment: they go out now
// rather than wait, in the blocking fetch, for the next event or the server's heartbeat. Bytes
// already read ahead by the client library (its read cache) count as more to come.
bool MysqlCdcSource::StreamIdle() {
  MYSQL* m = repl_conn_->raw();
  const MARIADB_PVIO* pvio = m->net.pvio;
  if (pvio && pvio->cache && pvio->cache_pos < pvio->cache + pvio->cache_size) return false;
  pollfd pfd{static_cast<int>(mysql_get_socket(m)), POLLIN, 0};
  return poll(&pfd, 1, kIdleFlushMs) == 0;
}

size_t MysqlCdcSource::NextSnapshotTable() const {
  size_t i = 0;
  while (i < tables_.size() && !(tables_[i].state && !tables_[i].state->snapshot_done)) ++i;
  return i;
}

bool MysqlCdcSource::SnapshotPending() const { return NextSnapshotTable() < tables_.size(); }

Status MysqlCdcSource::StartChunk(Emitter& out) {
  const size_t ti = NextSnapshotTable();
  if (ti == tables_.size()) return Status::OK();
  CdcTable& t = tables_[ti];
  // The catalog's columns are what a SELECT returns now. Between transactions the stream maps
  // each table again (its next table map) before any of its rows.
  bool same = t.catalog.size() == t.columns.size();
  for (size_t i = 0; same && i < t.catalog.size(); ++i)
    same = t.catalog[i].name == t.columns[i].name;
  if (!same) {
    RETURN_IF_ERROR(FlushTable(t, out));
    SetColumns(t, t.catalog);
    SaveSchema(t);
    t.map_id = ~0ULL;
  }
  if (run_id_.empty()) run_id_ = NewRunId();
  CdcChunk c;
  c.table = ti;
  const std::string id = ctx_.pipeline + ":" + run_id_ + ":" + std::to_string(++chunk_seq_);
  c.low = "low:" + id;
  c.high = "high:" + id;
  c.keyed = !t.key.empty();
  for (const auto& col : t.columns) c.columns.push_back(col.name);
  if (!c.keyed) t.state->snapshot_rows = 0;  // a keyless copy is one chunk: all or nothing
  if (chunk_seq_ == 1 || t.state->after.empty()) {
    Log("snapshot of " + t.qualified,
        {{"chunk_rows", c.keyed ? std::to_string(cfg_.page_size) : "all (no key)"},
         {"after_rows", std::to_string(t.state->snapshot_rows)}});
  }
  RETURN_IF_ERROR(WriteWatermark(c.low));
  {
    // Autocommit: the SELECT reads one consistent view, taken after the low watermark committed.
    std::unique_ptr<Statement> stmt;
    std::unique_ptr<RowReader> reader;
    RETURN_IF_ERROR(OpenCopy(t, *snap_, c.keyed ? cfg_.page_size : 0, &stmt, &reader));
    RecordBatchBuilder b(t.schema);
    RowIssue issue;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, reader->Next(b, &issue));
      if (!more) break;
      ++c.selected;
      pending_bytes_ += reader->row_bytes();
      const int64_t n = t.state->snapshot_rows + c.selected;
      if (!issue.column.empty()) {
        c.rejects.push_back(SnapshotReject(t, n, issue, *reader));
      } else {
        b.CommitRow(n);
      }
      if (c.keyed) {
        std::string key = "[";
        for (size_t i = 0; i < t.key.size(); ++i)
          key += (i ? "," : "") + ValueJson(reader->Get(t.key[i]));
        c.last_key = key + "]";
      }
    }
    reader.reset();
    if (b.num_rows() > 0) c.rows = b.Finish(t.stream, t.db + "." + t.name);
  }
  RETURN_IF_ERROR(WriteWatermark(c.high));
  if (c.rows) {
    const int64_t n = c.rows->num_rows();
    c.dropped.assign(static_cast<size_t>(n), 0);
    if (c.keyed) {
      std::string key;
      for (int64_t r = 0; r < n; ++r) {
        key.clear();
        for (size_t k : t.key) AppendKeyPart(key, c.rows->column(k), r);
        c.by_key.emplace(key, r);
      }
    }
  }
  chunk_ = std::move(c);
  return Status::OK();
}

void MysqlCdcSource::NoteChunkChange(const CdcTable& t, const std::vector<bl::Cell>& cells) {
  CdcChunk& c = *chunk_;
  if (!c.low_seen) return;  // before the window: the selected rows hold it
  if (!c.keyed) {
    c.spoiled = true;
    return;
  }
  if (c.by_key.empty()) return;
  // The key as the selected rows have it: the cells typed as the columns, then as text.
  std::string key;
  for (size_t k : t.key) {
    const int m = t.col_to_map[k];
    if (m < 0 || static_cast<size_t>(m) >= cells.size()) return;
    const bl::Cell& cell = cells[static_cast<size_t>(m)];
    const bl::ColumnInfo& info = t.map.columns[static_cast<size_t>(m)];
    ColumnBuilder kb(t.columns[k].type);
    std::string why;
    if (!AppendCell(kb, t.columns[k], cell, info.type == bl::kTypeString ? info.max_len : 0,
                    &why)) {
      return;
    }
    ColumnPtr col = kb.Finish();
    AppendKeyPart(key, *col, 0);
  }
  auto it = c.by_key.find(key);
  if (it != c.by_key.end()) c.dropped[static_cast<size_t>(it->second)] = 1;
}

Status MysqlCdcSource::OnWatermarkRows(uint8_t type, std::string_view body, Emitter& out) {
  if (!chunk_ || wm_mark_col_ < 0) return Status::OK();
  ASSIGN_OR_RETURN(bl::RowsEvent ev, bl::DecodeRowsEvent(type, body));
  size_t pos = 0;
  while (pos < ev.rows.size()) {
    if (ev.op == 'u') RETURN_IF_ERROR(bl::DecodeRow(wm_map_, ev, false, &pos, &before_));
    RETURN_IF_ERROR(bl::DecodeRow(wm_map_, ev, ev.op == 'u', &pos, &after_));
    if (ev.op == 'd' || static_cast<size_t>(wm_mark_col_) >= after_.size()) continue;
    const bl::Cell& mark = after_[static_cast<size_t>(wm_mark_col_)];
    if (mark.kind != bl::Cell::Kind::kBytes) continue;
    RETURN_IF_ERROR(OnWatermark(std::string(mark.bytes), out));
    if (!chunk_) break;
  }
  return Status::OK();
}

Status MysqlCdcSource::OnWatermark(const std::string& mark, Emitter& out) {
  CdcChunk& c = *chunk_;
  if (mark == c.low) {
    c.low_seen = true;
    return Status::OK();
  }
  if (mark != c.high) return Status::OK();  // another run's or another pipeline's
  CdcTable& t = tables_[c.table];
  bool same_columns = c.columns.size() == t.columns.size();
  for (size_t i = 0; same_columns && i < c.columns.size(); ++i)
    same_columns = c.columns[i] == t.columns[i].name;
  if (!c.low_seen || c.spoiled || !same_columns) {
    // Selected again: the table's progress is unchanged.
    Log("selecting a chunk of " + t.qualified + " again",
        {{"why", !same_columns ? "its columns changed"
                 : c.spoiled   ? "a table without key changed meanwhile"
                               : "no low watermark"}});
    chunk_.reset();
    return Status::OK();
  }
  // The stream's changes of the table so far go first.
  RETURN_IF_ERROR(FlushTable(t, out));
  int64_t emitted = 0;
  Envelope env;
  if (c.rows) {
    std::vector<int64_t> keep;
    for (int64_t r = 0; r < c.rows->num_rows(); ++r) {
      if (!c.dropped[static_cast<size_t>(r)]) keep.push_back(r);
    }
    if (!keep.empty()) {
      auto batch = std::const_pointer_cast<RecordBatch>(SelectRows(c.rows, keep));
      emitted = batch->num_rows();
      // The high watermark's transaction: where the rows are as selected.
      RecordBatch::ChangeSource base;
      base.position = txn_text_;
      base.txid = static_cast<int64_t>(txn_.seq);
      batch->ops.assign(static_cast<size_t>(emitted), 'r');
      batch->changes.assign(static_cast<size_t>(emitted), base);
      batch->source_db = t.db;
      batch->source_table = t.name;
      env.batch = std::move(batch);
    }
  }
  env.rejects = std::move(c.rejects);
  const int64_t rejected = static_cast<int64_t>(env.rejects.size());
  if (env.batch || !env.rejects.empty()) {
    env.boundary = false;
    RETURN_IF_ERROR(out.Emit(std::move(env)));
  }
  chunk_boundary_ = true;  // the chunk's progress goes out once its transaction ends
  t.state->snapshot_rows += emitted + rejected;
  if (c.keyed && !c.last_key.empty()) t.state->after = c.last_key;
  if (!c.keyed || c.selected < cfg_.page_size) {
    t.state->snapshot_done = true;
    t.state->after.clear();
    Log("copied " + t.qualified, {{"rows", std::to_string(t.state->snapshot_rows)}});
  }
  chunk_.reset();
  return Status::OK();
}

// ---- snapshot in one transaction (the fallback) ----

Status MysqlCdcSource::Snapshot(Emitter& out) {
  // Tables without a position: a snapshot (or, with snapshot: never, the server's position now).
  bool any = false;
  for (auto& t : tables_) {
    if (!t.state) {
      if (!cfg_.snapshot_initial) {
        TableState st;
        st.gtid = server_pos_;
        if (!cfg_.start_gtid.empty()) (void)GtidSet::Parse(cfg_.start_gtid, &st.gtid);
        t.state = st;
        continue;
      }
      t.needs_snapshot = true;
    } else {
      t.needs_snapshot = !t.state->snapshot_done;
    }
    any |= t.needs_snapshot;
  }
  if (!any) return Status::OK();
  ASSIGN_OR_RETURN(auto conn, Connection::Connect(cfg_.conn, Session::kSource));
  RETURN_IF_ERROR(conn->Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
  RETURN_IF_ERROR(conn->Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"));
  ASSIGN_OR_RETURN(auto status, conn->Query("SHOW STATUS LIKE 'binlog_snapshot_%'"));
  std::string file, pos;
  for (const auto& r : status) {
    if (r[0].value_or("") == "Binlog_snapshot_file") file = r[1].value_or("");
    if (r[0].value_or("") == "Binlog_snapshot_position") pos = r[1].value_or("");
  }
  ASSIGN_OR_RETURN(
      auto g, conn->Query("SELECT BINLOG_GTID_POS(?, ?)", {Value::Text(file), Value::Text(pos)}));
  GtidSet at;
  if (g.empty() || !g[0][0] || !GtidSet::Parse(*g[0][0], &at)) {
    return Status::Permanent("mysql cdc: BINLOG_GTID_POS('" + file + "', " + pos +
                             ") gave no GTID position for the snapshot");
  }
  Log("snapshot", {{"binlog", file + ":" + pos}, {"gtid", at.ToString()}});
  for (auto& t : tables_) {
    if (!t.needs_snapshot) continue;
    if (!t.state) {
      TableState st;
      st.gtid = at;
      st.snapshot_done = false;
      t.state = st;
    }
    Status s = SnapshotTable(t, *conn, at, out);
    if (!s.ok()) {
      (void)conn->Exec("ROLLBACK");
      return s;
    }
    t.needs_snapshot = false;
  }
  return conn->Exec("COMMIT");
}

Status MysqlCdcSource::OpenCopy(const CdcTable& t, Connection& conn, int64_t limit,
                                std::unique_ptr<Statement>* stmt, std::unique_ptr<RowReader>* reader) {
  std::string list, order;
  for (size_t i = 0; i < t.columns.size(); ++i) list += (i ? ", " : "") + QuoteIdent(t.columns[i].name);
  for (size_t i = 0; i < t.key.size(); ++i) order += (i ? ", " : "") + QuoteIdent(t.columns[t.key[i]].name);
  std::vector<Value> after;
  if (!t.key.empty() && !t.state->after.empty()) {
    auto j = nlohmann::json::parse(t.state->after, nullptr, false);
    if (!j.is_array() || j.size() != t.key.size()) {
      return Status::Corruption("mysql cdc: the snapshot checkpoint of " + t.stream +
                                " does not match its key; `sluice state reset` starts over");
    }
    for (size_t i = 0; i < t.key.size(); ++i) {
      ASSIGN_OR_RETURN(Value v, ValueFromJson(j[i].dump(), t.columns[t.key[i]].fetch));
      after.push_back(std::move(v));
    }
  }
  std::string sql = "SELECT " + list + " FROM " + t.qualified;
  if (!after.empty()) {
    std::string marks;
    for (size_t i = 0; i < t.key.size(); ++i) marks += i ? ", ?" : "?";
    sql += " WHERE (" + order + ") > (" + marks + ")";
  }
  if (!t.key.empty()) sql += " ORDER BY " + order;
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  if (after.empty()) {
    if (mysql_real_query(conn.raw(), sql.data(), sql.size()) != 0) return conn.Error("mysql cdc: copy of " + t.qualified);
    ASSIGN_OR_RETURN(*reader, MakeTextReader(conn, t.columns));
    return Status::OK();
  }
  ASSIGN_OR_RETURN(*stmt, Statement::Prepare(conn, sql));
  RETURN_IF_ERROR((*stmt)->Execute(after));
  ASSIGN_OR_RETURN(*reader, MakeBinaryReader(**stmt, t.columns));
  return Status::OK();
}

Status MysqlCdcSource::SnapshotTable(CdcTable& t, Connection& conn, const GtidSet& at,
                                     Emitter& out) {
  if (t.key.empty() && t.state->snapshot_rows > 0) {
    // A keyless copy cannot resume midway: its rows so far were never committed (no boundary).
    t.state->snapshot_rows = 0;
  }
  Log("copying " + t.qualified, {{"after_rows", std::to_string(t.state->snapshot_rows)}});
  std::unique_ptr<Statement> stmt;
  std::unique_ptr<RowReader> reader;
  RETURN_IF_ERROR(OpenCopy(t, conn, 0, &stmt, &reader));
  RecordBatch::ChangeSource base;
  base.position = at.ToString();
  RowIssue issue;
  const bool resumable = !t.key.empty();
  for (;;) {
    if (out.StopRequested()) return Status::Cancelled("stopped during the copy of " + t.qualified);
    ASSIGN_OR_RETURN(bool more, reader->Next(*t.builder, &issue));
    if (!more) break;
    ++t.state->snapshot_rows;
    pending_bytes_ += reader->row_bytes();
    if (!issue.column.empty()) {
      t.rejects.push_back(SnapshotReject(t, t.state->snapshot_rows, issue, *reader));
    } else {
      t.builder->CommitRow(t.state->snapshot_rows);
      t.ops.push_back('r');
      t.changes.push_back(base);
    }
    if (t.builder->Full() || t.rejects.size() >= 10000) {
      if (resumable) {
        std::string key = "[";
        for (size_t i = 0; i < t.key.size(); ++i)
          key += (i ? "," : "") + ValueJson(reader->Get(t.key[i]));
        t.state->after = key + "]";
      }
      RETURN_IF_ERROR(FlushTable(t, out));
      if (resumable) {
        Envelope env;
        env.positions.push_back({t.stream, kCdcKey, t.state->ToJson()});
        env.bytes_in = pending_bytes_;
        pending_bytes_ = 0;
        RETURN_IF_ERROR(out.Emit(std::move(env)));
      }
    }
  }
  reader.reset();
  RETURN_IF_ERROR(FlushTable(t, out));
  t.state->snapshot_done = true;
  t.state->after.clear();
  Log("copied " + t.qualified, {{"rows", std::to_string(t.state->snapshot_rows)}});
  Envelope env;
  env.positions.push_back({t.stream, kCdcKey, t.state->ToJson()});
  env.bytes_in = pending_bytes_;
  pending_bytes_ = 0;
  return out.Emit(std::move(env));
}

// ---- stream ----

void MysqlCdcSource::CloseStream() {
  if (event_) {
    mariadb_free_rpl_event(event_);
    event_ = nullptr;
  }
  if (rpl_) {
    mariadb_rpl_close(rpl_);
    rpl_ = nullptr;
  }
  repl_conn_.reset();
}

Status MysqlCdcSource::OpenStream(const GtidSet& from) {
  if (meta_) {
    repl_conn_ = std::move(meta_);
  } else {
    ASSIGN_OR_RETURN(repl_conn_, Connection::Connect(cfg_.conn, Session::kSource));
  }
  const long long heartbeat_ns = static_cast<long long>(cfg_.heartbeat_s * 1e9);
  // One round trip. @mariadb_slave_capability 4: GTID events, started by @slave_connect_state.
  RETURN_IF_ERROR(repl_conn_->Exec(
      "SET @slave_connect_state = '" + from.ToString() +
      "', @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0, "
      "@mariadb_slave_capability = 4, @master_binlog_checksum = @@global.binlog_checksum, "
      "@master_heartbeat_period = " +
      std::to_string(heartbeat_ns)));
  rpl_ = mariadb_rpl_init(repl_conn_->raw());
  if (!rpl_) return Status::Internal("mysql cdc: mariadb_rpl_init failed");
  unsigned int server_id = cfg_.server_id;
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_SERVER_ID, server_id);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_START, 4UL);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_FLAGS, 0U);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_FILENAME, "", 0UL);
  if (mariadb_rpl_open(rpl_) != 0) {
    return repl_conn_->Error("mysql cdc: opening the binlog stream at GTID " + from.ToString());
  }
  return Status::OK();
}

Status MysqlCdcSource::Stream(Emitter& out) {
  // Start at the lowest committed position of any table.
  GtidSet from;
  bool first = true;
  for (const auto& t : tables_) {
    from = first ? t.state->gtid : GtidSet::Min(from, t.state->gtid);
    first = false;
  }
  stream_pos_ = from;
  GtidSet target;
  if (cfg_.stop_at_caught_up) {
    ASSIGN_OR_RETURN(auto rows, meta_->Query("SELECT @@gtid_binlog_pos"));
    if (rows.empty() || !GtidSet::Parse(rows[0][0].value_or(""), &target))
      return Status::Corruption("mysql cdc: cannot read @@gtid_binlog_pos");
    if (stream_pos_.Reaches(target) && !SnapshotPending()) {
      Log("caught up", {{"gtid", stream_pos_.ToString()}});
      return FlushAll(out, true);
    }
  }
  RETURN_IF_ERROR(OpenStream(from));
  Log("streaming", {{"from", from.ToString()},
                    {"until", cfg_.stop_at_caught_up ? target.ToString() : "stopped"}});
  const size_t crc = checksum_ == "NONE" || checksum_ == "OFF" || checksum_.empty() ? 0 : 4;
  auto last_flush = Clock::now();
  const auto flush_every = std::chrono::duration<double>(std::min(cfg_.heartbeat_s, 0.2));
  auto last_idle_check = Clock::now();
  for (;;) {
    if (!in_txn_) {
      const bool caught_up =
          cfg_.stop_at_caught_up && stream_pos_.Reaches(target) && !SnapshotPending();
      if (caught_up || out.StopRequested()) {
        if (caught_up) Log("caught up", {{"gtid", stream_pos_.ToString()}});
        return FlushAll(out, true);
      }
      // The next snapshot chunk: its watermarks are then on their way down the stream.
      if (chunked_ && !chunk_ && SnapshotPending()) RETURN_IF_ERROR(StartChunk(out));
      // Rows of ours go out at least every 200 ms, and at once when the stream goes quiet. Positions alone (other tables' and other
      // databases' transactions) only every 10 s: each stored position is a commit in the sink,
      // and a sink on the same server writes binlog that this stream then reads.
      const auto since = Clock::now() - last_flush;
      // A chunk's end is a boundary too, so its progress may commit with its rows.
      // The idle check is a system call: at most one every 10 ms, so a drain does not pay it per transaction.
      bool idle = false;
      if (pending_rows_ > 0 && Clock::now() - last_idle_check >= std::chrono::milliseconds(10)) {
        idle = StreamIdle();
        last_idle_check = Clock::now();
      }
      if ((pending_rows_ > 0 && (pending_rows_ >= kBatchRows || since >= flush_every || idle)) ||
          chunk_boundary_ || (positions_pending_ && since >= std::chrono::seconds(10))) {
        RETURN_IF_ERROR(FlushAll(out, false));
        last_flush = Clock::now();
      }
    } else if (pending_rows_ >= kBatchRows) {
      // A transaction larger than a batch goes out in pieces, without a boundary.
      for (auto& t : tables_) RETURN_IF_ERROR(FlushTable(t, out));
    }
    event_ = mariadb_rpl_fetch(rpl_, event_);
    if (!event_) {
      const unsigned code = mysql_errno(repl_conn_->raw());
      if (code == 1236) {
        return Status::Permanent(
            "mysql cdc: the server cannot send the binlog from GTID " + from.ToString() + ": " +
            mysql_error(repl_conn_->raw()) +
            ". If the binlog was purged, the changes since then are lost to this pipeline: "
            "`sluice state reset` and run again for a new snapshot");
      }
      return repl_conn_->Error("mysql cdc: reading the binlog");
    }
    if (event_->raw_data_size <= event_->raw_data_ofs) continue;
    std::string_view ev(reinterpret_cast<const char*>(event_->raw_data) + event_->raw_data_ofs,
                        event_->raw_data_size - event_->raw_data_ofs);
    if (ev.size() < bl::kHeaderSize) continue;
    ASSIGN_OR_RETURN(bl::EventHeader h, bl::DecodeHeader(ev));
    const size_t tail = h.type == bl::kFormatDescriptionEvent ? 0 : crc;
    if (ev.size() < bl::kHeaderSize + tail) continue;
    std::string_view body = ev.substr(bl::kHeaderSize, ev.size() - bl::kHeaderSize - tail);
    switch (h.type) {
      case bl::kGtidEvent: {
        ASSIGN_OR_RETURN(txn_, bl::DecodeGtid(body, h.server_id));
        txn_text_ = bl::GtidText(txn_);
        txn_commit_us_ = static_cast<int64_t>(h.timestamp) * 1000000;
        in_txn_ = true;
        txn_standalone_ = txn_.standalone();
        ordinal_ = 0;
        break;
      }
      case bl::kTableMapEvent:
        RETURN_IF_ERROR(OnTableMap(body, out));
        break;
      case bl::kXidEvent:
        Commit();
        break;
      case bl::kQueryEvent:
        RETURN_IF_ERROR(OnQuery(body, out));
        break;
      case bl::kHeartbeatEvent:
        break;
      default:
        if (bl::IsRowsEvent(h.type)) RETURN_IF_ERROR(OnRows(h.type, body, out));
        break;
    }
  }
}

void MysqlCdcSource::Commit() {
  if (!in_txn_) return;
  in_txn_ = false;
  stream_pos_.Advance(txn_.domain, txn_.server_id, txn_.seq);
  // A table being copied by watermarks streams all the same (the fallback copies before).
  for (auto& t : tables_) t.state->gtid.Advance(txn_.domain, txn_.server_id, txn_.seq);
  positions_pending_ = true;
}

Status MysqlCdcSource::OnTableMap(std::string_view body, Emitter& out) {
  const uint64_t id = bl::PeekTableId(body);
  if (other_ids_.count(id) || id == wm_map_id_) return Status::OK();
  auto known = table_ids_.find(id);
  if (known != table_ids_.end() && tables_[known->second].map_id == id) return Status::OK();
  ASSIGN_OR_RETURN(bl::TableMap map, bl::DecodeTableMap(body));
  if (map.table == kWatermarkTable && map.db == wm_db_) {
    wm_mark_col_ = -1;
    for (size_t i = 0; i < map.columns.size(); ++i) {
      if (map.columns[i].name == "mark") wm_mark_col_ = static_cast<int>(i);
    }
    wm_map_ = std::move(map);
    wm_map_id_ = id;
    return Status::OK();
  }
  auto it = by_name_.find({map.db, map.table});
  if (it == by_name_.end()) {
    other_ids_.insert(id);
    return Status::OK();
  }
  CdcTable& t = tables_[it->second];
  if (!map.has_names) {
    return Status::Permanent(
        "mysql cdc: the binlog's table map of " + t.qualified +
        " has no column names: SET GLOBAL binlog_row_metadata = 'FULL' (events written before "
        "that cannot be read by name)");
  }
  bool same = map.columns.size() == t.columns.size();
  for (size_t i = 0; same && i < map.columns.size(); ++i)
    same = map.columns[i].name == t.columns[i].name;
  if (!same) {
    // The rows of this event have other columns than those being built: a new schema.
    RETURN_IF_ERROR(FlushTable(t, out));
    std::vector<SourceColumn> cols;
    for (const auto& mc : map.columns) {
      const SourceColumn* known = nullptr;
      for (const auto& c : t.catalog) {
        if (c.name == mc.name) known = &c;
      }
      cols.push_back(known ? *known : ColumnFromBinlog(t.qualified, mc));
    }
    const std::string old_schema = t.schema->ToString();
    SetColumns(t, std::move(cols));
    Log("schema of " + t.stream + " changed",
        {{"from", old_schema}, {"to", t.schema->ToString()}, {"gtid", txn_text_}});
    SaveSchema(t);
  }
  t.map_to_col.assign(map.columns.size(), -1);
  t.col_to_map.assign(t.columns.size(), -1);
  for (size_t i = 0; i < map.columns.size(); ++i) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      if (t.columns[c].name == map.columns[i].name) {
        t.map_to_col[i] = static_cast<int>(c);
        t.col_to_map[c] = static_cast<int>(i);
        // information_schema knows the signedness for sure.
        map.columns[i].is_unsigned =
            ToLower(t.columns[c].server_type).find("unsigned") != std::string::npos;
      }
    }
  }
  t.map = std::move(map);
  t.map_id = id;
  table_ids_[id] = it->second;
  return Status::OK();
}

std::string MysqlCdcSource::CellsJson(const CdcTable& t, const std::vector<bl::Cell>& cells) const {
  std::string out = "{";
  bool first = true;
  for (size_t i = 0; i < cells.size() && i < t.map.columns.size(); ++i) {
    if (cells[i].kind == bl::Cell::Kind::kAbsent) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, t.map.columns[i].name);
    out += ':';
    AppendCellJson(cells[i], out);
  }
  out += '}';
  return out;
}

// Appends `cells` as one row of `b` (t's schema); false, with the row rolled back, the column and
// why, when a value does not fit its column.
bool AppendCells(const CdcTable& t, RecordBatchBuilder& b, const std::vector<bl::Cell>& cells,
                 size_t* column, std::string* why) {
  static const bl::Cell kNullCell{bl::Cell::Kind::kNull};
  for (size_t c = 0; c < t.columns.size(); ++c) {
    const int m = t.col_to_map[c];
    const bl::Cell& cell =
        m >= 0 && static_cast<size_t>(m) < cells.size() ? cells[static_cast<size_t>(m)] : kNullCell;
    const bl::ColumnInfo* info = m >= 0 ? &t.map.columns[static_cast<size_t>(m)] : nullptr;
    const uint32_t fixed = info && info->type == bl::kTypeString ? info->max_len : 0;
    if (!AppendCell(b.column(c), t.columns[c], cell, fixed, why)) {
      b.RollbackRow();
      *column = c;
      return false;
    }
  }
  return true;
}

void MysqlCdcSource::AppendRow(CdcTable& t, char op, const std::vector<bl::Cell>& cells,
                               const std::vector<bl::Cell>* before) {
  size_t column = 0;
  std::string why;
  bool ok = AppendCells(t, *t.builder, cells, &column, &why);
  int64_t before_row = -1;
  if (ok && before && ctx_.before_images) {
    if (AppendCells(t, *t.before, *before, &column, &why)) {
      t.before->CommitRow(0);
      before_row = t.before->num_rows() - 1;
    } else {
      t.builder->RollbackRow();
      why = "(the old row) " + why;
      ok = false;
    }
  }
  if (!ok) {
    RejectedRow r;
    r.stream = t.stream;
    r.origin = t.db + "." + t.name + "@" + txn_text_;
    r.position_key = txn_text_ + ":" + std::to_string(ordinal_);
    r.raw = CellsJson(t, cells);
    r.rule = "type";
    r.column = t.columns[column].name;
    r.reason = "column " + t.columns[column].name + ": " + why;
    t.rejects.push_back(std::move(r));
    ++ordinal_;
    ++pending_rows_;
    return;
  }
  t.builder->CommitRow(ordinal_++);
  t.ops.push_back(op);
  if (t.changes.capacity() == 0) t.changes.reserve(t.changes_hint);
  RecordBatch::ChangeSource& cs = t.changes.emplace_back();
  cs.position = txn_text_;
  cs.txid = static_cast<int64_t>(txn_.seq);
  cs.commit_us = txn_commit_us_;
  cs.before_row = before_row;
  ++pending_rows_;
}

Status MysqlCdcSource::OnRows(uint8_t type, std::string_view body, Emitter& out) {
  const uint64_t id = bl::PeekTableId(body);
  if (id == wm_map_id_) return OnWatermarkRows(type, body, out);
  auto it = table_ids_.find(id);
  if (it == table_ids_.end()) return Status::OK();
  CdcTable& t = tables_[it->second];
  if (t.map_id != id) return Status::OK();
  ASSIGN_OR_RETURN(bl::RowsEvent ev, bl::DecodeRowsEvent(type, body));
  pending_bytes_ += body.size() + bl::kHeaderSize;
  const bool skip = t.state->gtid.Contains(txn_.domain, txn_.seq);
  const bool chunk = chunk_ && chunk_->table == it->second;
  size_t pos = 0;
  while (pos < ev.rows.size()) {
    if (ev.op == 'c') {
      RETURN_IF_ERROR(bl::DecodeRow(t.map, ev, false, &pos, &after_));
      if (chunk) NoteChunkChange(t, after_);
      if (skip) {
        ++skipped_rows_;
        continue;
      }
      AppendRow(t, 'c', after_, nullptr);
    } else if (ev.op == 'd') {
      RETURN_IF_ERROR(bl::DecodeRow(t.map, ev, false, &pos, &before_));
      if (chunk) NoteChunkChange(t, before_);
      if (skip) {
        ++skipped_rows_;
        continue;
      }
      AppendRow(t, 'd', before_, nullptr);  // a delete's row is the old row
    } else {
      RETURN_IF_ERROR(bl::DecodeRow(t.map, ev, false, &pos, &before_));
      RETURN_IF_ERROR(bl::DecodeRow(t.map, ev, true, &pos, &after_));
      if (chunk) {
        NoteChunkChange(t, before_);
        NoteChunkChange(t, after_);
      }
      if (skip) {
        ++skipped_rows_;
        continue;
      }
      bool key_changed = false;
      for (size_t k : t.key) {
        const int m = t.col_to_map[k];
        if (m >= 0)
          key_changed |= !SameCell(before_[static_cast<size_t>(m)], after_[static_cast<size_t>(m)]);
      }
      // The row moved to another key: delete the old one, then write the new one.
      if (key_changed) AppendRow(t, 'd', before_, nullptr);
      AppendRow(t, 'u', after_, &before_);
    }
  }
  return Status::OK();
}

Status MysqlCdcSource::OnQuery(std::string_view body, Emitter& out) {
  ASSIGN_OR_RETURN(bl::Query q, bl::DecodeQuery(body));
  std::string_view text = Trim(q.query);
  const std::string head = ToUpper(std::string(text.substr(0, std::min<size_t>(text.size(), 16))));
  if (head == "BEGIN" || StartsWith(head, "XA START") || StartsWith(head, "XA END") ||
      StartsWith(head, "XA PREPARE")) {
    return Status::OK();
  }
  if (head == "COMMIT" || StartsWith(head, "XA COMMIT") || head == "ROLLBACK") {
    Commit();
    return Status::OK();
  }
  // DDL (or another statement logged as such): a change of one of our tables is re-read.
  const std::string lower = ToLower(std::string(text));
  const bool ddl = StartsWith(lower, "alter") || StartsWith(lower, "create") ||
                   StartsWith(lower, "drop") || StartsWith(lower, "rename") ||
                   StartsWith(lower, "truncate");
  if (ddl) {
    for (auto& t : tables_) {
      if (lower.find(ToLower(t.name)) == std::string::npos) continue;
      if (StartsWith(lower, "truncate")) {
        Warn("TRUNCATE of " + t.qualified +
                 " is not applied to the sink (truncate the target yourself, or reset the pipeline "
                 "to "
                 "copy the table again)",
             {{"gtid", txn_text_}});
        continue;
      }
      // The next table map of `t` says which columns its rows have (and changes the schema when
      // they differ); the catalog read now types the columns it names.
      RETURN_IF_ERROR(FlushTable(t, out));
      Status st = LoadTable(t);
      if (!st.ok()) {
        Warn("schema change of " + t.qualified + " could not be read again: " + st.message(),
             {{"gtid", txn_text_}});
      }
      t.map_id = ~0ULL;
      table_ids_.clear();
    }
  }
  if (txn_standalone_) Commit();
  return Status::OK();
}

Status MysqlCdcSource::FlushTable(CdcTable& t, Emitter& out) {
  if (t.builder->num_rows() == 0 && t.rejects.empty()) return Status::OK();
  Envelope env;
  const int64_t n = t.builder->num_rows();
  if (n > 0) {
    auto batch =
        std::const_pointer_cast<RecordBatch>(t.builder->Finish(t.stream, t.db + "." + t.name));
    batch->ops = std::move(t.ops);
    t.changes_hint = std::max<size_t>(t.changes_hint, t.changes.size());
    batch->changes = std::move(t.changes);
    if (t.before->num_rows() > 0) batch->before_rows = t.before->Finish(t.stream, t.db + "." + t.name);
    batch->source_db = t.db;
    batch->source_table = t.name;
    env.batch = std::move(batch);
    pending_rows_ -= n;
    if (pending_rows_ < 0) pending_rows_ = 0;
  }
  t.ops.clear();
  t.changes.clear();
  env.rejects = std::move(t.rejects);
  t.rejects.clear();
  pending_rows_ = std::max<int64_t>(0, pending_rows_ - static_cast<int64_t>(env.rejects.size()));
  env.boundary = false;
  return out.Emit(std::move(env));
}

// Emits every table's pending rows, then an envelope with every table's position: the rows so
// far are whole transactions.
Status MysqlCdcSource::FlushAll(Emitter& out, bool flush) {
  for (auto& t : tables_) RETURN_IF_ERROR(FlushTable(t, out));
  pending_rows_ = 0;
  Envelope env;
  env.bytes_in = pending_bytes_;
  pending_bytes_ = 0;
  for (auto& t : tables_) {
    if (t.state) env.positions.push_back({t.stream, kCdcKey, t.state->ToJson()});
  }
  env.boundary = true;
  env.flush = flush;
  positions_pending_ = false;
  chunk_boundary_ = false;
  return out.Emit(std::move(env));
}

}  // namespace

Result<std::unique_ptr<Source>> MakeCdcSource(const ConnectorContext& ctx, CdcConfig cfg) {
  return std::unique_ptr<Source>(new MysqlCdcSource(ctx, std::move(cfg)));
}

}  // namespace sluice::mysql
