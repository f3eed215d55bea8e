#include "connectors/sql/changelog.h"

#include <charconv>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "core/strings.h"
#include "core/values.h"

namespace sluice::sql {
namespace {

bool AnyUnchanged(const RecordBatch& batch, int64_t row) {
  for (size_t c = 0; c < batch.unchanged.size(); ++c) {
    if (batch.is_unchanged(c, row)) return true;
  }
  return false;
}

const RecordBatch::ChangeSource* ChangeOf(const RecordBatch& batch, int64_t row) {
  if (batch.changes.empty()) return nullptr;
  return &batch.changes[static_cast<size_t>(row)];
}

// PostgreSQL's "16/B374D848" as the 64-bit number Debezium writes, or nullopt.
std::optional<uint64_t> LsnNumber(const std::string& pos) {
  size_t slash = pos.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == pos.size()) return std::nullopt;
  char* end = nullptr;
  const std::string hi_text = pos.substr(0, slash), lo_text = pos.substr(slash + 1);
  uint64_t hi = std::strtoull(hi_text.c_str(), &end, 16);
  if (*end) return std::nullopt;
  uint64_t lo = std::strtoull(lo_text.c_str(), &end, 16);
  if (*end || hi > 0xffffffffull || lo > 0xffffffffull) return std::nullopt;
  return (hi << 32) | lo;
}

void AppendNullableString(std::string& out, const std::string& s) {
  if (s.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, s);
  }
}

// Appends the row's columns that the source sent, as a JSON object.
void AppendSentRowJson(const RecordBatch& batch, int64_t row, std::string& out) {
  if (!AnyUnchanged(batch, row)) return AppendRowJson(batch, row, out);
  out += '{';
  const Schema& schema = *batch.schema();
  bool first = true;
  for (size_t c = 0; c < schema.size(); ++c) {
    if (batch.is_unchanged(c, row)) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, schema.field(c).name);
    out += ':';
    AppendValueJson(batch.column(c), row, out);
  }
  out += '}';
}

// Append the `after` / `before` object of row `row`; false (nothing appended) when it has none.
bool AppendAfter(const RecordBatch& batch, int64_t row, std::string& out) {
  if (batch.op(row) == 'd') return false;
  AppendSentRowJson(batch, row, out);
  return true;
}

bool AppendBefore(const RecordBatch& batch, int64_t row, std::string& out) {
  const auto* change = ChangeOf(batch, row);
  if (change && !change->before.empty()) {
    out += change->before;
    return true;
  }
  if (change && change->before_row >= 0 && batch.before_rows && change->before_row < batch.before_rows->num_rows()) {
    AppendSentRowJson(*batch.before_rows, change->before_row, out);
    return true;
  }
  // A delete's row is the old row (at least its key): without it the event would not say which
  // row went.
  if (batch.op(row) != 'd') return false;
  AppendSentRowJson(batch, row, out);
  return true;
}

}  // namespace

std::string ChangeAfterJson(const RecordBatch& batch, int64_t row) {
  std::string out;
  AppendAfter(batch, row, out);
  return out;
}

std::string ChangeBeforeJson(const RecordBatch& batch, int64_t row) {
  std::string out;
  AppendBefore(batch, row, out);
  return out;
}

std::string ChangeSourceJson(const RecordBatch& batch, int64_t row) {
  const auto* change = ChangeOf(batch, row);
  std::string out = "{\"db\":";
  AppendNullableString(out, batch.source_db);
  out += ",\"table\":";
  AppendNullableString(out, batch.source_table.empty() ? batch.stream : batch.source_table);
  out += ",\"position\":";
  AppendNullableString(out, change ? change->position : std::string());
  out += ",\"txid\":";
  out += change && change->txid ? std::to_string(change->txid) : "null";
  out += ",\"ts_us\":";
  out += change && change->commit_us ? std::to_string(change->commit_us) : "null";
  out += '}';
  return out;
}

RecordBatchPtr ChangelogBatch(const RecordBatch& batch) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {kChangelogColumns[0], DataType::String()},
      {kChangelogColumns[1], DataType::Json()},
      {kChangelogColumns[2], DataType::Json()},
      {kChangelogColumns[3], DataType::Json()},
  });
  ColumnBuilder op(DataType::String()), before(DataType::Json()), after(DataType::Json()),
      source(DataType::Json());
  const int64_t n = batch.num_rows();
  for (int64_t r = 0; r < n; ++r) {
    const char o = batch.op(r);
    op.AppendBytes(std::string_view(&o, 1));
    std::string b = ChangeBeforeJson(batch, r);
    if (b.empty()) {
      before.AppendNull();
    } else {
      before.AppendBytes(b);
    }
    std::string a = ChangeAfterJson(batch, r);
    if (a.empty()) {
      after.AppendNull();
    } else {
      after.AppendBytes(a);
    }
    source.AppendBytes(ChangeSourceJson(batch, r));
  }
  std::vector<ColumnPtr> cols = {op.Finish(), before.Finish(), after.Finish(), source.Finish()};
  auto out = std::make_shared<RecordBatch>(schema, std::move(cols), n);
  out->stream = batch.stream;
  out->origin_unit = batch.origin_unit;
  out->origin_lines = batch.origin_lines;
  out->source_db = batch.source_db;
  out->source_table = batch.source_table;
  return out;
}

void AppendDebeziumEventJson(const RecordBatch& batch, int64_t row, int64_t now_ms, std::string& out) {
  const auto* change = ChangeOf(batch, row);
  auto number = [&](int64_t v) {
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  };
  out += "{\"before\":";
  if (!AppendBefore(batch, row, out)) out += "null";
  out += ",\"after\":";
  if (!AppendAfter(batch, row, out)) out += "null";
  out += ",\"source\":{\"connector\":\"sluice\",\"db\":";
  AppendNullableString(out, batch.source_db);
  out += ",\"table\":";
  AppendNullableString(out, batch.source_table.empty() ? batch.stream : batch.source_table);
  if (change && !change->position.empty()) {
    const std::string& pos = change->position;
    if (auto lsn = LsnNumber(pos)) {
      out += ",\"lsn\":" + std::to_string(*lsn);
    } else {
      // MariaDB "0-1-42", MySQL "uuid:1-42"; anything else (a trigger log's sequence number)
      // is no GTID and keeps sluice's own name.
      const bool gtid = pos.find_first_of("-:") != std::string::npos;
      out += gtid ? ",\"gtid\":" : ",\"position\":";
      AppendJsonString(out, pos);
    }
  }
  out += ",\"txId\":";
  if (change && change->txid) number(change->txid); else out += "null";
  out += ",\"ts_ms\":";
  if (change && change->commit_us) number(change->commit_us / 1000); else out += "null";
  out += "},\"op\":\"";
  out += batch.op(row);
  out += "\",\"ts_ms\":";
  number(now_ms);
  out += '}';
}

std::string DebeziumEventJson(const RecordBatch& batch, int64_t row, int64_t now_ms) {
  std::string out;
  AppendDebeziumEventJson(batch, row, now_ms, out);
  return out;
}

}  // namespace sluice::sql
