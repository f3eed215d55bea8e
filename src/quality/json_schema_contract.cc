#include "quality/json_schema_contract.h"

// valijson reports a bad schema by throwing only with this set (otherwise it aborts). It must come
// before its headers; this is the only file of sluice that includes them.
#define VALIJSON_USE_EXCEPTIONS 1
#include <re2/re2.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/constraint_builder.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <vector>

#include "core/strings.h"
#include "core/values.h"

namespace sluice {

namespace {

using json = nlohmann::json;
// The schema document keeps its keys in file order, so the columns keep the order of `properties`.
using ojson = nlohmann::ordered_json;

// ---- errors and JSON pointers --------------------------------------------------------------------

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string Child(const std::string& ptr, std::string_view token) { return ptr + "/" + EscapePointerToken(token); }

// "orders.json: #/properties/age/minimun: unknown keyword 'minimun'"
Status SchemaError(const std::string& origin, const std::string& ptr, const std::string& msg) {
  return Status::InvalidArgument(origin + ": #" + ptr + ": " + msg);
}

template <typename Json>
std::string JsonTypeName(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

// ---- draft-7 keywords ----------------------------------------------------------------------------

// Which JSON types a keyword constrains; kAny applies to every value.
enum class Family { kAnnotation, kAny, kNumeric, kString, kArray, kObject };

const std::map<std::string, Family, std::less<>>& Keywords() {
  static const std::map<std::string, Family, std::less<>> k = {
      {"$schema", Family::kAnnotation}, {"$id", Family::kAnnotation}, {"$comment", Family::kAnnotation},
      {"title", Family::kAnnotation}, {"description", Family::kAnnotation}, {"default", Family::kAnnotation},
      {"examples", Family::kAnnotation}, {"readOnly", Family::kAnnotation}, {"writeOnly", Family::kAnnotation},
      {"contentMediaType", Family::kAnnotation}, {"contentEncoding", Family::kAnnotation},
      {"$ref", Family::kAny}, {"type", Family::kAny}, {"enum", Family::kAny}, {"const", Family::kAny},
      {"allOf", Family::kAny}, {"anyOf", Family::kAny}, {"oneOf", Family::kAny}, {"not", Family::kAny},
      {"if", Family::kAny}, {"then", Family::kAny}, {"else", Family::kAny}, {"definitions", Family::kAny},
      {"multipleOf", Family::kNumeric}, {"minimum", Family::kNumeric}, {"maximum", Family::kNumeric},
      {"exclusiveMinimum", Family::kNumeric}, {"exclusiveMaximum", Family::kNumeric},
      {"minLength", Family::kString}, {"maxLength", Family::kString}, {"pattern", Family::kString},
      {"format", Family::kString},
      {"items", Family::kArray}, {"additionalItems", Family::kArray}, {"contains", Family::kArray},
      {"minItems", Family::kArray}, {"maxItems", Family::kArray}, {"uniqueItems", Family::kArray},
      {"properties", Family::kObject}, {"patternProperties", Family::kObject},
      {"additionalProperties", Family::kObject}, {"required", Family::kObject},
      {"dependencies", Family::kObject}, {"propertyNames", Family::kObject},
      {"minProperties", Family::kObject}, {"maxProperties", Family::kObject},
  };
  return k;
}

const std::set<std::string, std::less<>>& JsonTypes() {
  static const std::set<std::string, std::less<>> t = {"null", "boolean", "integer", "number", "string", "array", "object"};
  return t;
}

bool IsExtension(std::string_view key) { return key.substr(0, 2) == "x-"; }
bool IsSluiceExtension(std::string_view key) { return key.substr(0, 9) == "x-sluice-"; }

// valijson matches `patternProperties` with std::regex (ECMAScript); a regex it cannot compile
// would only surface while rows are checked, so it is compiled once here.
Status CheckEcmaRegex(const std::string& pattern, const std::string& ptr, const std::string& origin) {
  try {
    std::regex re(pattern);
  } catch (const std::regex_error& e) {
    return SchemaError(origin, ptr, "invalid regular expression '" + PrintableExcerpt(pattern, 60) + "': " + e.what());
  }
  return Status::OK();
}

Status CheckSchema(const ojson& s, const std::string& ptr, const std::string& origin, bool top_property, int depth);

Status CheckSchemaList(const ojson& v, const std::string& ptr, const std::string& origin, int depth) {
  if (!v.is_array() || v.empty()) return SchemaError(origin, ptr, "expected a non-empty array of schemas");
  for (size_t i = 0; i < v.size(); ++i) RETURN_IF_ERROR(CheckSchema(v[i], Child(ptr, std::to_string(i)), origin, false, depth + 1));
  return Status::OK();
}

Status CheckSchemaMap(const ojson& v, const std::string& ptr, const std::string& origin, int depth) {
  if (!v.is_object()) return SchemaError(origin, ptr, "expected an object of schemas");
  for (const auto& [name, sub] : v.items()) RETURN_IF_ERROR(CheckSchema(sub, Child(ptr, name), origin, false, depth + 1));
  return Status::OK();
}

Status CheckNonNegativeInt(const ojson& v, const std::string& ptr, const std::string& origin) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0) return SchemaError(origin, ptr, "expected a non-negative integer");
  return Status::OK();
}

Status CheckStringArray(const ojson& v, const std::string& ptr, const std::string& origin) {
  if (!v.is_array()) return SchemaError(origin, ptr, "expected an array of strings");
  for (const auto& item : v) {
    if (!item.is_string()) return SchemaError(origin, ptr, "expected an array of strings, found " + JsonTypeName(item));
  }
  return Status::OK();
}

// One keyword's value: well-formed, and its sub-schemas checked in turn.
Status CheckKeyword(const std::string& k, const ojson& v, const std::string& ptr, const std::string& origin, int depth) {
  if (k == "not" || k == "if" || k == "then" || k == "else" || k == "contains" || k == "propertyNames" ||
      k == "additionalItems" || k == "additionalProperties") {
    return CheckSchema(v, ptr, origin, false, depth + 1);
  }
  if (k == "items") return v.is_array() ? CheckSchemaList(v, ptr, origin, depth) : CheckSchema(v, ptr, origin, false, depth + 1);
  if (k == "allOf" || k == "anyOf" || k == "oneOf") return CheckSchemaList(v, ptr, origin, depth);
  if (k == "properties" || k == "definitions") return CheckSchemaMap(v, ptr, origin, depth);
  if (k == "patternProperties") {
    RETURN_IF_ERROR(CheckSchemaMap(v, ptr, origin, depth));
    for (const auto& [re, sub] : v.items()) RETURN_IF_ERROR(CheckEcmaRegex(re, Child(ptr, re), origin));
    return Status::OK();
  }
  if (k == "dependencies") {
    if (!v.is_object()) return SchemaError(origin, ptr, "expected an object");
    for (const auto& [name, dep] : v.items()) {
      RETURN_IF_ERROR(dep.is_array() ? CheckStringArray(dep, Child(ptr, name), origin)
                                     : CheckSchema(dep, Child(ptr, name), origin, false, depth + 1));
    }
    return Status::OK();
  }
  if (k == "type") {
    std::vector<ojson> names = v.is_array() ? std::vector<ojson>(v.begin(), v.end()) : std::vector<ojson>{v};
    if (names.empty()) return SchemaError(origin, ptr, "expected a type name or a non-empty array of them");
    for (const auto& n : names) {
      if (!n.is_string() || !JsonTypes().count(n.get<std::string>())) {
        return SchemaError(origin, ptr, "unknown type " + n.dump() + " (expected one of null, boolean, integer, number, string, array, object)");
      }
    }
    return Status::OK();
  }
  if (k == "exclusiveMinimum" || k == "exclusiveMaximum") {
    if (v.is_boolean()) return SchemaError(origin, ptr, "is a number in draft 7 (a boolean is draft 4)");
  }
  if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum") {
    if (!v.is_number()) return SchemaError(origin, ptr, "expected a number");
  }
  if (k == "multipleOf" && (!v.is_number() || v.get<double>() <= 0)) return SchemaError(origin, ptr, "expected a number above 0");
  if (k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems" || k == "minProperties" || k == "maxProperties") {
    return CheckNonNegativeInt(v, ptr, origin);
  }
  if (k == "pattern") {
    if (!v.is_string()) return SchemaError(origin, ptr, "expected a string");
    RE2 re(v.get<std::string>(), RE2::Quiet);
    if (!re.ok()) {
      return SchemaError(origin, ptr, "pattern '" + PrintableExcerpt(v.get<std::string>(), 60) + "' is not supported by RE2 (" +
                                          re.error() + "); lookarounds and backreferences are not available");
    }
    return Status::OK();
  }
  if ((k == "format" || k == "$id" || k == "$comment") && !v.is_string()) return SchemaError(origin, ptr, "expected a string");
  if (k == "required") return CheckStringArray(v, ptr, origin);
  if (k == "enum" && (!v.is_array() || v.empty())) return SchemaError(origin, ptr, "expected a non-empty array");
  if (k == "uniqueItems" && !v.is_boolean()) return SchemaError(origin, ptr, "expected true or false");
  return Status::OK();
}

// Walks a (sub)schema before valijson sees it: valijson ignores keywords it does not know, so a
// misspelt one would otherwise pass without a word. Extension keywords (x-...) are annotations,
// except x-sluice-*, which only top-level properties may carry.
Status CheckSchema(const ojson& s, const std::string& ptr, const std::string& origin, bool top_property, int depth) {
  if (depth > 64) return SchemaError(origin, ptr, "schemas nested deeper than 64 levels");
  if (s.is_boolean()) return Status::OK();
  if (!s.is_object()) return SchemaError(origin, ptr, "expected a schema (an object, true or false), found " + JsonTypeName(s));
  const bool has_ref = s.contains("$ref");
  for (const auto& [k, v] : s.items()) {
    const std::string at = Child(ptr, k);
    if (IsSluiceExtension(k) && !top_property) {
      return SchemaError(origin, at, "sluice keywords (x-sluice-...) apply to top-level properties only");
    }
    if (IsExtension(k)) continue;
    auto kw = Keywords().find(k);
    if (kw == Keywords().end()) return SchemaError(origin, at, "unknown keyword '" + k + "'");
    if (has_ref && k != "$ref" && kw->second != Family::kAnnotation) {
      return SchemaError(origin, at, "'" + k + "' beside $ref is ignored in draft 7; combine them with allOf");
    }
    if (k == "$ref") {
      if (!v.is_string()) return SchemaError(origin, at, "expected a string");
      const std::string ref = v.get<std::string>();
      if (ref == "#") return SchemaError(origin, at, "$ref '#' names the whole row; a column's schema cannot contain it");
      if (ref.empty() || ref[0] != '#' || ref[1] != '/') {
        return SchemaError(origin, at, "$ref '" + PrintableExcerpt(ref, 80) + "': only JSON pointers into this file (#/...) are resolved");
      }
      continue;
    }
    RETURN_IF_ERROR(CheckKeyword(k, v, at, origin, depth));
  }
  return Status::OK();
}

// Follows a local $ref chain to the schema it names (in draft 7 a $ref replaces its siblings).
Status ResolveRefs(const ojson& root, const ojson** schema, std::string* ptr, const std::string& origin) {
  for (int hops = 0; (*schema)->is_object() && (*schema)->contains("$ref"); ++hops) {
    const std::string ref = (**schema)["$ref"].get<std::string>();
    if (hops == 32) return SchemaError(origin, *ptr, "$ref chain longer than 32 steps (a cycle?)");
    try {
      *schema = &root.at(ojson::json_pointer(ref.substr(1)));
    } catch (const std::exception&) {
      return SchemaError(origin, Child(*ptr, "$ref"), "$ref '" + PrintableExcerpt(ref, 80) + "' points at nothing in this file");
    }
    *ptr = ref.substr(1);
  }
  return Status::OK();
}

// ---- validating values with valijson ---------------------------------------------------------------

// A column value as the JSON that a JSON Schema validator sees: json columns hold JSON text,
// strings are strings, decimals are numbers, and the other types use their JSON form.
bool ValueAsJson(const Column& col, int64_t i, json* out, std::string& scratch) {
  std::string_view text;
  switch (col.type().id) {
    case TypeId::kString: *out = std::string(col.BytesAt(i)); return true;
    case TypeId::kJson: text = col.BytesAt(i); break;
    case TypeId::kDecimal:
      scratch.clear();
      AppendValueText(col, i, scratch);
      text = scratch;
      break;
    default:
      scratch.clear();
      AppendValueJson(col, i, scratch);
      text = scratch;
  }
  *out = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return !out->is_discarded();
}

// Follows valijson's context ["<root>", "[address]", "[zip]"] into the value: sets *path to
// "address.zip" or "tags[1]" and returns the value found there (null when there is none).
const json* Locate(const std::vector<std::string>& context, const json& value, std::string* path) {
  const json* cur = &value;
  for (size_t k = 1; k < context.size(); ++k) {
    std::string token = context[k];
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
    if (cur && cur->is_array()) {
      *path += "[" + token + "]";
      size_t idx = std::strtoul(token.c_str(), nullptr, 10);
      cur = idx < cur->size() ? &(*cur)[idx] : nullptr;
    } else {
      *path += (path->empty() ? "" : ".") + token;
      cur = cur && cur->is_object() && cur->contains(token) ? &(*cur)[token] : nullptr;
    }
  }
  return cur;
}

// "less than or equal to 100.000000" reads better as "... to 100".
std::string TrimFloatZeros(std::string s) {
  static const std::regex zeros("([0-9])\\.([0-9]*[1-9])?0+\\b");
  s = std::regex_replace(s, zeros, "$1.$2");
  static const std::regex dot("([0-9])\\.(?![0-9])");
  s = std::regex_replace(s, dot, "$1");
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// valijson adds a summary at each enclosing level ("Failed to validate against schema associated
// with property name 'zip'"); when a more precise error sits at or below it, the summary is noise.
bool IsSummary(const std::string& d) {
  for (const char* p : {"Failed to validate against schema associated with", "Failed to validate item #",
                        "Failed to validate against additional properties schema", "Failed to validate against child schema #",
                        "Failed to validate against a conditional schema"}) {
    if (d.rfind(p, 0) == 0) return true;
  }
  return false;
}

bool StartsWith(const std::vector<std::string>& a, const std::vector<std::string>& prefix) {
  return a.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), a.begin());
}

std::string DescribeErrors(const valijson::ValidationResults& results, const json& value) {
  std::vector<valijson::ValidationResults::Error> all(results.begin(), results.end());
  std::vector<std::string> shown;
  for (const auto& e : all) {
    if (IsSummary(e.description) &&
        std::any_of(all.begin(), all.end(), [&](const auto& o) { return !IsSummary(o.description) && StartsWith(o.context, e.context); })) {
      continue;
    }
    std::string d = e.description;
    if (d.rfind("Expected number", 0) == 0 || d.rfind("Value should be a multiple", 0) == 0) d = TrimFloatZeros(d);
    if (!d.empty() && d.back() == '.') d.pop_back();
    std::string path;
    const json* at = Locate(e.context, value, &path);
    if (at && d.rfind("Value type not permitted", 0) == 0) {
      d += " (got " + JsonTypeName(*at) + ")";  // its type, not the value: it may be personal data
    }
    shown.push_back(path.empty() ? d : path + ": " + d);
  }
  shown.erase(std::unique(shown.begin(), shown.end()), shown.end());
  constexpr size_t kMaxShown = 5;
  std::string out;
  for (size_t k = 0; k < shown.size() && k < kMaxShown; ++k) out += (k ? "; " : "") + shown[k];
  if (shown.size() > kMaxShown) out += "; and " + std::to_string(shown.size() - kMaxShown) + " more";
  return out;
}

// The part of a property's schema that the vectorised checks do not cover, compiled once.
class JsonSchemaValidator final : public ColumnValidator {
 public:
  explicit JsonSchemaValidator(std::unique_ptr<valijson::Schema> schema) : schema_(std::move(schema)) {}

  Status Validate(const Column& col, std::vector<std::pair<int64_t, std::string>>* failures) const override {
    valijson::Validator validator;  // caches the compiled `pattern` regexes for this call
    json value;
    std::string scratch;
    try {
      for (int64_t i = 0; i < col.length(); ++i) {
        if (col.IsNull(i)) continue;  // a null is a missing key: `required` judges it
        if (!ValueAsJson(col, i, &value, scratch)) {
          failures->emplace_back(i, "is not valid JSON");
          continue;
        }
        valijson::adapters::NlohmannJsonAdapter target(value);
        // Without a results object valijson stops at the first failure; the full list is only
        // gathered for the rare failing value.
        if (validator.validate(*schema_, target, nullptr)) continue;
        valijson::ValidationResults results;
        validator.validate(*schema_, target, &results);
        failures->emplace_back(i, DescribeErrors(results, value));
      }
    } catch (const std::exception& e) {
      return Status::Permanent(std::string("JSON Schema check could not run: ") + e.what());
    }
    return Status::OK();
  }

 private:
  std::unique_ptr<const valijson::Schema> schema_;
};

// Calls `fn` on each direct sub-schema of the schema `s`.
template <typename Fn>
void ForEachSubschema(ojson& s, const Fn& fn) {
  if (!s.is_object()) return;
  for (auto& [k, v] : s.items()) {
    if (k == "not" || k == "if" || k == "then" || k == "else" || k == "contains" || k == "propertyNames" ||
        k == "additionalItems" || k == "additionalProperties" || (k == "items" && !v.is_array())) {
      fn(v);
    } else if (k == "items" || k == "allOf" || k == "anyOf" || k == "oneOf") {
      for (auto& sub : v) fn(sub);
    } else if (k == "properties" || k == "patternProperties" || k == "definitions" || k == "dependencies") {
      for (auto& [name, sub] : v.items()) {
        if (!sub.is_array()) fn(sub);  // a dependencies entry may be a list of names
      }
    }
  }
}

// `pattern` in nested values, matched with RE2 like a top-level one: in linear time, and without
// the recursion of std::regex (which valijson uses), which a long string drives into a stack
// overflow.
class Re2PatternConstraint final : public valijson::constraints::PolyConstraint {
 public:
  explicit Re2PatternConstraint(std::shared_ptr<const RE2> re) : re_(std::move(re)) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    if (!target.isString() || RE2::PartialMatch(target.asString(), *re_)) return true;
    if (results) results->pushError(context, "does not match pattern '" + re_->pattern() + "'");
    return false;
  }

 private:
  Constraint* cloneInto(void* memory) const override { return new (memory) Re2PatternConstraint(*this); }
  size_t sizeOf() const override { return sizeof(Re2PatternConstraint); }
  std::shared_ptr<const RE2> re_;
};

// `format` date, time and date-time (RFC 3339) in nested values. valijson's own check uses
// std::regex too, accepts 29 February in any year, and ignores that the value may not be a
// string; this one checks strings only and knows the calendar. Other formats are annotations.
class FormatConstraint final : public valijson::constraints::PolyConstraint {
 public:
  explicit FormatConstraint(std::string format) : format_(std::move(format)) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    if (!target.isString() || Valid(target.asString())) return true;
    if (results) results->pushError(context, "is not a valid " + format_ + " (RFC 3339)");
    return false;
  }

 private:
  bool Valid(const std::string& s) const {
    static const RE2 date(R"((\d{4}-\d{2}-\d{2}))");
    static const RE2 time(R"(([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d))");
    static const RE2 date_time(R"((\d{4}-\d{2}-\d{2})[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d))");
    std::string day;
    int32_t days;
    if (format_ == "date") return RE2::FullMatch(s, date, &day) && ParseDate(day, &days);
    if (format_ == "time") return RE2::FullMatch(s, time);
    if (format_ == "date-time") return RE2::FullMatch(s, date_time, &day) && ParseDate(day, &days);
    return true;
  }
  Constraint* cloneInto(void* memory) const override { return new (memory) FormatConstraint(*this); }
  size_t sizeOf() const override { return sizeof(FormatConstraint); }
  std::string format_;
};

constexpr const char* kRe2Pattern = "x-sluice-re2-pattern";
constexpr const char* kFormat = "x-sluice-format";

class Re2PatternBuilder final : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& node) const override {
    return new Re2PatternConstraint(std::make_shared<const RE2>(node.asString(), RE2::Quiet));
  }
};

class FormatBuilder final : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& node) const override {
    return new FormatConstraint(node.asString());
  }
};

// Rewrites a schema for valijson without changing its meaning:
// - `pattern` and `format` go to sluice's own constraints (Re2PatternConstraint, FormatConstraint);
// - valijson applies `multipleOf` to numeric strings ("10"), where draft 7 ignores it:
//   it becomes allOf: [{if: {type: number}, then: {multipleOf: M}}].
void PrepareForValijson(ojson& s) {
  if (!s.is_object()) return;
  ForEachSubschema(s, PrepareForValijson);  // first, so the guard added here is not guarded again
  for (const auto& [from, to] : {std::pair<const char*, const char*>{"pattern", kRe2Pattern}, {"format", kFormat}}) {
    if (auto it = s.find(from); it != s.end()) {
      ojson value = *it;
      s.erase(it);
      s[to] = std::move(value);
    }
  }
  if (auto it = s.find("multipleOf"); it != s.end()) {
    ojson guarded = {{"if", {{"type", "number"}}}, {"then", {{"multipleOf", *it}}}};
    s.erase(it);
    if (!s.contains("allOf")) s["allOf"] = ojson::array();
    s["allOf"].push_back(std::move(guarded));
  }
}

// Compiles `rest` (a property's remaining keywords) with the whole file around it, so that its
// $refs resolve as they would in place: a copy of the file whose root is a $ref to `rest`.
Result<std::shared_ptr<const ColumnValidator>> CompileValidator(const ojson& root, ojson rest, const std::string& ptr,
                                                                const std::string& origin) {
  ojson doc = root;
  doc.erase("x-sluice");
  doc["x-sluice-column"] = std::move(rest);
  doc["$ref"] = "#/x-sluice-column";
  // The only places a $ref can reach: the top level holds no other schema.
  PrepareForValijson(doc["x-sluice-column"]);
  for (const char* k : {"definitions", "properties"}) {
    if (doc.contains(k)) {
      for (auto& [name, sub] : doc[k].items()) PrepareForValijson(sub);
    }
  }
  // valijson's adapter takes nlohmann::json (unordered); order does not matter to validation.
  json plain = json::parse(doc.dump());
  auto schema = std::make_unique<valijson::Schema>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    parser.addConstraintBuilder(kRe2Pattern, new Re2PatternBuilder());  // the parser owns them
    parser.addConstraintBuilder(kFormat, new FormatBuilder());
    valijson::adapters::NlohmannJsonAdapter adapter(plain);
    parser.populateSchema(adapter, *schema);
  } catch (const std::exception& e) {
    return SchemaError(origin, ptr, std::string("invalid schema: ") + e.what());
  }
  return std::shared_ptr<const ColumnValidator>(std::make_shared<JsonSchemaValidator>(std::move(schema)));
}

// ---- mapping a top-level property onto a ColumnContract --------------------------------------------

// What the vectorised checks see of a property's `type`.
enum class Kind { kUntyped, kInteger, kNumber, kBoolean, kString, kTemporal, kJson };

struct TypeInfo {
  Kind kind = Kind::kUntyped;
  bool nullable = false;
  std::set<std::string> types;  // without "null"
  std::string format;           // date-time, date or time for kTemporal
};

TypeInfo ReadTypes(const ojson& s) {
  TypeInfo t;
  auto it = s.find("type");
  if (it != s.end()) {
    if (it->is_string()) t.types.insert(it->get<std::string>());
    else for (const auto& n : *it) t.types.insert(n.get<std::string>());
  }
  t.nullable = t.types.erase("null") > 0;
  if (t.types.count("integer") && t.types.count("number")) t.types.erase("integer");  // integer ⊂ number
  if (t.types.empty()) return t;
  if (t.types.size() > 1) {
    t.kind = Kind::kJson;
    return t;
  }
  const std::string& only = *t.types.begin();
  t.kind = only == "integer" ? Kind::kInteger : only == "number" ? Kind::kNumber : only == "boolean" ? Kind::kBoolean
           : only == "string" ? Kind::kString : Kind::kJson;
  auto f = s.find("format");
  if (t.kind == Kind::kString && f != s.end() && f->is_string()) {
    const std::string fmt = f->get<std::string>();
    if (fmt == "date-time" || fmt == "date" || fmt == "time") {
      t.kind = Kind::kTemporal;
      t.format = fmt;
    }
  }
  return t;
}

std::string TypeText(const TypeInfo& t) {
  if (t.kind == Kind::kTemporal) return "string (format " + t.format + ")";
  return Join(std::vector<std::string>(t.types.begin(), t.types.end()), "|");
}

bool Applies(Family f, const TypeInfo& t) {
  if (t.kind == Kind::kUntyped) return true;
  switch (f) {
    case Family::kNumeric: return t.types.count("integer") || t.types.count("number");
    case Family::kString: return t.types.count("string") > 0;
    case Family::kArray: return t.types.count("array") > 0;
    case Family::kObject: return t.types.count("object") > 0;
    default: return true;
  }
}

// Top-level string formats that become an RE2 pattern (valijson checks only date, time and
// date-time, and lets every other format pass).
const std::map<std::string, std::string, std::less<>>& FormatPatterns() {
  static const std::map<std::string, std::string, std::less<>> p = {
      {"email", R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)"},
      {"uuid", R"(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)"},
      {"ipv4", R"(^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$)"},
      {"hostname", R"(^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$)"},
  };
  return p;
}

// Narrows a bound: the stricter of two lower (or upper) bounds wins.
void Tighten(std::optional<double>& bound, bool& exclusive, double v, bool excl, bool lower) {
  const bool stricter = !bound || (lower ? v > *bound : v < *bound) || (v == *bound && excl);
  if (stricter) {
    bound = v;
    exclusive = excl;
  }
}

class PropertyMapper {
 public:
  PropertyMapper(const ojson& root, const std::string& origin) : root_(root), origin_(origin) {}

  Result<ColumnContract> Map(const std::string& name, const ojson& prop, bool in_required) {
    cc_ = ColumnContract{};
    cc_.name = name;
    rest_ = ojson::object();
    format_ = {};
    enum_mapped_ = false;
    const std::string prop_ptr = Child("/properties", name);
    const ojson* target = &prop;
    std::string ptr = prop_ptr;
    RETURN_IF_ERROR(ResolveRefs(root_, &target, &ptr, origin_));
    if (target->is_boolean()) {
      // true accepts anything; false refuses every non-null value.
      cc_.required = in_required;
      if (!target->get<bool>()) {
        ASSIGN_OR_RETURN(cc_.validator, CompileValidator(root_, *target, ptr, origin_));
      }
      return cc_;
    }
    info_ = ReadTypes(*target);
    cc_.type = ColumnType();
    // A null is a missing key to sluice; `required` makes it a violation unless the type allows null.
    cc_.required = in_required && !info_.nullable;
    for (const auto& [k, v] : target->items()) {
      if (IsExtension(k)) continue;
      RETURN_IF_ERROR(MapKeyword(k, v, Child(ptr, k)));
    }
    RETURN_IF_ERROR(FinishStringChecks());
    if (prop.is_object()) {
      for (const auto& [k, v] : prop.items()) {
        if (IsSluiceExtension(k)) RETURN_IF_ERROR(MapExtension(k, v, Child(prop_ptr, k)));
      }
    }
    if (!rest_.empty()) {
      ASSIGN_OR_RETURN(cc_.validator, CompileValidator(root_, std::move(rest_), ptr, origin_));
    }
    return cc_;
  }

 private:
  std::optional<DataType> ColumnType() const {
    switch (info_.kind) {
      case Kind::kUntyped: return std::nullopt;
      case Kind::kInteger: return DataType::Int64();
      case Kind::kNumber: return DataType::Float64();
      case Kind::kBoolean: return DataType::Bool();
      case Kind::kString: return DataType::String();
      case Kind::kJson: return DataType::Json();
      case Kind::kTemporal:
        return info_.format == "date" ? DataType::Date() : info_.format == "time" ? DataType::Time() : DataType::Timestamp(true);
    }
    return std::nullopt;
  }

  bool Scalar() const {
    return info_.kind != Kind::kUntyped && info_.kind != Kind::kJson;
  }

  Status MapKeyword(const std::string& k, const ojson& v, const std::string& at) {
    const Family family = Keywords().at(k);
    if (family == Family::kAnnotation) return Status::OK();
    if (!Applies(family, info_)) {
      return SchemaError(origin_, at, "'" + k + "' has no effect on a property of type " + TypeText(info_));
    }
    if (k == "type") {
      if (!Scalar()) rest_[k] = v;  // a json column takes any JSON value: valijson checks the type
      return Status::OK();
    }
    if (info_.kind == Kind::kTemporal) {
      if (k == "format") return Status::OK();
      return SchemaError(origin_, at, "'" + k + "' is not supported on a " + info_.format +
                                          " property: the column holds parsed " + cc_.type->ToString() + " values, not text");
    }
    if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum") {
      if (!Scalar()) {
        rest_[k] = v;
      } else if (k == "minimum" || k == "exclusiveMinimum") {
        Tighten(cc_.min, cc_.min_exclusive, v.get<double>(), k == "exclusiveMinimum", true);
      } else {
        Tighten(cc_.max, cc_.max_exclusive, v.get<double>(), k == "exclusiveMaximum", false);
      }
      return Status::OK();
    }
    if (info_.kind == Kind::kString) {
      if (k == "minLength") cc_.min_length = v.get<int64_t>();
      else if (k == "maxLength") cc_.max_length = v.get<int64_t>();
      else if (k == "pattern") return MapPattern(v.get<std::string>(), at);
      else if (k == "format") format_ = {v.get<std::string>(), at};
      else if (Status st; (k == "enum" || k == "const") && MapEnum(k, v, at, &st)) return st;
      else rest_[k] = v;
      return Status::OK();
    }
    if (k == "format") {
      const std::string f = v.get<std::string>();
      if (f != "date-time" && f != "date" && f != "time") {
        return SchemaError(origin_, at, "format '" + f + "' is not checked here; give the property \"type\": \"string\" or use pattern");
      }
    }
    rest_[k] = v;
    return Status::OK();
  }

  Status MapPattern(const std::string& pattern, const std::string& at) {
    RE2 re(pattern, RE2::Quiet);
    if (!re.ok()) {
      return SchemaError(origin_, at, "pattern '" + PrintableExcerpt(pattern, 60) + "' is not supported by RE2 (" + re.error() +
                                          "); lookarounds and backreferences are not available");
    }
    cc_.pattern = pattern;
    return Status::OK();
  }

  // enum and const of strings are the vectorised `enum`; any other value (a number, null, an
  // object) needs JSON equality and stays with valijson. Returns whether it was mapped.
  bool MapEnum(const std::string& k, const ojson& v, const std::string& at, Status* st) {
    std::vector<std::string> values;
    for (const auto& item : k == "const" ? ojson::array({v}) : v) {
      if (item.is_null()) continue;  // nulls never reach the check
      if (!item.is_string()) return false;
      values.push_back(item.get<std::string>());
    }
    if (values.empty()) return false;
    if (enum_mapped_) {  // enum and const together: a value must satisfy both
      std::vector<std::string> both;
      for (const auto& x : cc_.enum_values) {
        if (std::find(values.begin(), values.end(), x) != values.end()) both.push_back(x);
      }
      values = std::move(both);
      if (values.empty()) *st = SchemaError(origin_, at, "enum and const have no value in common: no value could pass");
    }
    cc_.enum_values = std::move(values);
    enum_mapped_ = true;
    return true;
  }

  // `format` on a plain string is one more pattern; the column has one, so a property may have
  // either `pattern` or such a format, not both.
  Status FinishStringChecks() {
    if (format_.first.empty()) return Status::OK();
    auto [f, at] = std::exchange(format_, {});
    auto p = FormatPatterns().find(f);
    if (p == FormatPatterns().end()) {
      return SchemaError(origin_, at, "format '" + f + "' is not checked by sluice (it checks date-time, date, time, email, uuid, ipv4, hostname); use pattern");
    }
    if (!cc_.pattern.empty()) {
      return SchemaError(origin_, at, "format '" + f + "' and pattern cannot both be checked on one column; fold the format into the pattern");
    }
    cc_.pattern = p->second;
    return Status::OK();
  }

  Status MapExtension(const std::string& k, const ojson& v, const std::string& at) {
    if (k == "x-sluice-unique" || k == "x-sluice-not-future") {
      if (!v.is_boolean()) return SchemaError(origin_, at, "expected true or false");
      if (k == "x-sluice-unique") cc_.unique = v.get<bool>();
      else if (!v.get<bool>()) return Status::OK();
      else if (!cc_.type || (cc_.type->id != TypeId::kDate && cc_.type->id != TypeId::kTimestamp)) {
        return SchemaError(origin_, at, "applies to format date or date-time properties only");
      } else {
        cc_.not_future = true;
      }
      return Status::OK();
    }
    if (k == "x-sluice-pii") {
      if (!v.is_string() || v.get<std::string>().empty()) return SchemaError(origin_, at, "expected the kind of personal data (email, phone ...)");
      cc_.pii = v.get<std::string>();
      return Status::OK();
    }
    if (k == "x-sluice-type") return MapSluiceType(v, at);
    return SchemaError(origin_, at, "unknown keyword '" + k + "' (sluice reads x-sluice-unique, x-sluice-pii, x-sluice-not-future, x-sluice-type)");
  }

  // x-sluice-type refines a JSON type into a sluice type JSON Schema cannot name: decimal(p,s)
  // for money, timestamp without a zone.
  Status MapSluiceType(const ojson& v, const std::string& at) {
    if (!v.is_string()) return SchemaError(origin_, at, "expected a type name such as \"decimal(12,2)\"");
    auto t = DataType::Parse(v.get<std::string>());
    if (!t.ok()) return SchemaError(origin_, at, t.status().message());
    const bool fits = (info_.kind == Kind::kInteger && (t->id == TypeId::kInt64 || t->id == TypeId::kDecimal)) ||
                      (info_.kind == Kind::kNumber && (t->id == TypeId::kFloat64 || t->id == TypeId::kDecimal)) ||
                      (info_.kind == Kind::kTemporal && info_.format == "date-time" && t->id == TypeId::kTimestamp);
    if (!fits) {
      return SchemaError(origin_, at, "'" + t->ToString() + "' does not refine type " + (info_.kind == Kind::kUntyped ? "(none)" : TypeText(info_)) +
                                          " (decimal for integer or number, timestamp for date-time)");
    }
    cc_.type = *t;
    return Status::OK();
  }

  const ojson& root_;
  const std::string& origin_;
  TypeInfo info_;
  ColumnContract cc_;
  ojson rest_;
  std::pair<std::string, std::string> format_;  // value, pointer
  bool enum_mapped_ = false;
};

// ---- the top level -----------------------------------------------------------------------------

Status CheckDraft(const ojson& root, const std::string& origin) {
  auto it = root.find("$schema");
  if (it == root.end()) return Status::OK();  // draft 7 assumed
  if (!it->is_string()) return SchemaError(origin, "/$schema", "expected a string");
  std::string s = it->get<std::string>();
  while (!s.empty() && s.back() == '#') s.pop_back();
  if (s == "http://json-schema.org/draft-07/schema" || s == "https://json-schema.org/draft-07/schema") return Status::OK();
  std::string why = s.find("2019-09") != std::string::npos || s.find("2020-12") != std::string::npos
                        ? "valijson, which sluice uses, implements drafts 3, 4 and 7 only"
                        : "its keywords differ from draft 7's";
  return SchemaError(origin, "/$schema", "'" + PrintableExcerpt(s, 80) + "' is not supported (" + why +
                                             "); sluice reads JSON Schema draft 7: \"$schema\": \"http://json-schema.org/draft-07/schema#\"");
}

// JSON to ConfigNode, so that `x-sluice` goes through the YAML contract's own parser and errors.
ConfigNode ToConfigNode(const ojson& v, const std::string& path) {
  ConfigNode n;
  if (v.is_object()) {
    n.SetKind(ConfigNode::Kind::kMap);
    for (const auto& [k, sub] : v.items()) n.AddEntry(k, ToConfigNode(sub, path.empty() ? k : path + "." + k));
  } else if (v.is_array()) {
    n.SetKind(ConfigNode::Kind::kList);
    for (size_t i = 0; i < v.size(); ++i) n.AddItem(ToConfigNode(v[i], path + "[" + std::to_string(i) + "]"));
  } else if (v.is_string()) {
    n.SetScalar(v.get<std::string>());
  } else if (!v.is_null()) {
    n.SetScalar(v.dump());
  }
  n.SetLocation(path, 0);
  return n;
}

Result<Contract> ContractLevelSettings(const ojson& root, const std::string& origin) {
  auto it = root.find("x-sluice");
  if (it == root.end()) {
    Contract c;
    c.file = origin;
    return c;
  }
  if (!it->is_object()) return SchemaError(origin, "/x-sluice", "expected an object of contract settings");
  if (it->contains("columns") || it->contains("properties")) {
    return SchemaError(origin, "/x-sluice/columns", "columns come from the top-level properties");
  }
  return ContractFromNode(ToConfigNode(*it, "x-sluice"), origin);
}

Status CheckTopLevel(const ojson& root, const std::string& origin) {
  for (const auto& [k, v] : root.items()) {
    const std::string at = Child("", k);
    if (IsExtension(k)) {
      if (IsSluiceExtension(k) || (k.rfind("x-sluice", 0) == 0 && k != "x-sluice")) {
        return SchemaError(origin, at, "unknown keyword '" + k + "' (contract settings go in x-sluice)");
      }
      continue;
    }
    auto kw = Keywords().find(k);
    if (kw == Keywords().end()) {
      const bool yaml_contract = k == "contract" || k == "columns" || k == "rules";
      return SchemaError(origin, at, "unknown keyword '" + k + "'" +
                                         (yaml_contract ? " (a .json contract is a JSON Schema; a sluice contract with columns: is YAML)" : ""));
    }
    if (k == "type") {
      if (v != ojson("object") && v != ojson::array({"object"})) return SchemaError(origin, at, "a row is an object: expected \"object\"");
    } else if (k == "additionalProperties") {
      if (v != ojson(true) && v != ojson::object()) {
        return SchemaError(origin, at, "columns beyond the properties are governed by x-sluice.schema_evolution (freeze, discard_columns or discard_rows), not additionalProperties");
      }
    } else if (k == "definitions") {
      RETURN_IF_ERROR(CheckSchemaMap(v, at, origin, 0));
    } else if (k == "properties") {
      if (!v.is_object()) return SchemaError(origin, at, "expected an object: column name to schema");
      for (const auto& [name, sub] : v.items()) RETURN_IF_ERROR(CheckSchema(sub, Child(at, name), origin, true, 1));
    } else if (k == "required") {
      RETURN_IF_ERROR(CheckStringArray(v, at, origin));
    } else if (kw->second != Family::kAnnotation) {
      return SchemaError(origin, at, "'" + k + "' at the top level constrains whole rows, and sluice checks a JSON Schema column by column: "
                                     "move it into a property, or write a row rule in x-sluice.rules");
    } else {
      RETURN_IF_ERROR(CheckKeyword(k, v, at, origin, 0));
    }
  }
  return Status::OK();
}

Result<Contract> ContractFromSchema(const ojson& root, const std::string& origin) {
  if (!root.is_object()) return SchemaError(origin, "", "a JSON Schema contract is an object, found " + JsonTypeName(root));
  RETURN_IF_ERROR(CheckDraft(root, origin));
  RETURN_IF_ERROR(CheckTopLevel(root, origin));
  ASSIGN_OR_RETURN(Contract c, ContractLevelSettings(root, origin));
  if (c.name.empty() && root.contains("title") && root["title"].is_string()) c.name = root["title"].get<std::string>();
  std::vector<std::string> required;
  if (root.contains("required")) required = root["required"].get<std::vector<std::string>>();
  auto is_required = [&](const std::string& name) { return std::find(required.begin(), required.end(), name) != required.end(); };
  PropertyMapper mapper(root, origin);
  if (root.contains("properties")) {
    for (const auto& [name, prop] : root["properties"].items()) {
      ASSIGN_OR_RETURN(ColumnContract cc, mapper.Map(name, prop, is_required(name)));
      c.columns.push_back(std::move(cc));
    }
  }
  // A required name without a property: a column that must be present, of any type.
  for (const std::string& name : required) {
    if (root.contains("properties") && root["properties"].contains(name)) continue;
    ColumnContract cc;
    cc.name = name;
    cc.required = true;
    c.columns.push_back(std::move(cc));
  }
  return c;
}

// ---- YAML to JSON ------------------------------------------------------------------------------

// A plain (unquoted) YAML scalar typed as YAML 1.2's core schema does; quoted ones are strings.
ojson PlainScalar(const std::string& s) {
  static const std::set<std::string, std::less<>> nulls = {"", "~", "null", "Null", "NULL"};
  if (nulls.count(s)) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const RE2 int_re(R"([-+]?[0-9]+)");
  static const RE2 float_re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (RE2::FullMatch(s, int_re)) {
    int64_t v;
    const char* b = s.data() + (s[0] == '+');
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  if (RE2::FullMatch(s, float_re)) return std::strtod(s.c_str(), nullptr);
  return s;
}

ojson YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      ojson o = ojson::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      ojson a = ojson::array();
      for (const auto& item : n) a.push_back(YamlToJson(item));
      return a;
    }
    case YAML::NodeType::Scalar:
      return n.Tag() == "?" ? PlainScalar(n.Scalar()) : ojson(n.Scalar());
    default: return nullptr;
  }
}

}  // namespace

bool LooksLikeJsonSchema(const ConfigNode& root) {
  return root.IsMap() && (root.Find("$schema") || root.Find("properties"));
}

Result<Contract> JsonSchemaContractFromJson(std::string_view text, const std::string& origin) {
  ojson root;
  try {
    root = ojson::parse(text.begin(), text.end());
  } catch (const ojson::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string what = e.what();
    auto at = what.find("parse error");
    return Status::InvalidArgument(origin + ": invalid JSON: " + (at == std::string::npos ? what : what.substr(at)));
  }
  return ContractFromSchema(root, origin);
}

Result<Contract> JsonSchemaContractFromYaml(std::string_view text, const std::string& origin) {
  ojson root;
  try {
    root = YamlToJson(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(origin + ": invalid YAML: " + e.what());
  }
  return ContractFromSchema(root, origin);
}

}  // namespace sluice
