#include "quality/contract.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "config/options.h"
#include "config/pipeline_config.h"
#include "core/strings.h"
#include "core/values.h"
#include "quality/expr/expr.h"
#include "quality/json_schema_contract.h"
#include "quality/pattern.h"

namespace sluice {

namespace {

const OptionSchema& ContractKeys() {
  static const OptionSchema s = {
      {"contract", OptionType::kString, "", "Contract name."},
      {"version", OptionType::kInt, "1", "Contract version; recorded with every quarantined row."},
      {"columns", OptionType::kMap, "", "Per column: type, required, unique, min, max, min_length, max_length, pattern, enum, not_future, pii."},
      {"rules", OptionType::kAny, "", "Row rules: a list of {name, check}, where check is an expression that must not be false."},
      {"freshness", OptionType::kMap, "", "{column, max_age}: the newest value must be at most this old at the end of a run."},
      {"completeness", OptionType::kMap, "", "{min_rows, max_null_rate: {column: rate}} judged at the end of a run."},
      {"require_pii_masking", OptionType::kBool, "false", "Every column with `pii:` must be masked by a `mask` transform; checked before any data moves."},
      {"on_violation", OptionType::kEnum, "quarantine", "quarantine (default), fail (stop the run), or warn (count and load). A replicate sink defaults to fail: a skipped change breaks the replica.", false, {"quarantine", "fail", "warn"}},
      {"gate", OptionType::kMap, "", "{max_rejected_rate, min_sample}: a commit group rejecting more is rolled back and the run fails."},
      {"schema_evolution", OptionType::kEnum, "evolve", "New columns: evolve (add them), freeze (stop the run), discard_columns (drop their values) or discard_rows (quarantine rows that have them).", false, {"evolve", "freeze", "discard_columns", "discard_rows"}},
  };
  return s;
}

const OptionSchema& ColumnKeys() {
  static const OptionSchema s = {
      {"type", OptionType::kString, "", "bool, int64, float64, decimal(p,s), string, binary, date, time, timestamp, timestamp_tz, json."},
      {"required", OptionType::kBool, "false", "Null or missing values are violations."},
      {"unique", OptionType::kBool, "false", "A value seen before, in this run or an earlier one, is a violation (enforced across runs by a key index)."},
      {"min", OptionType::kString, "", "Smallest allowed number."},
      {"max", OptionType::kString, "", "Largest allowed number."},
      {"min_length", OptionType::kInt, "", "Fewest characters."},
      {"max_length", OptionType::kInt, "", "Most characters."},
      {"pattern", OptionType::kString, "", "RE2 regular expression the text must match (anchor with ^...$)."},
      {"enum", OptionType::kStringList, "", "Allowed values."},
      {"not_future", OptionType::kBool, "false", "Dates and timestamps may not lie in the future."},
      {"pii", OptionType::kString, "", "Kind of personal data held: email, phone, credit_card, iban, ssn, ipv4, ipv6, secret."},
  };
  return s;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

Schema Contract::DeclaredSchema() const {
  Schema s;
  for (const auto& c : columns) {
    if (c.type) s.AddField({c.name, *c.type, !c.required});
  }
  return s;
}

Result<Contract> ContractFromNode(const ConfigNode& root, const std::string& origin) {
  if (!root.IsMap()) return Status::InvalidArgument(origin + ": a contract is a YAML map");
  if (LooksLikeJsonSchema(root)) {
    // Inline YAML cannot tell "1" from 1, which enum and const need; a file keeps them apart.
    return Status::InvalidArgument(origin + ": " + root.Where() +
                                   ": a JSON Schema contract must be a file of its own (contract: path.json)");
  }
  RETURN_IF_ERROR(ValidateOptions(root, ContractKeys(), {}).WithContext(origin));
  Options o(&root, &ContractKeys());
  Contract c;
  if (const ConfigNode* rules = root.Find("rules")) {
    if (!rules->IsList()) return Status::InvalidArgument(origin + ": " + rules->Where() + ": expected a list of {name, check}");
    static const OptionSchema rs = {{"name", OptionType::kString, "", "Rule name, as quarantine records show it.", true},
                                    {"check", OptionType::kString, "", "Expression that each row must not make false.", true}};
    for (const ConfigNode& item : rules->items()) {
      RETURN_IF_ERROR(ValidateOptions(item, rs, {}).WithContext(origin));
      ExprRule rule;
      rule.name = item.Find("name")->scalar();
      rule.check = item.Find("check")->scalar();
      auto e = ParseExpr(rule.check);
      if (!e.ok()) {
        return Status::InvalidArgument(origin + ": " + item.Find("check")->Where() + ": " + e.status().message());
      }
      rule.expr = *e;
      c.rules.push_back(std::move(rule));
    }
  }
  c.file = origin;
  c.name = o.GetString("contract");
  c.version = static_cast<int>(o.GetInt("version"));
  c.on_violation = o.GetString("on_violation");
  c.on_violation_set = root.Find("on_violation") != nullptr;
  c.schema_evolution = o.GetString("schema_evolution");
  c.require_pii_masking = o.GetBool("require_pii_masking");
  if (const ConfigNode* cols = root.Find("columns")) {
    for (const auto& [name, spec] : cols->entries()) {
      ColumnContract cc;
      cc.name = name;
      if (spec.IsScalar()) {  // `id: int64` shorthand
        auto t = DataType::Parse(spec.scalar());
        if (!t.ok()) return Status::InvalidArgument(origin + ": " + spec.Where() + ": " + t.status().message());
        cc.type = *t;
        c.columns.push_back(std::move(cc));
        continue;
      }
      RETURN_IF_ERROR(ValidateOptions(spec, ColumnKeys(), {}).WithContext(origin));
      Options co(&spec, &ColumnKeys());
      if (co.Has("type")) {
        auto t = DataType::Parse(co.GetString("type"));
        if (!t.ok()) return Status::InvalidArgument(origin + ": " + spec.Find("type")->Where() + ": " + t.status().message());
        cc.type = *t;
      }
      cc.required = co.GetBool("required");
      cc.unique = co.GetBool("unique");
      for (const char* k : {"min", "max"}) {
        if (!co.Has(k)) continue;
        auto v = spec.Find(k)->AsDouble();
        if (!v.ok()) return Status::InvalidArgument(origin + ": " + v.status().message());
        (std::string(k) == "min" ? cc.min : cc.max) = *v;
      }
      if (co.Has("min_length")) cc.min_length = co.GetInt("min_length");
      if (co.Has("max_length")) cc.max_length = co.GetInt("max_length");
      cc.pattern = co.GetString("pattern");
      if (!cc.pattern.empty()) {
        RE2 re(cc.pattern, RE2::Quiet);
        if (!re.ok()) {
          return Status::InvalidArgument(origin + ": " + spec.Find("pattern")->Where() + ": invalid pattern: " + re.error());
        }
      }
      cc.enum_values = co.GetList("enum");
      cc.not_future = co.GetBool("not_future");
      cc.pii = co.GetString("pii");
      c.columns.push_back(std::move(cc));
    }
  }
  if (const ConfigNode* f = root.Find("freshness")) {
    static const OptionSchema fs = {{"column", OptionType::kString, "", "Date or timestamp column.", true},
                                    {"max_age", OptionType::kDuration, "", "Largest age of the newest value.", true}};
    RETURN_IF_ERROR(ValidateOptions(*f, fs, {}).WithContext(origin));
    Options fo(f, &fs);
    c.freshness_column = fo.GetString("column");
    c.freshness_max_age_s = fo.GetSeconds("max_age");
  }
  if (const ConfigNode* m = root.Find("completeness")) {
    static const OptionSchema ms = {{"min_rows", OptionType::kInt, "", "Fewest rows a run must load."},
                                    {"max_null_rate", OptionType::kMap, "", "column: largest share of nulls (0..1)."}};
    RETURN_IF_ERROR(ValidateOptions(*m, ms, {}).WithContext(origin));
    Options mo(m, &ms);
    if (mo.Has("min_rows")) c.min_rows = mo.GetInt("min_rows");
    if (const ConfigNode* nr = m->Find("max_null_rate")) {
      for (const auto& [col, v] : nr->entries()) {
        auto rate = v.AsDouble();
        if (!rate.ok()) return Status::InvalidArgument(origin + ": " + rate.status().message());
        c.max_null_rate[col] = *rate;
      }
    }
  }
  if (const ConfigNode* g = root.Find("gate")) {
    static const OptionSchema gs = {{"max_rejected_rate", OptionType::kString, "", "Largest share of rejected rows in a commit group (0..1).", true},
                                    {"min_sample", OptionType::kInt, "1000", "Rows a group needs before the gate judges it."}};
    RETURN_IF_ERROR(ValidateOptions(*g, gs, {}).WithContext(origin));
    Options go(g, &gs);
    auto rate = g->Find("max_rejected_rate")->AsDouble();
    if (!rate.ok()) return Status::InvalidArgument(origin + ": " + rate.status().message());
    c.gate_max_rejected_rate = *rate;
    c.gate_min_sample = go.GetInt("min_sample");
  }
  return c;
}

Result<Contract> LoadContract(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read contract file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) return JsonSchemaContractFromJson(ss.str(), path);
  ASSIGN_OR_RETURN(ConfigNode root, ParseYaml(ss.str(), path));
  if (LooksLikeJsonSchema(root)) return JsonSchemaContractFromYaml(ss.str(), path);
  return ContractFromNode(root, path);
}

// ---------------------------------------------------------------------------------------------

struct ContractChecker::Compiled {
  // Per column contract: its pattern (null when none) and its enum values by length.
  std::vector<std::unique_ptr<PatternMatcher>> patterns;
  std::vector<std::vector<std::vector<std::string_view>>> enums;
  std::vector<std::vector<std::vector<uint64_t>>> enum_words;  // values of up to 8 bytes, zero-padded, by length
  std::vector<std::string> rule_columns;  // per rule: the columns it reads, for the quarantine
  // Rules bound to the schema they were last used with (rebound when the schema changes).
  SchemaPtr bound_schema;
  std::vector<std::shared_ptr<const BoundExpr>> bound_rules;
  // Scratch space kept from batch to batch (fresh pages cost a page fault each).
  std::vector<uint8_t> failed, mask, pass;
  std::vector<int64_t> kept;
};

namespace {

// A value that broke a check. Checks run in contract order and append in that order, so after a
// stable sort by row each row lists its violations in contract order.
struct Violation {
  int64_t row;
  std::string rule, column, reason;
};

// Calls f(i, m[i]) for every m[i] != 0. Failure masks are nearly all zero: skip 8 bytes at a time.
template <typename F>
void ForEachSet(const uint8_t* m, int64_t n, F&& f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, m + i, 8);
    if (w == 0) continue;
    for (int64_t k = i; k < i + 8; ++k) {
      if (m[k]) f(k, m[k]);
    }
  }
  for (; i < n; ++i) {
    if (m[i]) f(i, m[i]);
  }
}

// m[i] = 1 when value i is below the lower bound, 2 when above the upper one, else 0 (also for
// NaN). Null slots get whatever their bytes say; callers skip nulls among the marked rows.
template <bool kMinExclusive, bool kMaxExclusive, typename Load>
void RangeMask(int64_t n, double lo, double hi, Load load, uint8_t* m) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = load(i);
    const bool below = kMinExclusive ? v <= lo : v < lo;
    const bool above = kMaxExclusive ? v >= hi : v > hi;
    m[i] = static_cast<uint8_t>(below | (above << 1));
  }
}

template <typename Load>
void RangeMask(int64_t n, const ColumnContract& cc, Load load, uint8_t* m) {
  // An absent bound is an infinite inclusive one, which no value (not even NaN) breaks.
  const double lo = cc.min ? *cc.min : -HUGE_VAL, hi = cc.max ? *cc.max : HUGE_VAL;
  const bool min_ex = cc.min && cc.min_exclusive, max_ex = cc.max && cc.max_exclusive;
  if (min_ex && max_ex) RangeMask<true, true>(n, lo, hi, load, m);
  else if (min_ex) RangeMask<true, false>(n, lo, hi, load, m);
  else if (max_ex) RangeMask<false, true>(n, lo, hi, load, m);
  else RangeMask<false, false>(n, lo, hi, load, m);
}

// Calls f(i, v) for every non-null value of a string, json or binary column.
template <typename F>
void ForEachBytes(const Column& col, F&& f) {
  const int64_t n = col.length();
  if (n == 0) return;
  const char* data = reinterpret_cast<const char*>(col.values().data());
  const int32_t* off = col.offsets().data();
  if (col.null_count() == 0) {
    for (int64_t i = 0; i < n; ++i) f(i, std::string_view(data + off[i], static_cast<size_t>(off[i + 1] - off[i])));
  } else {
    const uint8_t* valid = col.validity().data();
    for (int64_t i = 0; i < n; ++i) {
      if ((valid[i >> 3] >> (i & 7)) & 1) f(i, std::string_view(data + off[i], static_cast<size_t>(off[i + 1] - off[i])));
    }
  }
}

// Short values compared in place, 8 bytes at a time: a call to memcmp per value costs more.
bool SameBytes(const char* a, const char* b, size_t n) {
  for (; n >= 8; a += 8, b += 8, n -= 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return false;
  }
  for (; n > 0; ++a, ++b, --n) {
    if (*a != *b) return false;
  }
  return true;
}

bool InEnum(const std::vector<std::vector<std::string_view>>& by_len, std::string_view v) {
  if (v.size() >= by_len.size()) return false;
  for (std::string_view e : by_len[v.size()]) {
    if (SameBytes(e.data(), v.data(), v.size())) return true;
  }
  return false;
}

}  // namespace

ContractChecker::ContractChecker(std::shared_ptr<const Contract> contract)
    : contract_(std::move(contract)), compiled_(std::make_unique<Compiled>()) {
  for (const auto& c : contract_->columns) {
    compiled_->patterns.push_back(c.pattern.empty() ? nullptr : std::make_unique<PatternMatcher>(c.pattern));
    std::vector<std::vector<std::string_view>> by_len;
    for (const std::string& v : c.enum_values) {
      if (by_len.size() <= v.size()) by_len.resize(v.size() + 1);
      by_len[v.size()].push_back(v);
    }
    std::vector<std::vector<uint64_t>> words(std::min<size_t>(by_len.size(), 9));
    for (size_t len = 0; len < words.size(); ++len) {
      for (std::string_view e : by_len[len]) {
        uint64_t w = 0;
        std::memcpy(&w, e.data(), e.size());
        words[len].push_back(w);
      }
    }
    compiled_->enums.push_back(std::move(by_len));
    compiled_->enum_words.push_back(std::move(words));
  }
  for (const ExprRule& rule : contract_->rules) compiled_->rule_columns.push_back(Join(ReferencedColumns(*rule.expr), ","));
  for (const auto& [col, rate] : contract_->max_null_rate) stats_.nulls[col] = 0;
}

ContractChecker::~ContractChecker() = default;

Result<RecordBatchPtr> ContractChecker::Check(const RecordBatchPtr& batch, std::vector<RejectedRow>* rejects) {
  const int64_t n = batch->num_rows();
  const Schema& schema = *batch->schema();
  stats_.rows_checked += n;
  // Every check runs over a whole column into a mask; only the rows it marks (few) are visited
  // one by one, to record the violation with its reason.
  std::vector<uint8_t>& failed = compiled_->failed;
  std::vector<uint8_t>& mask = compiled_->mask;
  failed.assign(static_cast<size_t>(n), 0);
  std::vector<Violation> violations;
  auto fail = [&](int64_t i, const char* rule, const std::string& column, std::string reason) {
    failed[static_cast<size_t>(i)] = 1;
    violations.push_back({i, rule, column, "column '" + column + "': " + std::move(reason)});
  };
  auto clear_mask = [&] { mask.assign(static_cast<size_t>(n), 0); };
  const int64_t now = NowMicros();
  for (const auto& [col_name, count] : stats_.nulls) {
    int idx = schema.IndexOf(col_name);
    if (idx < 0) stats_.nulls[col_name] += n;
    else stats_.nulls[col_name] += batch->column(static_cast<size_t>(idx)).null_count();
  }
  if (!contract_->freshness_column.empty()) {
    int idx = schema.IndexOf(contract_->freshness_column);
    if (idx >= 0) {
      const Column& col = batch->column(static_cast<size_t>(idx));
      for (int64_t i = 0; i < n; ++i) {
        if (col.IsNull(i)) continue;
        int64_t v = col.type().id == TypeId::kDate ? static_cast<int64_t>(col.DateAt(i)) * 86400000000LL
                    : col.type().id == TypeId::kTimestamp ? col.Int64At(i)
                                                           : INT64_MIN;
        if (v != INT64_MIN && (!stats_.newest_micros || v > *stats_.newest_micros)) stats_.newest_micros = v;
      }
    }
  }
  for (size_t k = 0; k < contract_->columns.size(); ++k) {
    const ColumnContract& cc = contract_->columns[k];
    int idx = schema.IndexOf(cc.name);
    if (idx < 0) {
      if (cc.required) {
        for (int64_t i = 0; i < n; ++i) fail(i, "required", cc.name, "is missing");
      }
      continue;
    }
    const Column& col = batch->column(static_cast<size_t>(idx));
    const TypeId t = col.type().id;
    const bool numeric = t == TypeId::kInt64 || t == TypeId::kFloat64 || t == TypeId::kDecimal;
    const bool text = t == TypeId::kString || t == TypeId::kJson;
    if (cc.required && col.null_count() > 0) {
      const uint8_t* valid = col.validity().data();
      for (int64_t byte = 0; byte < (n + 7) / 8; ++byte) {
        if (valid[byte] == 0xFF) continue;
        for (int64_t i = byte * 8; i < std::min(n, byte * 8 + 8); ++i) {
          if (col.IsNull(i)) fail(i, "required", cc.name, "is null");
        }
      }
    }
    if (numeric && (cc.min || cc.max) && n > 0) {
      double scale = 1;
      for (int s = 0; s < col.type().scale; ++s) scale *= 10;
      const uint8_t* p = col.values().data();
      mask.resize(static_cast<size_t>(n));
      if (t == TypeId::kInt64) {
        RangeMask(n, cc, [p](int64_t i) { int64_t v; std::memcpy(&v, p + i * 8, 8); return static_cast<double>(v); }, mask.data());
      } else if (t == TypeId::kFloat64) {
        RangeMask(n, cc, [p](int64_t i) { double v; std::memcpy(&v, p + i * 8, 8); return v; }, mask.data());
      } else {
        RangeMask(n, cc, [p, scale](int64_t i) {
          int128_t v;
          std::memcpy(&v, p + i * 16, 16);
          // The same double as converting the 128-bit value, without the slow conversion when it fits 64 bits.
          const auto small = static_cast<int64_t>(v);
          const double d = static_cast<int128_t>(small) == v ? static_cast<double>(small) : static_cast<double>(v);
          return d / scale;
        }, mask.data());
      }
      ForEachSet(mask.data(), n, [&](int64_t i, uint8_t m) {
        if (col.IsNull(i)) return;
        const bool below = m & 1;
        std::string shown;
        AppendValueText(col, i, shown);
        fail(i, below ? "min" : "max", cc.name,
             shown + (below ? (cc.min_exclusive ? " is not above exclusive min " : " is below min ") + FormatFloat64(*cc.min)
                            : (cc.max_exclusive ? " is not below exclusive max " : " is above max ") + FormatFloat64(*cc.max)));
      });
    }
    if (text && (cc.min_length || cc.max_length)) {
      clear_mask();
      ForEachBytes(col, [&](int64_t i, std::string_view v) {
        const auto len = static_cast<int64_t>(CodePoints(v));
        mask[static_cast<size_t>(i)] = static_cast<uint8_t>(cc.min_length && len < *cc.min_length ? 1 : cc.max_length && len > *cc.max_length ? 2 : 0);
      });
      ForEachSet(mask.data(), n, [&](int64_t i, uint8_t m) {
        const std::string len = std::to_string(CodePoints(col.BytesAt(i)));
        if (m == 1) fail(i, "min_length", cc.name, "length " + len + " is below min_length " + std::to_string(*cc.min_length));
        else fail(i, "max_length", cc.name, "length " + len + " is above max_length " + std::to_string(*cc.max_length));
      });
    }
    if (text && compiled_->patterns[k]) {
      clear_mask();
      compiled_->patterns[k]->MarkMismatches(col, mask.data());
      ForEachSet(mask.data(), n, [&](int64_t i, uint8_t) {
        fail(i, "pattern", cc.name, "'" + PrintableExcerpt(col.BytesAt(i), 60) + "' does not match " + cc.pattern);
      });
    }
    if (text && !cc.enum_values.empty()) {
      clear_mask();
      const auto& by_len = compiled_->enums[k];
      const auto& words = compiled_->enum_words[k];
      const char* data_end = reinterpret_cast<const char*>(col.values().data()) + col.values().size();
      ForEachBytes(col, [&](int64_t i, std::string_view v) {
        bool in;
        if (v.size() < words.size() && data_end - v.data() >= 8) {
          // Up to 8 bytes: one load, masked to the value's length, against each allowed value.
          uint64_t w;
          std::memcpy(&w, v.data(), 8);
          if (v.size() < 8) w &= (uint64_t{1} << (8 * v.size())) - 1;
          in = false;
          for (uint64_t x : words[v.size()]) in |= x == w;
        } else {
          in = InEnum(by_len, v);
        }
        mask[static_cast<size_t>(i)] = !in;
      });
      ForEachSet(mask.data(), n, [&](int64_t i, uint8_t) {
        fail(i, "enum", cc.name, "'" + PrintableExcerpt(col.BytesAt(i), 60) + "' is not one of " + Join(cc.enum_values, ", "));
      });
    }
    if (cc.not_future && (t == TypeId::kDate || t == TypeId::kTimestamp) && n > 0) {
      mask.resize(static_cast<size_t>(n));
      const uint8_t* p = col.values().data();
      uint8_t* m = mask.data();
      if (t == TypeId::kDate) {
        for (int64_t i = 0; i < n; ++i) {
          int32_t d;
          std::memcpy(&d, p + i * 4, 4);
          m[i] = static_cast<int64_t>(d) * 86400000000LL > now;
        }
      } else {
        for (int64_t i = 0; i < n; ++i) {
          int64_t v;
          std::memcpy(&v, p + i * 8, 8);
          m[i] = v > now;
        }
      }
      ForEachSet(m, n, [&](int64_t i, uint8_t) {
        if (col.IsNull(i)) return;
        std::string shown;
        AppendValueText(col, i, shown);
        fail(i, "not_future", cc.name, shown + " is in the future");
      });
    }
    if (cc.validator) {
      std::vector<std::pair<int64_t, std::string>> bad;
      RETURN_IF_ERROR(cc.validator->Validate(col, &bad));
      for (auto& [i, why] : bad) fail(i, "schema", cc.name, std::move(why));
    }
    if (cc.unique) {
      auto& seen = seen_keys_[cc.name];
      for (int64_t i = 0; i < n; ++i) {
        if (col.IsNull(i) || failed[static_cast<size_t>(i)]) continue;
        std::string key;
        AppendValueText(col, i, key);
        if (!seen.insert(key).second) fail(i, "unique", cc.name, "'" + PrintableExcerpt(key, 60) + "' was seen before");
      }
    }
  }
  if (!contract_->rules.empty()) {
    if (compiled_->bound_schema != batch->schema()) {
      compiled_->bound_rules.clear();
      for (const ExprRule& rule : contract_->rules) {
        auto bound = BindExpr(*rule.expr, schema);
        if (!bound.ok()) {
          // A rule that cannot apply to the data (a column it names is missing) is a config error.
          return Status::Permanent("contract " + contract_->name + ": rule '" + rule.name + "': " + bound.status().message());
        }
        compiled_->bound_rules.push_back(*bound);
      }
      compiled_->bound_schema = batch->schema();
    }
    std::vector<uint8_t>& pass = compiled_->pass;
    for (size_t k = 0; k < contract_->rules.size(); ++k) {
      const ExprRule& rule = contract_->rules[k];
      RETURN_IF_ERROR(EvalPredicate(*compiled_->bound_rules[k], *batch, &pass));
      // pass[i] is 1 or 0: turn it into a mask of failures in place.
      for (int64_t i = 0; i < n; ++i) pass[static_cast<size_t>(i)] = pass[static_cast<size_t>(i)] == 0;
      ForEachSet(pass.data(), n, [&](int64_t i, uint8_t) {
        failed[static_cast<size_t>(i)] = 1;
        violations.push_back({i, rule.name, compiled_->rule_columns[k], "rule '" + rule.name + "' failed: " + rule.check});
      });
    }
  }
  if (violations.empty()) return batch;
  std::stable_sort(violations.begin(), violations.end(), [](const Violation& a, const Violation& b) { return a.row < b.row; });
  int64_t bad = 0;
  for (size_t v = 0; v < violations.size(); ++v) bad += v == 0 || violations[v].row != violations[v - 1].row;

  if (contract_->on_violation == "warn") {
    warnings_ += bad;
    return batch;
  }
  auto origin = [&](int64_t i) { return RowOriginText(*batch, i); };
  if (contract_->on_violation == "fail") {
    const Violation& first = violations.front();
    return Status::Permanent("contract " + contract_->name + ": " + origin(first.row) + ": " + first.reason +
                             (contract_->on_violation_set
                                  ? " (on_violation: fail)"
                                  : " (a replicate sink stops on a violation: a skipped change breaks the replica; "
                                    "on_violation: quarantine in the contract keeps it aside and marks the stream "
                                    "diverged until it is replayed)"));
  }
  stats_.rows_rejected += bad;
  rejects->reserve(rejects->size() + static_cast<size_t>(bad));
  for (size_t v = 0; v < violations.size();) {
    const int64_t row = violations[v].row;
    RejectedRow r;
    r.stream = batch->stream;
    r.origin = origin(row);
    r.position_key = r.origin + "#contract";
    r.raw = RowJson(*batch, row);
    for (; v < violations.size() && violations[v].row == row; ++v) {
      const Violation& x = violations[v];
      if (!r.rule.empty()) r.rule += ',';
      r.rule += x.rule;
      if (r.column.find(x.column) == std::string::npos) r.column += (r.column.empty() ? "" : ",") + x.column;
      if (!r.reason.empty()) r.reason += "; ";
      r.reason += x.reason;
    }
    rejects->push_back(std::move(r));
  }
  // The rows that pass, in order.
  std::vector<int64_t>& kept = compiled_->kept;
  kept.resize(static_cast<size_t>(n));
  size_t k = 0;
  for (int64_t i = 0; i < n; ++i) {
    kept[k] = i;
    k += failed[static_cast<size_t>(i)] == 0;
  }
  kept.resize(k);
  return SelectRows(batch, kept);
}

std::vector<std::string> ContractChecker::RunLevelFailures(int64_t rows_out) const {
  std::vector<std::string> out;
  if (contract_->min_rows && rows_out < *contract_->min_rows) {
    out.push_back("completeness: the run loaded " + std::to_string(rows_out) + " rows, fewer than min_rows " +
                  std::to_string(*contract_->min_rows));
  }
  for (const auto& [col, max_rate] : contract_->max_null_rate) {
    auto it = stats_.nulls.find(col);
    if (stats_.rows_checked == 0 || it == stats_.nulls.end()) continue;
    double rate = static_cast<double>(it->second) / static_cast<double>(stats_.rows_checked);
    if (rate > max_rate) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "completeness: column '%s' is null in %.2f%% of rows, above max_null_rate %.2f%%",
                    col.c_str(), rate * 100, max_rate * 100);
      out.push_back(buf);
    }
  }
  if (!contract_->freshness_column.empty() && stats_.rows_checked > 0) {
    if (!stats_.newest_micros) {
      out.push_back("freshness: column '" + contract_->freshness_column + "' has no value to judge");
    } else {
      double age_s = static_cast<double>(NowMicros() - *stats_.newest_micros) / 1e6;
      if (age_s > contract_->freshness_max_age_s) {
        out.push_back("freshness: the newest " + contract_->freshness_column + " is " + FormatTimestamp(*stats_.newest_micros, true) +
                      ", older than max_age " + std::to_string(static_cast<int64_t>(contract_->freshness_max_age_s)) + "s");
      }
    }
  }
  return out;
}

}  // namespace sluice
