#include "connectors/sql/incremental_state.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sluice::sql {
namespace {

using nlohmann::json;

json KeyJson(const KeyText& k) {
  json a = json::array();
  for (const auto& v : k) a.push_back(v ? json(*v) : json(nullptr));
  return a;
}

std::optional<KeyText> KeyFromJson(const json& j) {
  if (!j.is_array()) return std::nullopt;
  KeyText k;
  for (const auto& v : j) {
    if (v.is_null()) k.emplace_back(std::nullopt);
    else if (v.is_string()) k.emplace_back(v.get<std::string>());
    else return std::nullopt;
  }
  return k;
}

std::optional<std::string> OptString(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Length-prefixed, so no value can forge another row's encoding.
std::string Encode(const KeyText& row) {
  std::string out;
  for (const auto& v : row) {
    if (!v) {
      out += 'N';
      continue;
    }
    out += 'S';
    out += std::to_string(v->size());
    out += ':';
    out += *v;
  }
  return out;
}

}  // namespace

// ---- full ----

bool FullState::Done() const {
  return !ranges.empty() && std::all_of(ranges.begin(), ranges.end(), [](const RangeState& r) { return r.done; });
}

int FullState::DoneRanges() const {
  return static_cast<int>(std::count_if(ranges.begin(), ranges.end(), [](const RangeState& r) { return r.done; }));
}

std::string FullState::ToJson() const {
  json rs = json::array();
  for (const auto& r : ranges) {
    json o = {{"lo", r.lo ? json(*r.lo) : json(nullptr)},
              {"hi", r.hi ? json(*r.hi) : json(nullptr)},
              {"last", r.last ? KeyJson(*r.last) : json(nullptr)},
              {"rows", r.rows},
              {"done", r.done}};
    rs.push_back(std::move(o));
  }
  return json{{"ranges", rs}}.dump();
}

std::optional<FullState> FullState::FromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("ranges") || !j["ranges"].is_array()) return std::nullopt;
  FullState s;
  for (const auto& o : j["ranges"]) {
    if (!o.is_object()) return std::nullopt;
    RangeState r;
    r.lo = OptString(o, "lo");
    r.hi = OptString(o, "hi");
    if (o.contains("last") && !o["last"].is_null()) {
      r.last = KeyFromJson(o["last"]);
      if (!r.last) return std::nullopt;
    }
    r.rows = o.value("rows", int64_t{0});
    r.done = o.value("done", false);
    s.ranges.push_back(std::move(r));
  }
  if (s.ranges.empty()) return std::nullopt;
  return s;
}

// ---- incremental ----

bool IncrementalState::Seen(const KeyText& row) const { return window_.count(Encode(row)) > 0; }

void IncrementalState::Remember(const KeyText& row, long double rank) {
  window_[Encode(row)] = Entry{row, rank};
}

void IncrementalState::ForgetBelow(long double rank) {
  std::erase_if(window_, [&](const auto& kv) { return kv.second.rank < rank; });
}

std::string IncrementalState::ToJson() const {
  json j = json::object();
  j["last"] = last ? KeyJson(*last) : json(nullptr);
  // Sorted, so that the same window always writes the same text.
  std::vector<const KeyText*> rows;
  rows.reserve(window_.size());
  for (const auto& [k, e] : window_) rows.push_back(&e.row);
  std::sort(rows.begin(), rows.end(), [](const KeyText* a, const KeyText* b) { return *a < *b; });
  json w = json::array();
  for (const KeyText* r : rows) w.push_back(KeyJson(*r));
  j["window"] = std::move(w);
  return j.dump();
}

std::optional<IncrementalState> IncrementalState::FromJson(
    std::string_view text, const std::function<long double(const std::string&)>& rank) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("last")) return std::nullopt;
  IncrementalState s;
  if (!j["last"].is_null()) {
    s.last = KeyFromJson(j["last"]);
    if (!s.last || s.last->empty()) return std::nullopt;
  }
  if (j.contains("window") && j["window"].is_array()) {
    for (const auto& e : j["window"]) {
      auto row = KeyFromJson(e);
      if (!row || row->empty() || !(*row)[0]) return std::nullopt;
      s.Remember(*row, rank(*(*row)[0]));
    }
  }
  return s;
}

}  // namespace sluice::sql
