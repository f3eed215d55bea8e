#include "quality/contract.h"

#include <gtest/gtest.h>

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
