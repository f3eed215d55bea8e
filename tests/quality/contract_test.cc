#include "quality/contract.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

#include "config/pipeline_config.h"
#include "core/values.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

Contract Parse(const std::string& yaml) {
  auto node = ParseYaml(yaml, "c.yaml");
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  auto c = ContractFromNode(*node, "c.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Contract{};
}

std::string ParseError(const std::string& yaml) {
  auto node = ParseYaml(yaml, "c.yaml");
  if (!node.ok()) return node.status().message();
  auto c = ContractFromNode(*node, "c.yaml");
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.status().message();
}

// Orders: id int64, email string, amount decimal(12,2), status string, created_at timestamp_tz.
RecordBatchPtr Orders(const std::vector<std::tuple<std::optional<int64_t>, std::string, std::string, std::string, std::string>>& rows) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"id", DataType::Int64()},
                                                            {"email", DataType::String()},
                                                            {"amount", DataType::Decimal(12, 2)},
                                                            {"status", DataType::String()},
                                                            {"created_at", DataType::Timestamp(true)}});
  RecordBatchBuilder b(schema);
  int64_t line = 2;
  for (const auto& [id, email, amount, status, created] : rows) {
    if (id) b.column(0).AppendInt64(*id);
    else b.column(0).AppendNull();
    b.column(1).AppendBytes(email);
    int128_t d;
    EXPECT_TRUE(ParseDecimal(amount, 12, 2, &d));
    b.column(2).AppendDecimal(d);
    b.column(3).AppendBytes(status);
    int64_t t;
    bool zone;
    EXPECT_TRUE(ParseTimestamp(created, &t, &zone));
    b.column(4).AppendInt64(t);
    b.CommitRow(line++);
  }
  return b.Finish("orders", "orders.csv");
}

const char* kContract = R"yaml(
contract: orders
version: 3
columns:
  id:         { type: int64, required: true, unique: true }
  email:      { type: string, pattern: '^[^@\s]+@[^@\s]+$', pii: email }
  amount:     { type: "decimal(12,2)", min: 0, max: 100000 }
  status:     { type: string, enum: [new, paid, shipped, cancelled] }
  created_at: { type: timestamp_tz, not_future: true }
completeness: { min_rows: 2, max_null_rate: { email: 0.5 } }
gate: { max_rejected_rate: 0.05, min_sample: 1000 }
)yaml";

TEST(Contract, LoadsColumnsGateAndCompleteness) {
  Contract c = Parse(kContract);
  EXPECT_EQ(c.name, "orders");
  EXPECT_EQ(c.version, 3);
  ASSERT_EQ(c.columns.size(), 5u);
  EXPECT_TRUE(c.columns[0].required);
  EXPECT_EQ(c.columns[2].type->ToString(), "decimal(12,2)");
  EXPECT_EQ(*c.gate_max_rejected_rate, 0.05);
  EXPECT_EQ(c.DeclaredSchema().ToString(), "id int64, email string?, amount decimal(12,2)?, status string?, created_at timestamp_tz?");
}

TEST(Contract, ConfigErrorsNameTheirPath) {
  EXPECT_NE(ParseError("columns: { id: { typ: int64 } }").find("columns.id.typ"), std::string::npos);
  EXPECT_NE(ParseError("columns: { id: { pattern: '(' } }").find("invalid pattern"), std::string::npos);
  EXPECT_NE(ParseError("columns: { id: { type: int65 } }").find("columns.id.type"), std::string::npos);
  EXPECT_NE(ParseError("on_violation: explode").find("on_violation"), std::string::npos);
}

TEST(Contract, EveryViolationOfARowIsRecordedAndPassingRowsStay) {
  auto contract = std::make_shared<const Contract>(Parse(kContract));
  ContractChecker checker(contract);
  std::vector<RejectedRow> rejects;
  auto kept = checker.Check(Orders({{1, "a@x.io", "10.00", "paid", "2024-01-01T00:00:00Z"},
                                    {2, "not-an-email", "-5.00", "lost", "2999-01-01T00:00:00Z"},
                                    {std::nullopt, "b@x.io", "1.00", "new", "2024-01-01T00:00:00Z"},
                                    {1, "c@x.io", "1.00", "new", "2024-01-01T00:00:00Z"},
                                    {4, "d@x.io", "100000.01", "shipped", "2024-01-01T00:00:00Z"}}),
                            &rejects);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ((*kept)->num_rows(), 1);
  EXPECT_EQ((*kept)->column(0).Int64At(0), 1);
  EXPECT_EQ((*kept)->origin_lines, std::vector<int64_t>{2});
  ASSERT_EQ(rejects.size(), 4u);
  EXPECT_EQ(rejects[0].origin, "orders.csv:3");
  EXPECT_EQ(rejects[0].rule, "pattern,min,enum,not_future");
  EXPECT_EQ(rejects[0].column, "email,amount,status,created_at");
  EXPECT_NE(rejects[0].reason.find("column 'amount': -5.00 is below min 0"), std::string::npos) << rejects[0].reason;
  EXPECT_NE(rejects[0].reason.find("'lost' is not one of new, paid, shipped, cancelled"), std::string::npos);
  EXPECT_EQ(rejects[1].rule, "required");
  EXPECT_EQ(rejects[2].rule, "unique");
  EXPECT_NE(rejects[2].reason.find("'1' was seen before"), std::string::npos);
  EXPECT_EQ(rejects[3].rule, "max");
  EXPECT_EQ(rejects[3].raw, "{\"id\":4,\"email\":\"d@x.io\",\"amount\":\"100000.01\",\"status\":\"shipped\",\"created_at\":\"2024-01-01 00:00:00Z\"}");
}

TEST(Contract, WarnLoadsEverythingAndFailStopsAtTheFirstViolation) {
  Contract warn = Parse(std::string(kContract) + "\n");
  warn.on_violation = "warn";
  ContractChecker w(std::make_shared<const Contract>(warn));
  std::vector<RejectedRow> rejects;
  auto batch = Orders({{1, "a@x.io", "10.00", "paid", "2024-01-01T00:00:00Z"}, {2, "bad", "1.00", "paid", "2024-01-01T00:00:00Z"}});
  auto kept = w.Check(batch, &rejects);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ((*kept)->num_rows(), 2);
  EXPECT_TRUE(rejects.empty());
  EXPECT_EQ(w.warnings(), 1);

  Contract fail = warn;
  fail.on_violation = "fail";
  ContractChecker f(std::make_shared<const Contract>(fail));
  auto r = f.Check(batch, &rejects);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("orders.csv:3: column 'email'"), std::string::npos) << r.status().message();
}

TEST(Contract, ExpressionRulesQuarantineRowsThatMakeThemFalse) {
  Contract c = Parse("rules:\n  - { name: paid_has_amount, check: \"status <> 'paid' OR amount > 0\" }\n"
                     "  - { name: recent, check: \"created_at >= '2024-01-01'\" }\n");
  ContractChecker checker(std::make_shared<const Contract>(c));
  std::vector<RejectedRow> rejects;
  auto kept = checker.Check(Orders({{1, "a@x.io", "10.00", "paid", "2024-02-01T00:00:00Z"},
                                    {2, "b@x.io", "0.00", "paid", "2024-02-01T00:00:00Z"},
                                    {3, "c@x.io", "0.00", "new", "2023-02-01T00:00:00Z"}}),
                            &rejects);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ((*kept)->num_rows(), 1);
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].rule, "paid_has_amount");
  EXPECT_EQ(rejects[0].column, "status,amount");
  EXPECT_EQ(rejects[0].reason, "rule 'paid_has_amount' failed: status <> 'paid' OR amount > 0");
  EXPECT_EQ(rejects[1].rule, "recent");
}

// The column-at-a-time checker against a row-at-a-time reference written here: on a batch where
// rows break any mix of checks (several at once, nulls, text lengths in UTF-8, exclusive bounds,
// NaN, decimals beyond 64 bits), every failing row names every rule it broke, in contract order,
// and the passing rows are the rest, in order.
TEST(Contract, ColumnAtATimeMatchesARowAtATimeReference) {
  Contract c = Parse(R"yaml(
columns:
  id:     { type: int64, required: true, min: 0, max: 1000000 }
  name:   { type: string, min_length: 2, max_length: 5, pattern: '^[a-z\x{e9}]+$', enum: [ab, abc, "é", zz, abcdef, "" ] }
  score:  { type: float64, min: 0, max: 1 }
  amount: { type: "decimal(38,2)", min: -100, max: 100 }
  email:  { type: string, pattern: '^[^@\s]+@[^@\s]+\.[^@\s]+$' }
rules:
  - { name: r1, check: "score IS NULL OR score < 0.9" }
  - { name: r2, check: "id % 7 <> 3" }
)yaml");
  c.columns[2].min_exclusive = true;  // score > 0, as a JSON Schema exclusiveMinimum
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"id", DataType::Int64()},
                                                            {"name", DataType::String()},
                                                            {"score", DataType::Float64()},
                                                            {"amount", DataType::Decimal(38, 2)},
                                                            {"email", DataType::String()}});
  const std::vector<std::string> names = {"ab", "abc", "é", "zz", "abcdef", "", "a", "éé", "Ab", "abcd", "lost"};
  const std::vector<std::string> emails = {"a@b.c", "a@b", "a b@c.d", "@b.c", "a@b.c.d", "é@x.yz", "a@@b.c"};
  const std::vector<double> scores = {0.5, 0.0, 1.0, 0.95, -0.1, 2.0, std::nan(""), 1e-9};
  std::mt19937 rng(11);
  RecordBatchBuilder b(schema);
  struct Row {
    std::optional<int64_t> id;
    std::optional<std::string> name, email;
    std::optional<double> score;
    int128_t amount;
  };
  std::vector<Row> rows;
  for (int64_t i = 0; i < 3000; ++i) {
    Row r;
    if (rng() % 13 != 0) r.id = static_cast<int64_t>(rng() % 1100000) - 1000;
    if (rng() % 11 != 0) r.name = names[rng() % names.size()];
    if (rng() % 9 != 0) r.score = scores[rng() % scores.size()];
    r.amount = rng() % 17 == 0 ? static_cast<int128_t>(rng()) << 70 : static_cast<int128_t>(rng() % 30000) - 15000;
    if (rng() % 7 != 0) r.email = emails[rng() % emails.size()];
    rows.push_back(r);
    if (r.id) b.column(0).AppendInt64(*r.id); else b.column(0).AppendNull();
    if (r.name) b.column(1).AppendBytes(*r.name); else b.column(1).AppendNull();
    if (r.score) b.column(2).AppendFloat64(*r.score); else b.column(2).AppendNull();
    b.column(3).AppendDecimal(r.amount);
    if (r.email) b.column(4).AppendBytes(*r.email); else b.column(4).AppendNull();
    b.CommitRow(i + 2);
  }
  auto batch = b.Finish("t", "t.csv");

  // The reference: each row on its own, checks in contract order.
  const RE2 name_re("^[a-z\\x{e9}]+$"), email_re("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$");
  std::vector<std::string> want_rules;
  std::vector<int64_t> want_kept;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::vector<std::string> v;
    if (!r.id) v.push_back("required");
    else if (*r.id < 0) v.push_back("min");
    else if (*r.id > 1000000) v.push_back("max");
    if (r.name) {
      size_t len = 0;
      for (char ch : *r.name) len += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
      if (len < 2) v.push_back("min_length");
      else if (len > 5) v.push_back("max_length");
      if (!RE2::PartialMatch(*r.name, name_re)) v.push_back("pattern");
      const auto& allowed = c.columns[1].enum_values;
      if (std::find(allowed.begin(), allowed.end(), *r.name) == allowed.end()) v.push_back("enum");
    }
    if (r.score && *r.score <= 0) v.push_back("min");
    else if (r.score && *r.score > 1) v.push_back("max");
    const double amount = static_cast<double>(r.amount) / 100;
    if (amount < -100) v.push_back("min");
    else if (amount > 100) v.push_back("max");
    if (r.email && !RE2::PartialMatch(*r.email, email_re)) v.push_back("pattern");
    if (r.score && !(*r.score < 0.9)) v.push_back("r1");  // NaN < 0.9 is false: the rule fails
    if (r.id && *r.id % 7 == 3) v.push_back("r2");
    std::string joined;
    for (const auto& x : v) joined += (joined.empty() ? "" : ",") + x;
    if (v.empty()) want_kept.push_back(static_cast<int64_t>(i));
    else want_rules.push_back("t.csv:" + std::to_string(i + 2) + " " + joined);
  }

  ContractChecker checker(std::make_shared<const Contract>(c));
  std::vector<RejectedRow> rejects;
  auto kept = checker.Check(batch, &rejects);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  std::vector<std::string> got_rules;
  for (const auto& r : rejects) got_rules.push_back(r.origin + " " + r.rule);
  EXPECT_EQ(got_rules, want_rules);
  ASSERT_EQ((*kept)->num_rows(), static_cast<int64_t>(want_kept.size()));
  for (size_t k = 0; k < want_kept.size(); ++k) {
    ASSERT_EQ((*kept)->origin_lines[k], want_kept[k] + 2);
    ASSERT_EQ(RowJson(**kept, static_cast<int64_t>(k)), RowJson(*batch, want_kept[k]));
  }
  EXPECT_GT(rejects.size(), 1000u);
  EXPECT_GT(want_kept.size(), 50u);
  EXPECT_EQ(checker.stats().rows_rejected, static_cast<int64_t>(rejects.size()));
}

TEST(Contract, ARuleThatDoesNotParsePointsAtItsColumn) {
  std::string e = ParseError("rules:\n  - { name: r, check: \"length(name > 3\" }\n");
  EXPECT_NE(e.find("rules[0].check"), std::string::npos) << e;
  EXPECT_NE(e.find("column 16"), std::string::npos) << e;
}

TEST(Contract, RunLevelCompletenessAndFreshness) {
  Contract c = Parse("columns: { email: string }\ncompleteness: { min_rows: 5, max_null_rate: { email: 0.2 } }\n"
                     "freshness: { column: created_at, max_age: 1h }\n");
  ContractChecker checker(std::make_shared<const Contract>(c));
  std::vector<RejectedRow> rejects;
  ASSERT_TRUE(checker.Check(Orders({{1, "a@x.io", "1.00", "new", "2020-01-01T00:00:00Z"}}), &rejects).ok());
  auto failures = checker.RunLevelFailures(1);
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[0].find("fewer than min_rows 5"), std::string::npos) << failures[0];
  EXPECT_NE(failures[1].find("freshness: the newest created_at is 2020-01-01 00:00:00Z"), std::string::npos) << failures[1];
}

}  // namespace
}  // namespace sluice
