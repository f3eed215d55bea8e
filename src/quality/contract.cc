#include "quality/contract.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "config/options.h"
#include "config/pipeline_config.h"
#include "core/strings.h"
#include "core/values.h"
#include "quality/expr/expr.h"
#include "quality/json_schema_contract.h"

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
      {"on_violation", OptionType::kEnum, "quarantine", "quarantine (default), fail (stop the run), or warn (count and load).", false, {"quarantine", "fail", "warn"}},
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
  std::vector<std::unique_ptr<RE2>> patterns;  // per column contract (null when none)
  // Rules bound to the schema they were last used with (rebound when the schema changes).
  SchemaPtr bound_schema;
  std::vector<std::shared_ptr<const BoundExpr>> bound_rules;
};

ContractChecker::ContractChecker(std::shared_ptr<const Contract> contract)
    : contract_(std::move(contract)), compiled_(std::make_unique<Compiled>()) {
  for (const auto& c : contract_->columns) {
    compiled_->patterns.push_back(c.pattern.empty() ? nullptr : std::make_unique<RE2>(c.pattern, RE2::Quiet));
  }
  for (const auto& [col, rate] : contract_->max_null_rate) stats_.nulls[col] = 0;
}

ContractChecker::~ContractChecker() = default;

Result<RecordBatchPtr> ContractChecker::Check(const RecordBatchPtr& batch, std::vector<RejectedRow>* rejects) {
  const int64_t n = batch->num_rows();
  const Schema& schema = *batch->schema();
  stats_.rows_checked += n;
  // Per failing row: the violated rules, columns and reasons.
  std::vector<uint8_t> failed(static_cast<size_t>(n), 0);
  std::map<int64_t, std::vector<std::array<std::string, 3>>> violations;
  auto fail = [&](int64_t i, const char* rule, const std::string& column, std::string reason) {
    failed[static_cast<size_t>(i)] = 1;
    violations[i].push_back({rule, column, "column '" + column + "': " + std::move(reason)});
  };
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
      for (int64_t i = 0; i < n; ++i) {
        if (col.IsNull(i)) fail(i, "required", cc.name, "is null");
      }
    }
    if (numeric && (cc.min || cc.max)) {
      double scale = 1;
      for (int s = 0; s < col.type().scale; ++s) scale *= 10;
      for (int64_t i = 0; i < n; ++i) {
        if (col.IsNull(i)) continue;
        double v = t == TypeId::kInt64 ? static_cast<double>(col.Int64At(i))
                   : t == TypeId::kFloat64 ? col.Float64At(i)
                                           : static_cast<double>(col.DecimalAt(i)) / scale;
        const bool below = cc.min && (cc.min_exclusive ? v <= *cc.min : v < *cc.min);
        const bool above = cc.max && (cc.max_exclusive ? v >= *cc.max : v > *cc.max);
        if (below || above) {
          std::string shown;
          AppendValueText(col, i, shown);
          fail(i, below ? "min" : "max", cc.name,
               shown + (below ? (cc.min_exclusive ? " is not above exclusive min " : " is below min ") + FormatFloat64(*cc.min)
                              : (cc.max_exclusive ? " is not below exclusive max " : " is above max ") + FormatFloat64(*cc.max)));
        }
      }
    }
    if (text && (cc.min_length || cc.max_length || compiled_->patterns[k] || !cc.enum_values.empty())) {
      for (int64_t i = 0; i < n; ++i) {
        if (col.IsNull(i)) continue;
        std::string_view v = col.BytesAt(i);
        if (cc.min_length || cc.max_length) {
          int64_t len = static_cast<int64_t>(CodePoints(v));
          if (cc.min_length && len < *cc.min_length) {
            fail(i, "min_length", cc.name, "length " + std::to_string(len) + " is below min_length " + std::to_string(*cc.min_length));
          } else if (cc.max_length && len > *cc.max_length) {
            fail(i, "max_length", cc.name, "length " + std::to_string(len) + " is above max_length " + std::to_string(*cc.max_length));
          }
        }
        if (compiled_->patterns[k] && !RE2::PartialMatch(v, *compiled_->patterns[k])) {
          fail(i, "pattern", cc.name, "'" + PrintableExcerpt(v, 60) + "' does not match " + cc.pattern);
        }
        if (!cc.enum_values.empty() &&
            std::find(cc.enum_values.begin(), cc.enum_values.end(), v) == cc.enum_values.end()) {
          fail(i, "enum", cc.name, "'" + PrintableExcerpt(v, 60) + "' is not one of " + Join(cc.enum_values, ", "));
        }
      }
    }
    if (cc.not_future && (t == TypeId::kDate || t == TypeId::kTimestamp)) {
      for (int64_t i = 0; i < n; ++i) {
        if (col.IsNull(i)) continue;
        bool future = t == TypeId::kDate ? static_cast<int64_t>(col.DateAt(i)) * 86400000000LL > now
                                         : col.Int64At(i) > now;
        if (future) {
          std::string shown;
          AppendValueText(col, i, shown);
          fail(i, "not_future", cc.name, shown + " is in the future");
        }
      }
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
    std::vector<uint8_t> pass;
    for (size_t k = 0; k < contract_->rules.size(); ++k) {
      const ExprRule& rule = contract_->rules[k];
      RETURN_IF_ERROR(EvalPredicate(*compiled_->bound_rules[k], *batch, &pass));
      std::string columns = Join(ReferencedColumns(*rule.expr), ",");
      for (int64_t i = 0; i < n; ++i) {
        if (!pass[static_cast<size_t>(i)]) {
          failed[static_cast<size_t>(i)] = 1;
          violations[i].push_back({rule.name, columns, "rule '" + rule.name + "' failed: " + rule.check});
        }
      }
    }
  }
  if (violations.empty()) return batch;

  const int64_t bad = static_cast<int64_t>(violations.size());
  if (contract_->on_violation == "warn") {
    warnings_ += bad;
    return batch;
  }
  auto origin = [&](int64_t i) { return RowOriginText(*batch, i); };
  if (contract_->on_violation == "fail") {
    const auto& [row, list] = *violations.begin();
    return Status::Permanent("contract " + contract_->name + ": " + origin(row) + ": " + list.front()[2] +
                             " (on_violation: fail)");
  }
  stats_.rows_rejected += bad;
  for (const auto& [row, list] : violations) {
    RejectedRow r;
    r.stream = batch->stream;
    r.origin = origin(row);
    r.position_key = r.origin + "#contract";
    r.raw = RowJson(*batch, row);
    for (const auto& v : list) {
      r.rule += (r.rule.empty() ? "" : ",") + v[0];
      if (r.column.find(v[1]) == std::string::npos) r.column += (r.column.empty() ? "" : ",") + v[1];
      r.reason += (r.reason.empty() ? "" : "; ") + v[2];
    }
    rejects->push_back(std::move(r));
  }
  // The rows that pass, in order.
  std::vector<int64_t> kept;
  kept.reserve(static_cast<size_t>(n - bad));
  for (int64_t i = 0; i < n; ++i) {
    if (!failed[static_cast<size_t>(i)]) kept.push_back(i);
  }
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
