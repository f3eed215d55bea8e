#pragma once
// A pure decoder of the MariaDB / MySQL row-based binlog events that change data capture needs:
// the common event header, GTID (MariaDB), XID, QUERY, TABLE_MAP (with the optional metadata of
// binlog_row_metadata=FULL: column names, signedness, ENUM/SET values) and
// WRITE/UPDATE/DELETE_ROWS v1 and v2. It reads bytes only: no connection, no allocation beyond
// its results, so it is tested with hand-built events
// (tests/connectors/mysql/mysql_binlog_test.cc).
//
// Every Decode* takes an event *body*: the bytes after the 19-byte header, without the trailing
// CRC32 checksum. Errors are Corruption statuses that name the event and what is wrong.
// Threading: stateless functions; a TableMap is read-only once decoded.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::mysql::binlog {

// Event type codes (the server's log_event.h numbers).
enum EventType : uint8_t {
  kQueryEvent = 2,
  kRotateEvent = 4,
  kFormatDescriptionEvent = 15,
  kXidEvent = 16,
  kTableMapEvent = 19,
  kWriteRowsV1 = 23,
  kUpdateRowsV1 = 24,
  kDeleteRowsV1 = 25,
  kHeartbeatEvent = 27,
  kWriteRowsV2 = 30,
  kUpdateRowsV2 = 31,
  kDeleteRowsV2 = 32,
  kAnnotateRowsEvent = 160,
  kGtidEvent = 162,  // MariaDB
  kGtidListEvent = 163,
  kWriteRowsCompressedV1 = 166,
  kDeleteRowsCompressed = 171,
};

// Column type codes of a TABLE_MAP (enum_field_types).
enum ColumnType : uint8_t {
  kTypeDecimal = 0,
  kTypeTiny = 1,
  kTypeShort = 2,
  kTypeLong = 3,
  kTypeFloat = 4,
  kTypeDouble = 5,
  kTypeNull = 6,
  kTypeTimestamp = 7,
  kTypeLongLong = 8,
  kTypeInt24 = 9,
  kTypeDate = 10,
  kTypeTime = 11,
  kTypeDateTime = 12,
  kTypeYear = 13,
  kTypeNewDate = 14,
  kTypeVarchar = 15,
  kTypeBit = 16,
  kTypeTimestamp2 = 17,
  kTypeDateTime2 = 18,
  kTypeTime2 = 19,
  kTypeJson = 245,
  kTypeNewDecimal = 246,
  kTypeEnum = 247,
  kTypeSet = 248,
  kTypeTinyBlob = 249,
  kTypeMediumBlob = 250,
  kTypeLongBlob = 251,
  kTypeBlob = 252,
  kTypeVarString = 253,
  kTypeString = 254,
  kTypeGeometry = 255,
};

inline constexpr size_t kHeaderSize = 19;

struct EventHeader {
  uint32_t timestamp = 0;  // seconds since the epoch
  uint8_t type = 0;
  uint32_t server_id = 0;
  uint32_t event_size = 0;  // header + body + checksum
  uint32_t log_pos = 0;     // end of this event in its binlog file
  uint16_t flags = 0;
};
Result<EventHeader> DecodeHeader(std::string_view event);

// MariaDB GTID event: the start of a transaction (or of a standalone DDL statement).
struct Gtid {
  uint32_t domain = 0;
  uint32_t server_id = 0;  // from the event header
  uint64_t seq = 0;
  uint8_t flags = 0;
  bool standalone() const { return flags & 0x01; }  // no COMMIT/XID follows (DDL)
};
Result<Gtid> DecodeGtid(std::string_view body, uint32_t server_id);
// "0-1-42"
std::string GtidText(const Gtid& g);

struct Query {
  std::string_view db;     // the default database of the statement
  std::string_view query;  // the statement text
};
Result<Query> DecodeQuery(std::string_view body);

struct ColumnInfo {
  uint8_t type = 0;      // the binlog type; for STRING, the real type (kTypeEnum, kTypeSet ...)
  uint16_t meta = 0;     // type metadata (max length, precision/scale, fsp, pack length ...)
  uint32_t max_len = 0;  // CHAR/VARCHAR/BINARY: maximum length in bytes
  bool nullable = true;
  bool is_unsigned = false;
  std::string name;  // from the optional metadata (binlog_row_metadata=FULL), else ""
  std::vector<std::string> values;  // ENUM / SET values
};

struct TableMap {
  uint64_t table_id = 0;
  std::string db;
  std::string table;
  std::vector<ColumnInfo> columns;
  bool has_names = false;  // the event carried column names
};
Result<TableMap> DecodeTableMap(std::string_view body);
// The table id of a TABLE_MAP or rows event, without decoding the rest (6 bytes at the start).
uint64_t PeekTableId(std::string_view body);

// One value of a row image.
struct Cell {
  enum class Kind : uint8_t {
    kAbsent,  // not in the image (the event's column bitmap)
    kNull,
    kInt,        // i: TINY..LONGLONG (signed), YEAR
    kUInt,       // u: unsigned integers, BIT
    kFloat,      // d (a FLOAT widened to double)
    kDouble,     // d
    kDecimal,    // dec/scale, or text ("-12.50") above 38 digits; see DecimalText
    kBytes,      // bytes: strings, blobs, ENUM/SET names (view into the event or into text)
    kDate,       // year, month, day
    kTime,       // i: signed microseconds (may exceed a day)
    kDateTime,   // year .. micro (naive)
    kTimestamp,  // i: microseconds since the epoch (UTC)
  };
  Kind kind = Kind::kAbsent;
  // kDecimal of precision <= 38: the unscaled value and its scale (text stays empty); wider
  // decimals are text only.
  __int128 dec = 0;
  int scale = 0;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  std::string_view bytes;
  std::string text;  // decimals above 38 digits, SET lists, unknown ENUM numbers; else stale
  uint16_t year = 0;
  uint8_t month = 0, day = 0, hour = 0, minute = 0, second = 0;
  uint32_t micro = 0;
};

// A WRITE/UPDATE/DELETE_ROWS event (v1 or v2), ready to walk row by row.
struct RowsEvent {
  char op = 'c';  // 'c' write, 'u' update, 'd' delete
  uint64_t table_id = 0;
  uint16_t flags = 0;  // 0x01: last event of the statement
  uint32_t columns = 0;
  std::vector<uint8_t> present;        // columns in the (before) image
  std::vector<uint8_t> present_after;  // UPDATE: columns in the after image
  std::string_view rows;               // the row images, decoded by NextRow
};
bool IsRowsEvent(uint8_t type);
Result<RowsEvent> DecodeRowsEvent(uint8_t type, std::string_view body);

// Decodes the row image at `*pos` in `ev.rows` into `out` (one cell per table column) and moves
// `*pos` past it. `after`: the after image of an UPDATE (uses present_after).
Status DecodeRow(const TableMap& map, const RowsEvent& ev, bool after, size_t* pos,
                 std::vector<Cell>* out);

// The text of a DECIMAL(precision, scale) in the server's binary form; false when malformed.
bool DecodeDecimal(std::string_view bin, int precision, int scale, std::string* out,
                   size_t* consumed);
// The same, as an unscaled integer (precision <= 38).
bool DecodeDecimalUnscaled(std::string_view bin, int precision, int scale, __int128* out,
                           size_t* consumed);
// A kDecimal cell as text: "-12.50".
std::string DecimalText(const Cell& c);

}  // namespace sluice::mysql::binlog
