#pragma once
// The pure part of PostgreSQL logical replication: the framing of the replication COPY stream
// (XLogData 'w', primary keepalive 'k', standby status update 'r') and the messages of the
// `pgoutput` plugin, protocol version 1 (Begin, Commit, Relation, Insert, Update, Delete,
// Truncate, logical decoding Message, and the ignored Origin and Type). No server and no libpq: unit-tested with
// hand-built bytes (tests/connectors/postgres/pgoutput_test.cc).
//
// Decoded messages hold string_views into the bytes they were decoded from; they are valid as
// long as those bytes are. Every decoder checks lengths and returns an error (never reads past
// the end) on a truncated or malformed message.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/column.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice::pg::pgoutput {

using Lsn = uint64_t;

// "16/B374D848": the way PostgreSQL spells an LSN.
std::string LsnText(Lsn lsn);
// Parses "16/B374D848"; false when malformed.
bool ParseLsn(std::string_view text, Lsn* out);

// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC).
inline constexpr int64_t kPgEpochUnixUs = 946684800000000LL;

// ---- replication stream framing (the CopyData payloads of START_REPLICATION) ----

struct XLogData {
  Lsn data_start = 0;
  Lsn wal_end = 0;
  int64_t send_time = 0;       // µs since 2000-01-01
  std::string_view payload;    // one pgoutput message
};
struct Keepalive {
  Lsn wal_end = 0;             // the server's sent position
  int64_t send_time = 0;
  bool reply_requested = false;
};
struct StreamMessage {
  char kind = 0;  // 'w' or 'k'
  XLogData xlog;
  Keepalive keepalive;
};
Result<StreamMessage> DecodeStreamMessage(std::string_view bytes);

// The standby status update ('r') telling the server how far the client has written, flushed
// (made durable: the slot may advance to it) and applied.
std::string EncodeStandbyStatus(Lsn write, Lsn flush, Lsn apply, int64_t now_pg_us, bool reply_requested);

// ---- pgoutput messages ----

struct Begin {
  Lsn final_lsn = 0;     // the LSN of the transaction's commit record
  int64_t commit_time = 0;  // µs since 2000-01-01
  uint32_t xid = 0;
};
struct Commit {
  uint8_t flags = 0;
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;       // the end of the commit record: where a restart may begin
  int64_t commit_time = 0;
};
struct RelationColumn {
  bool key = false;      // part of the replica identity
  std::string name;
  uint32_t type_oid = 0;
  int32_t typmod = -1;
};
struct Relation {
  uint32_t oid = 0;
  std::string nspname;   // empty for pg_catalog
  std::string relname;
  char replica_identity = 'd';  // d default (primary key), n nothing, f full, i index
  std::vector<RelationColumn> columns;
};
// One value of a tuple: 'n' null, 'u' unchanged TOAST value (not sent), 't' text, 'b' binary.
struct TupleValue {
  char kind = 'n';
  std::string_view data;
};
using Tuple = std::vector<TupleValue>;

// A row change. `old_kind` is 0 (no old row sent), 'K' (the old key: other columns null) or 'O'
// (the whole old row, REPLICA IDENTITY FULL).
struct RowChange {
  char op = 0;  // 'I', 'U' or 'D'
  uint32_t relid = 0;
  char old_kind = 0;
  Tuple old_tuple;
  Tuple new_tuple;  // empty for a delete
};
struct Truncate {
  uint8_t options = 0;  // 1 CASCADE, 2 RESTART IDENTITY
  std::vector<uint32_t> relids;
};

// A logical decoding message (pg_logical_emit_message), sent when START_REPLICATION asks for
// `messages 'true'` (PostgreSQL 14+). A transactional one arrives inside its transaction's
// Begin/Commit, in commit order; a non-transactional one arrives on its own, where it was written.
struct LogicalMessage {
  bool transactional = false;
  Lsn lsn = 0;              // where the message was written
  std::string_view prefix;  // e.g. "sluice"
  std::string_view content;
};

struct Message {
  // 'B' begin, 'C' commit, 'R' relation, 'I'/'U'/'D' row change, 'T' truncate, 'M' logical
  // decoding message; 'O' origin and 'Y' type are recognised and carry nothing here.
  char type = 0;
  Begin begin;
  Commit commit;
  Relation relation;
  RowChange change;
  Truncate truncate;
  LogicalMessage message;  // views into the decoded bytes
};

// Decodes one pgoutput message. Unknown message types are an error naming the byte.
Result<Message> Decode(std::string_view bytes);
// The same into `out`, reusing its vectors (the hot path: one call per change).
Status DecodeInto(std::string_view bytes, Message* out);

// ---- values ----
// pgoutput protocol version 1 sends every value in its text output form. The replication session
// runs with DateStyle ISO, TimeZone UTC and extra_float_digits 3 (pg_cdc.cc), and the snapshot
// reads text too, so one decoder serves both.

// Appends the text form `v` of a value to `b`, whose type is `type` (the column's sluice type).
// False, with a reason in `why` and nothing appended, when the value does not fit the type
// (NaN into a decimal, an infinite date, a malformed number).
bool AppendTextValue(const DataType& type, std::string_view v, ColumnBuilder& b, std::string* why);

// Appends the value as a JSON value: numbers and booleans bare (when they are plain numbers),
// json as it is, everything else as a JSON string.
void AppendJsonValue(const DataType& type, std::string_view v, std::string& out);

}  // namespace sluice::pg::pgoutput
