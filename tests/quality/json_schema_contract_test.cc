#include "quality/json_schema_contract.h"

#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

Contract Load(const std::string& schema) {
  auto c = JsonSchemaContractFromJson(schema, "c.json");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Contract{};
}

std::string LoadError(const std::string& schema) {
  auto c = JsonSchemaContractFromJson(schema, "c.json");
  EXPECT_FALSE(c.ok()) << schema;
  return c.ok() ? "" : c.status().message();
}

const ColumnContract& Col(const Contract& c, const std::string& name) {
  for (const auto& cc : c.columns) {
    if (cc.name == name) return cc;
  }
  static const ColumnContract none;
  ADD_FAILURE() << "no column " << name;
  return none;
}

// One row per entry: an int64 `id` and a json `user` (JSON text, or null when empty).
RecordBatchPtr Users(const std::vector<std::pair<int64_t, std::string>>& rows) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"id", DataType::Int64()}, {"user", DataType::Json()}});
  RecordBatchBuilder b(schema);
  int64_t line = 1;
  for (const auto& [id, user] : rows) {
    b.column(0).AppendInt64(id);
    if (user.empty()) b.column(1).AppendNull();
    else b.column(1).AppendBytes(user);
    b.CommitRow(line++);
  }
  return b.Finish("users", "users.jsonl");
}

const char* kFlat = R"json({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "orders",
  "type": "object",
  "required": ["id", "note", "code"],
  "properties": {
    "id":      { "type": "integer", "minimum": 1, "exclusiveMaximum": 1000, "x-sluice-unique": true },
    "score":   { "type": "number", "exclusiveMinimum": 0, "maximum": 1.5 },
    "tight":   { "type": "number", "minimum": 5, "exclusiveMinimum": 5 },
    "ok":      { "type": "boolean", "description": "annotations pass" },
    "email":   { "type": ["string", "null"], "format": "email", "x-sluice-pii": "email", "x-vendor": 1 },
    "code":    { "type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[A-Z]+$" },
    "status":  { "type": "string", "enum": ["new", "paid", null] },
    "kind":    { "const": "order", "type": "string" },
    "at":      { "type": "string", "format": "date-time", "x-sluice-not-future": true },
    "local":   { "type": "string", "format": "date-time", "x-sluice-type": "timestamp" },
    "day":     { "type": "string", "format": "date" },
    "clock":   { "type": "string", "format": "time" },
    "amount":  { "type": "number", "x-sluice-type": "decimal(12,2)", "minimum": 0 },
    "qty":     { "type": "integer", "enum": [1, 2, 3] },
    "step":    { "type": "integer", "multipleOf": 5 },
    "payload": { "type": ["object", "array"] },
    "note":    { "type": ["string", "null"] },
    "any":     {}
  }
})json";

TEST(JsonSchemaContract, MapsTypesAndFlatKeywordsOntoColumnChecks) {
  Contract c = Load(kFlat);
  EXPECT_EQ(c.name, "orders");  // title, when x-sluice names no contract
  EXPECT_EQ(c.DeclaredSchema().ToString(),
            "id int64, score float64?, tight float64?, ok bool?, email string?, code string, status string?, kind string?, "
            "at timestamp_tz?, local timestamp?, day date?, clock time?, amount decimal(12,2)?, qty int64?, step int64?, "
            "payload json?, note string?");
  const ColumnContract& id = Col(c, "id");
  EXPECT_TRUE(id.required);
  EXPECT_TRUE(id.unique);
  EXPECT_EQ(*id.min, 1);
  EXPECT_FALSE(id.min_exclusive);
  EXPECT_EQ(*id.max, 1000);
  EXPECT_TRUE(id.max_exclusive);
  EXPECT_EQ(id.validator, nullptr);  // everything maps onto the vectorised checks
  EXPECT_TRUE(Col(c, "score").min_exclusive);
  EXPECT_EQ(*Col(c, "score").max, 1.5);
  EXPECT_EQ(*Col(c, "tight").min, 5);  // the stricter bound wins
  EXPECT_TRUE(Col(c, "tight").min_exclusive);
  EXPECT_FALSE(Col(c, "email").required);
  EXPECT_EQ(Col(c, "email").pii, "email");
  EXPECT_NE(Col(c, "email").pattern.find('@'), std::string::npos);
  const ColumnContract& code = Col(c, "code");
  EXPECT_TRUE(code.required);
  EXPECT_EQ(*code.min_length, 2);
  EXPECT_EQ(*code.max_length, 4);
  EXPECT_EQ(code.pattern, "^[A-Z]+$");
  EXPECT_EQ(Col(c, "status").enum_values, (std::vector<std::string>{"new", "paid"}));
  EXPECT_EQ(Col(c, "kind").enum_values, (std::vector<std::string>{"order"}));
  EXPECT_TRUE(Col(c, "at").not_future);
  EXPECT_EQ(Col(c, "amount").validator, nullptr);
  // A required property whose type allows null only needs the column.
  EXPECT_FALSE(Col(c, "note").required);
  // What JSON Schema says that the vectorised checks cannot: valijson, per value.
  EXPECT_NE(Col(c, "qty").validator, nullptr);
  EXPECT_NE(Col(c, "step").validator, nullptr);
  EXPECT_NE(Col(c, "payload").validator, nullptr);  // a json column takes any JSON; the type is checked
  EXPECT_EQ(Col(c, "any").validator, nullptr);
  EXPECT_FALSE(Col(c, "any").type.has_value());
}

TEST(JsonSchemaContract, ContractSettingsComeFromXSluiceSpeltAsInYaml) {
  Contract c = Load(R"({"title": "t", "properties": {"at": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}},
    "x-sluice": {"contract": "orders", "version": 4, "on_violation": "warn", "schema_evolution": "freeze",
                 "gate": {"max_rejected_rate": 0.05, "min_sample": 10},
                 "freshness": {"column": "at", "max_age": "2h"},
                 "completeness": {"min_rows": 3, "max_null_rate": {"n": 0.5}},
                 "rules": [{"name": "positive", "check": "n > 0"}]}})");
  EXPECT_EQ(c.name, "orders");
  EXPECT_EQ(c.version, 4);
  EXPECT_EQ(c.on_violation, "warn");
  EXPECT_EQ(c.schema_evolution, "freeze");
  EXPECT_EQ(*c.gate_max_rejected_rate, 0.05);
  EXPECT_EQ(c.gate_min_sample, 10);
  EXPECT_EQ(c.freshness_column, "at");
  EXPECT_EQ(c.freshness_max_age_s, 7200);
  EXPECT_EQ(*c.min_rows, 3);
  EXPECT_EQ(c.max_null_rate.at("n"), 0.5);
  ASSERT_EQ(c.rules.size(), 1u);
  EXPECT_EQ(c.rules[0].name, "positive");
  EXPECT_EQ(c.file, "c.json");
}

TEST(JsonSchemaContract, ExclusiveBoundsRejectTheBoundItself) {
  Contract c = Load(R"({"properties": {"id": {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 3}}})");
  ContractChecker checker(std::make_shared<const Contract>(c));
  std::vector<RejectedRow> rejects;
  auto kept = checker.Check(Users({{1, ""}, {2, ""}, {3, ""}}), &rejects);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ((*kept)->num_rows(), 1);
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].rule, "min");
  EXPECT_EQ(rejects[0].reason, "column 'id': 1 is not above exclusive min 1");
  EXPECT_EQ(rejects[1].rule, "max");
  EXPECT_EQ(rejects[1].reason, "column 'id': 3 is not below exclusive max 3");
}

const char* kNested = R"json({
  "$schema": "http://json-schema.org/draft-07/schema",
  "definitions": { "zip": { "type": "string", "pattern": "^[0-9]{5}$" } },
  "required": ["user"],
  "properties": {
    "id": { "type": "integer", "maximum": 100, "not": { "enum": [13] } },
    "user": {
      "type": "object",
      "required": ["name"],
      "additionalProperties": false,
      "properties": {
        "name": { "type": "string", "minLength": 1 },
        "address": { "type": "object", "properties": { "zip": { "$ref": "#/definitions/zip" } } },
        "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 3 },
        "contact": { "oneOf": [ { "type": "string", "format": "date" }, { "type": "integer" } ] }
      }
    }
  }
})json";

TEST(JsonSchemaContract, NestedValuesAreValidatedWithTheirPaths) {
  Contract c = Load(kNested);
  ASSERT_NE(Col(c, "user").validator, nullptr);
  EXPECT_TRUE(Col(c, "user").required);
  ContractChecker checker(std::make_shared<const Contract>(c));
  std::vector<RejectedRow> rejects;
  auto kept = checker.Check(Users({{1, R"({"name":"ada","address":{"zip":"22201"},"tags":["a"],"contact":"2024-02-29"})"},
                                   {2, R"({"name":"bob","address":{"zip":22201}})"},
                                   {3, R"({"name":"cy","tags":["a",7]})"},
                                   {4, R"({"address":{}})"},
                                   {5, R"({"name":"di","extra":1})"},
                                   {6, R"({"name":"ed","contact":"2024-13-01"})"},
                                   {200, R"("not an object")"},
                                   {13, R"({"name":"fay"})"},
                                   {7, ""}}),
                            &rejects);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_EQ((*kept)->num_rows(), 1);
  EXPECT_EQ((*kept)->column(0).Int64At(0), 1);
  ASSERT_EQ(rejects.size(), 8u);
  for (size_t k = 0; k < 5; ++k) EXPECT_EQ(rejects[k].column, "user") << k;
  EXPECT_EQ(rejects[0].origin, "users.jsonl:2");
  EXPECT_EQ(rejects[0].rule, "schema");
  EXPECT_EQ(rejects[0].reason, "column 'user': address.zip: Value type not permitted by 'type' constraint (got integer)");
  EXPECT_EQ(rejects[1].reason, "column 'user': tags[1]: Value type not permitted by 'type' constraint (got integer)");
  EXPECT_EQ(rejects[2].reason, "column 'user': Missing required property 'name'");
  EXPECT_NE(rejects[3].reason.find("'extra'"), std::string::npos) << rejects[3].reason;
  EXPECT_NE(rejects[4].reason.find("contact: "), std::string::npos) << rejects[4].reason;
  // A flat check and a nested one on the same row: both are recorded.
  EXPECT_EQ(rejects[5].rule, "max,schema");
  EXPECT_EQ(rejects[5].column, "id,user");
  EXPECT_NE(rejects[5].reason.find("column 'id': 200 is above max 100"), std::string::npos) << rejects[5].reason;
  EXPECT_NE(rejects[5].reason.find("column 'user': Value type not permitted by 'type' constraint (got string)"), std::string::npos);
  // `not` on a flat integer goes to valijson over the value.
  EXPECT_EQ(rejects[6].rule, "schema");
  EXPECT_EQ(rejects[6].column, "id");
  EXPECT_NE(rejects[6].reason.find("column 'id': Target should not validate"), std::string::npos) << rejects[6].reason;
  // A null is a missing key: `required` judges it, the schema does not.
  EXPECT_EQ(rejects[7].rule, "required");
}

TEST(JsonSchemaContract, ValuesOfEveryColumnTypeReachValijsonAsJson) {
  Contract c = Load(R"({"properties": {
      "id": {"type": "integer", "enum": [1, 2]},
      "user": {"type": "string", "not": {"const": "root"}}}})");
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"id", DataType::Int64()}, {"user", DataType::String()}});
  RecordBatchBuilder b(schema);
  for (auto [id, user] : std::vector<std::pair<int64_t, std::string>>{{1, "ada"}, {3, "bob"}, {2, "root"}}) {
    b.column(0).AppendInt64(id);
    b.column(1).AppendBytes(user);
    b.CommitRow(0);
  }
  ContractChecker checker(std::make_shared<const Contract>(c));
  std::vector<RejectedRow> rejects;
  auto kept = checker.Check(b.Finish("users", ""), &rejects);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ((*kept)->num_rows(), 1);
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].reason, "column 'id': Failed to match against any enum values");
  EXPECT_EQ(rejects[1].column, "user");
}

// valijson would throw on `format` over a number and convert "7" for `multipleOf`; draft 7
// ignores both keywords on other types. Dates know leap years.
TEST(JsonSchemaContract, FormatAndMultipleOfApplyToTheirOwnTypesOnly) {
  Contract c = Load(R"({"definitions": {"step": {"multipleOf": 5}},
    "properties": {"user": {"type": "object", "properties": {
      "when": {"anyOf": [{"type": "string", "format": "date"}, {"type": "integer"}]},
      "n": {"$ref": "#/definitions/step"}}}}})");
  ContractChecker checker(std::make_shared<const Contract>(c));
  std::vector<RejectedRow> rejects;
  auto kept = checker.Check(Users({{1, R"({"when": 5, "n": "7"})"},
                                   {2, R"({"when": "2024-02-29", "n": 10})"},
                                   {3, R"({"when": "2023-02-29"})"},
                                   {4, R"({"n": 7})"}}),
                            &rejects);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ((*kept)->num_rows(), 2);
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_NE(rejects[0].reason.find("when: is not a valid date (RFC 3339)"), std::string::npos) << rejects[0].reason;
  EXPECT_EQ(rejects[1].reason, "column 'user': n: Value should be a multiple of 5");
}

// Nested patterns use RE2, as top-level ones do: a long value cannot exhaust the stack.
TEST(JsonSchemaContract, NestedPatternsAndFormatsMatchLongValues) {
  Contract c = Load(R"({"properties": {"user": {"type": "object", "properties": {
      "code": {"type": "string", "pattern": "^(a|b)*c$"}, "at": {"format": "date-time"}}}}})");
  ContractChecker checker(std::make_shared<const Contract>(c));
  std::vector<RejectedRow> rejects;
  const std::string many(1 << 20, 'a');
  const std::string digits(1 << 20, '1');
  auto kept = checker.Check(Users({{1, R"({"code": ")" + many + R"("})"}, {2, R"({"code": ")" + many + R"(c"})"},
                                   {3, R"({"at": ")" + digits + R"(-01-01T00:00:00Z"})"}}),
                            &rejects);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ((*kept)->num_rows(), 1);
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].reason, "column 'user': code: does not match pattern '^(a|b)*c$'");
  EXPECT_EQ(rejects[1].reason, "column 'user': at: is not a valid date-time (RFC 3339)");
}

TEST(JsonSchemaContract, ErrorsNameTheFileAndTheJsonPointer) {
  EXPECT_EQ(LoadError(R"({"properties": {"u": {"type": "object", "properties": {"a": {"$ref": "#"}}}}})"),
            "c.json: #/properties/u/properties/a/$ref: $ref '#' names the whole row; a column's schema cannot contain it");
  EXPECT_EQ(LoadError(R"({"properties": {"age": {"type": "integer", "minimun": 1}}})"),
            "c.json: #/properties/age/minimun: unknown keyword 'minimun'");
  EXPECT_EQ(LoadError(R"({"properties": {"u": {"type": "object", "properties": {"a": {"requred": true}}}}})"),
            "c.json: #/properties/u/properties/a/requred: unknown keyword 'requred'");
  EXPECT_EQ(LoadError(R"({"properties": {"a/b": {"type": "intger"}}})"),
            "c.json: #/properties/a~1b/type: unknown type \"intger\" (expected one of null, boolean, integer, number, string, array, object)");
  EXPECT_EQ(LoadError(R"({"properties": {"n": {"type": "integer", "minLength": 1}}})"),
            "c.json: #/properties/n/minLength: 'minLength' has no effect on a property of type integer");
  EXPECT_NE(LoadError(R"j({"properties": {"s": {"type": "string", "pattern": "(?=a)"}}})j").find("#/properties/s/pattern: pattern '(?=a)' is not supported by RE2"),
            std::string::npos);
  EXPECT_NE(LoadError(R"({"properties": {"s": {"type": "object", "properties": {"t": {"pattern": "("}}}}})").find("#/properties/s/properties/t/pattern: pattern '(' is not supported by RE2"),
            std::string::npos);
  EXPECT_NE(LoadError(R"({"properties": {"s": {"type": "object", "patternProperties": {"[": {}}}}})").find("#/properties/s/patternProperties/[: invalid regular expression"),
            std::string::npos);
  EXPECT_EQ(LoadError(R"({"properties": {"s": {"$ref": "other.json#/x"}}})"),
            "c.json: #/properties/s/$ref: $ref 'other.json#/x': only JSON pointers into this file (#/...) are resolved");
  EXPECT_EQ(LoadError(R"({"properties": {"s": {"$ref": "#/definitions/nope"}}})"),
            "c.json: #/properties/s/$ref: $ref '#/definitions/nope' points at nothing in this file");
  EXPECT_EQ(LoadError(R"({"properties": {"s": {"$ref": "#/definitions/a", "minimum": 1}}, "definitions": {"a": {}}})"),
            "c.json: #/properties/s/minimum: 'minimum' beside $ref is ignored in draft 7; combine them with allOf");
  EXPECT_NE(LoadError(R"({"properties": {"u": {"type": "string", "format": "uri"}}})").find("#/properties/u/format: format 'uri' is not checked"),
            std::string::npos);
  EXPECT_NE(LoadError(R"({"properties": {"d": {"type": "string", "format": "date", "maxLength": 3}}})").find("#/properties/d/maxLength: 'maxLength' is not supported on a date property"),
            std::string::npos);
  EXPECT_EQ(LoadError(R"({"properties": {"n": {"type": "number", "exclusiveMinimum": true}}})"),
            "c.json: #/properties/n/exclusiveMinimum: is a number in draft 7 (a boolean is draft 4)");
  EXPECT_EQ(LoadError(R"({"properties": {"u": {"type": "object", "properties": {"a": {"x-sluice-pii": "email"}}}}})"),
            "c.json: #/properties/u/properties/a/x-sluice-pii: sluice keywords (x-sluice-...) apply to top-level properties only");
  EXPECT_NE(LoadError(R"j({"properties": {"n": {"type": "string", "x-sluice-type": "decimal(5,2)"}}})j").find("#/properties/n/x-sluice-type: 'decimal(5,2)' does not refine type string"),
            std::string::npos);
  EXPECT_NE(LoadError(R"({"properties": {"n": {"x-sluice-uniq": true}}})").find("#/properties/n/x-sluice-uniq: unknown keyword"), std::string::npos);
  EXPECT_NE(LoadError(R"({"allOf": [{"required": ["a"]}]})").find("#/allOf: 'allOf' at the top level constrains whole rows"), std::string::npos);
  EXPECT_NE(LoadError(R"({"additionalProperties": false})").find("#/additionalProperties: columns beyond the properties are governed by x-sluice.schema_evolution"),
            std::string::npos);
  EXPECT_EQ(LoadError(R"({"properties": {"s": {"type": "string", "enum": ["a", "b"], "const": "c"}}})"),
            "c.json: #/properties/s/const: enum and const have no value in common: no value could pass");
  EXPECT_EQ(LoadError(R"({"contract": "orders", "columns": {}})"),
            "c.json: #/contract: unknown keyword 'contract' (a .json contract is a JSON Schema; a sluice contract with columns: is YAML)");
  EXPECT_EQ(LoadError(R"({"x-sluice": {"columns": {}}})"), "c.json: #/x-sluice/columns: columns come from the top-level properties");
  EXPECT_NE(LoadError(R"({"x-sluice": {"on_violation": "explode"}})").find("x-sluice.on_violation"), std::string::npos);
  EXPECT_NE(LoadError("{\"properties\": {\n  \"a\": {,}}}").find("c.json: invalid JSON: parse error at line 2, column 9"), std::string::npos);
}

TEST(JsonSchemaContract, DraftsOtherThanSevenAreRefused) {
  EXPECT_NE(LoadError(R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})")
                .find("c.json: #/$schema: 'https://json-schema.org/draft/2020-12/schema' is not supported (valijson, which sluice uses, implements drafts 3, 4 and 7 only); sluice reads JSON Schema draft 7"),
            std::string::npos);
  EXPECT_NE(LoadError(R"({"$schema": "http://json-schema.org/draft-04/schema#"})").find("is not supported"), std::string::npos);
  Load(R"({"$schema": "https://json-schema.org/draft-07/schema#"})");
  Load(R"({"properties": {}})");  // no $schema: draft 7
}

TEST(JsonSchemaContract, LoadContractDispatchesOnTheFile) {
  testing::TempDir dir;
  auto json = LoadContract(dir.Write("c.json", R"({"properties": {"id": {"type": "integer"}}})"));
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(json->DeclaredSchema().ToString(), "id int64?");
  // YAML with $schema: quoted scalars stay strings, so "1" and 1 differ as in JSON.
  auto yaml = LoadContract(dir.Write("c.yaml", "$schema: http://json-schema.org/draft-07/schema#\n"
                                               "properties:\n"
                                               "  code: { type: string, enum: ['1', '2'] }\n"
                                               "  n: { type: integer, enum: [1, 2], x-sluice-unique: true }\n"));
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  EXPECT_EQ(Col(*yaml, "code").enum_values, (std::vector<std::string>{"1", "2"}));
  EXPECT_NE(Col(*yaml, "n").validator, nullptr);
  EXPECT_TRUE(Col(*yaml, "n").unique);
  auto bad = LoadContract(dir.Write("bad.json", R"({"properties": {"id": {"typ": "integer"}}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), dir.File("bad.json") + ": #/properties/id/typ: unknown keyword 'typ'");
  // The YAML contract still loads as before.
  auto plain = LoadContract(dir.Write("p.yaml", "columns: { id: int64 }\n"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->DeclaredSchema().ToString(), "id int64?");
  // Inline in a pipeline, YAML cannot keep "1" apart from 1: a file is required.
  auto node = ParseYaml("properties: { id: { type: integer } }\n", "p.yaml");
  ASSERT_TRUE(node.ok());
  auto inline_contract = ContractFromNode(*node, "p.yaml");
  ASSERT_FALSE(inline_contract.ok());
  EXPECT_NE(inline_contract.status().message().find("a JSON Schema contract must be a file of its own"), std::string::npos);
}

}  // namespace
}  // namespace sluice
