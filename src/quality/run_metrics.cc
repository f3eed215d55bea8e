#include "quality/run_metrics.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/strings.h"
#include "core/values.h"
#include "quality/contract.h"
#include "state/state_store.h"

namespace sluice {

namespace {

using nlohmann::json;

// Bumped when the JSON form changes incompatibly; FromJson refuses newer forms.
constexpr int kFormat = 1;

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The newest value of a date or timestamp column, as microseconds since the epoch.
std::optional<int64_t> NewestMicros(const Column& col, int64_t n) {
  const TypeId t = col.type().id;
  if (t != TypeId::kDate && t != TypeId::kTimestamp) return std::nullopt;
  int64_t newest = INT64_MIN;
  for (int64_t i = 0; i < n; ++i) {
    if (col.IsNull(i)) continue;
    int64_t v = t == TypeId::kDate ? static_cast<int64_t>(col.DateAt(i)) * 86400000000LL : col.Int64At(i);
    newest = std::max(newest, v);
  }
  if (newest == INT64_MIN) return std::nullopt;
  return newest;
}

void KeepNewest(std::optional<int64_t>& into, std::optional<int64_t> v) {
  if (v && (!into || *v > *into)) into = v;
}

// Each distinct name of a comma-joined list ("pattern,min,pattern") once.
std::set<std::string> Names(const std::string& list) {
  std::set<std::string> out;
  for (const auto& part : Split(list, ',')) {
    std::string_view name = Trim(part);
    if (!name.empty()) out.emplace(name);
  }
  return out;
}

json StreamJson(const StreamQuality& s) {
  json cols = json::object();
  for (const auto& [name, c] : s.columns) cols[name] = {{"rows", c.rows}, {"nulls", c.nulls}};
  return {{"rows_out", s.rows_out}, {"schema_version", s.schema_version}, {"columns", cols}};
}

StreamQuality StreamFromJson(const json& j) {
  StreamQuality s;
  s.rows_out = j.value("rows_out", int64_t{0});
  s.schema_version = j.value("schema_version", 0);
  if (j.contains("columns") && j["columns"].is_object()) {
    for (const auto& [name, c] : j["columns"].items()) {
      s.columns[name] = {c.value("rows", int64_t{0}), c.value("nulls", int64_t{0})};
    }
  }
  return s;
}

std::map<std::string, int64_t> CountsFromJson(const json& j, const char* key) {
  std::map<std::string, int64_t> out;
  if (!j.contains(key) || !j[key].is_object()) return out;
  for (const auto& [name, v] : j[key].items()) {
    if (v.is_number_integer()) out[name] = v.get<int64_t>();
  }
  return out;
}

}  // namespace

void GroupQuality::Observe(const RecordBatch& batch, const std::string& freshness_column) {
  const int64_t n = batch.num_rows();
  if (n == 0) return;
  StreamQuality& s = streams_[batch.stream];
  s.rows_out += n;
  const Schema& schema = *batch.schema();
  for (size_t c = 0; c < schema.size(); ++c) {
    ColumnQuality& q = s.columns[schema.field(c).name];
    q.rows += n;
    q.nulls += batch.column(c).null_count();
  }
  if (!freshness_column.empty()) {
    int idx = schema.IndexOf(freshness_column);
    if (idx >= 0) KeepNewest(newest_micros_, NewestMicros(batch.column(static_cast<size_t>(idx)), n));
  }
}

int64_t RunMetrics::unique_violations() const {
  auto it = rule_violations.find("unique");
  return it == rule_violations.end() ? 0 : it->second;
}

double RunMetrics::rejection_rate() const {
  return rows_checked == 0 ? 0.0 : static_cast<double>(counters.rows_quarantined) / static_cast<double>(rows_checked);
}

void RunMetrics::CommitGroup(const GroupQuality& group, const RunCounters& group_counters,
                             const std::vector<RejectedRow>& rejects) {
  counters.Add(group_counters);
  rows_checked += group_counters.rows_in - group_counters.rows_skipped;
  for (const auto& [name, g] : group.streams_) {
    StreamQuality& s = streams[name];
    s.rows_out += g.rows_out;
    for (const auto& [col, q] : g.columns) {
      s.columns[col].rows += q.rows;
      s.columns[col].nulls += q.nulls;
    }
  }
  for (const RejectedRow& r : rejects) {
    for (const auto& rule : Names(r.rule)) ++rule_violations[rule];
    for (const auto& col : Names(r.column)) ++column_violations[col];
  }
  KeepNewest(newest_micros, group.newest_micros_);
}

void RunMetrics::Finish(const Contract* c, const std::map<std::string, int>& schema_versions, int64_t now_micros) {
  if (c) {
    contract = c->name;
    contract_version = c->version;
    freshness_column = c->freshness_column;
  }
  for (const auto& [stream, version] : schema_versions) {
    // A stream that loaded nothing this run still shows which schema it is at.
    streams[stream].schema_version = version;
  }
  if (newest_micros) freshness_age_s = static_cast<double>(now_micros - *newest_micros) / 1e6;
}

void RunMetrics::Finish(const Contract* c, StateStore* state, const std::string& pipeline) {
  std::map<std::string, int> versions;
  if (state) {
    auto schemas = state->ListSchemas(pipeline);
    // Without them the report only lacks the versions; the run's figures still count.
    if (schemas.ok()) {
      for (const auto& [stream, v] : *schemas) versions[stream] = v.version;
    }
  }
  Finish(c, versions, WallMicros());
}

std::string RunMetrics::ToJson() const {
  json streams_j = json::object();
  for (const auto& [name, s] : streams) streams_j[name] = StreamJson(s);
  json j = {{"format", kFormat},
            {"rows_in", counters.rows_in},
            {"rows_out", counters.rows_out},
            {"rows_quarantined", counters.rows_quarantined},
            {"rows_skipped", counters.rows_skipped},
            {"bytes_in", counters.bytes_in},
            {"rows_checked", rows_checked},
            {"rules", rule_violations},
            {"columns", column_violations},
            {"unique_violations", unique_violations()},
            {"streams", streams_j}};
  if (!contract.empty()) j["contract"] = {{"name", contract}, {"version", contract_version}};
  if (!freshness_column.empty()) {
    json f = {{"column", freshness_column}};
    if (newest_micros) {
      f["newest_micros"] = *newest_micros;
      f["newest"] = FormatTimestamp(*newest_micros, true);
    }
    if (freshness_age_s) f["age_s"] = *freshness_age_s;
    j["freshness"] = f;
  }
  // Invalid UTF-8 in a column or rule name must not make the record unreadable.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<RunMetrics> RunMetrics::FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("run quality record is not a JSON object");
  if (j.value("format", 0) > kFormat) {
    return Status::InvalidArgument("run quality record has format " + std::to_string(j.value("format", 0)) +
                                   ", newer than this sluice reads (" + std::to_string(kFormat) + ")");
  }
  RunMetrics m;
  m.counters.rows_in = j.value("rows_in", int64_t{0});
  m.counters.rows_out = j.value("rows_out", int64_t{0});
  m.counters.rows_quarantined = j.value("rows_quarantined", int64_t{0});
  m.counters.rows_skipped = j.value("rows_skipped", int64_t{0});
  m.counters.bytes_in = j.value("bytes_in", uint64_t{0});
  m.rows_checked = j.value("rows_checked", int64_t{0});
  m.rule_violations = CountsFromJson(j, "rules");
  m.column_violations = CountsFromJson(j, "columns");
  if (j.contains("streams") && j["streams"].is_object()) {
    for (const auto& [name, s] : j["streams"].items()) m.streams[name] = StreamFromJson(s);
  }
  if (j.contains("contract") && j["contract"].is_object()) {
    m.contract = j["contract"].value("name", std::string());
    m.contract_version = j["contract"].value("version", 0);
  }
  if (j.contains("freshness") && j["freshness"].is_object()) {
    const json& f = j["freshness"];
    m.freshness_column = f.value("column", std::string());
    if (f.contains("newest_micros") && f["newest_micros"].is_number_integer()) m.newest_micros = f["newest_micros"].get<int64_t>();
    if (f.contains("age_s") && f["age_s"].is_number()) m.freshness_age_s = f["age_s"].get<double>();
  }
  return m;
}

}  // namespace sluice
