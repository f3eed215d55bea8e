// The parts of the PostgreSQL client layer that need no server: quoting, DSN descriptions,
// option parsing and type mapping.
#include "connectors/postgres/pg_conn.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::pg {
namespace {

TEST(PgQuote, IdentifiersAreAlwaysQuotedAndEscaped) {
  EXPECT_EQ(QuoteIdent("orders"), "\"orders\"");
  EXPECT_EQ(QuoteIdent("Order Lines"), "\"Order Lines\"");
  EXPECT_EQ(QuoteIdent("orders\"; DROP TABLE x; --"), "\"orders\"\"; DROP TABLE x; --\"");
}

TEST(PgQuote, QualifiedNamesSplitOnTheFirstDotOutsideQuotes) {
  EXPECT_EQ(QuoteQualifiedName("public.orders"), "\"public\".\"orders\"");
  EXPECT_EQ(QuoteQualifiedName("orders"), "\"orders\"");
  EXPECT_EQ(QuoteQualifiedName("a.b.c"), "\"a\".\"b.c\"");
  EXPECT_EQ(QuoteQualifiedName("\"My.Schema\".t"), "\"My.Schema\".\"t\"");
  EXPECT_EQ(QuoteQualifiedName("\"we\"\"ird\".t"), "\"we\"\"ird\".\"t\"");
  EXPECT_EQ(QuoteQualifiedName("orders\"; DROP TABLE x; --"), "\"orders\"\"; DROP TABLE x; --\"");
  auto [schema, table] = SplitQualifiedName("s.t");
  EXPECT_EQ(schema, "s");
  EXPECT_EQ(table, "t");
}

TEST(PgQuote, Literals) {
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("a\\b"), "E'a\\\\b'");
}

TEST(PgDsn, DescriptionNeverShowsThePassword) {
  EXPECT_EQ(DescribeDsn("postgresql://u:s3cret@db.example:6543/wh"), "db.example:6543/wh user=u");
  EXPECT_EQ(DescribeDsn("host=h port=5 dbname=d user=u password=s3cret"), "h:5/d user=u");
  EXPECT_EQ(DescribeDsn("host=h password='s3 cret"), "<invalid dsn>");
  EXPECT_EQ(DescribeDsn("postgresql:///wh").find("s3cret"), std::string::npos);
}

ConfigNode Block(const std::string& dsn) {
  ConfigNode block;
  block.SetKind(ConfigNode::Kind::kMap);
  block.SetLocation("sink", 1);
  ConfigNode d = ConfigNode::Scalar(dsn, "sink.dsn");
  d.SetInterpolated(true);  // as from ${PG_DSN}
  block.AddEntry("dsn", d);
  return block;
}

TEST(PgConnOptionsTest, MalformedDsnIsAnErrorThatDoesNotQuoteIt) {
  static const OptionSchema schema = {DsnOptionSpec(), TlsOptionSpec()};
  ConfigNode block = Block("host=h password='s3cret");
  Options o(&block, &schema);
  auto opts = ParsePgConnOptions(o, block, "/tmp");
  ASSERT_FALSE(opts.ok());
  EXPECT_NE(opts.status().message().find("sink.dsn"), std::string::npos) << opts.status().message();
  EXPECT_EQ(opts.status().message().find("s3cret"), std::string::npos) << opts.status().message();
}

TEST(PgConnOptionsTest, TlsIsOnlyImposedWhenTheBlockHasIt) {
  static const OptionSchema schema = {DsnOptionSpec(), TlsOptionSpec()};
  ConfigNode block = Block("postgresql://u@h/d?sslmode=require");
  Options o(&block, &schema);
  auto opts = ParsePgConnOptions(o, block, "/tmp");
  ASSERT_TRUE(opts.ok()) << opts.status().ToString();
  EXPECT_FALSE(opts->tls_set);
  block.AddEntry("tls", ConfigNode::Scalar("disable", "sink.tls"));
  Options o2(&block, &schema);
  opts = ParsePgConnOptions(o2, block, "/tmp");
  ASSERT_TRUE(opts.ok()) << opts.status().ToString();
  EXPECT_TRUE(opts->tls_set);
  EXPECT_EQ(opts->tls.mode, "disable");
}

TEST(PgTypes, SluiceTypesToPostgres) {
  EXPECT_EQ(PgTypeName(DataType::Bool()), "boolean");
  EXPECT_EQ(PgTypeName(DataType::Int64()), "bigint");
  EXPECT_EQ(PgTypeName(DataType::Float64()), "double precision");
  EXPECT_EQ(PgTypeName(DataType::Decimal(12, 2)), "numeric(12,2)");
  EXPECT_EQ(PgTypeName(DataType::String()), "text");
  EXPECT_EQ(PgTypeName(DataType::Binary()), "bytea");
  EXPECT_EQ(PgTypeName(DataType::Date()), "date");
  EXPECT_EQ(PgTypeName(DataType::Time()), "time");
  EXPECT_EQ(PgTypeName(DataType::Timestamp(true)), "timestamptz");
  EXPECT_EQ(PgTypeName(DataType::Timestamp(false)), "timestamp");
  EXPECT_EQ(PgTypeName(DataType::Json()), "jsonb");
}

TEST(PgTypes, PostgresTypesToSluice) {
  EXPECT_EQ(*TypeFromPg(oid::kInt4, -1, "a"), DataType::Int64());
  EXPECT_EQ(*TypeFromPg(oid::kTimestamptz, -1, "a"), DataType::Timestamp(true));
  // numeric(12,2): typmod = (12 << 16 | 2) + 4.
  EXPECT_EQ(*TypeFromPg(oid::kNumeric, (12 << 16 | 2) + 4, "a"), DataType::Decimal(12, 2));
  // Unconstrained or wider than 38 digits: text (DESIGN.md).
  EXPECT_EQ(*TypeFromPg(oid::kNumeric, -1, "a"), DataType::String());
  EXPECT_EQ(*TypeFromPg(oid::kNumeric, (50 << 16 | 2) + 4, "a"), DataType::String());
  EXPECT_EQ(*TypeFromPg(oid::kJsonb, -1, "a"), DataType::Json());
  auto bad = TypeFromPg(1007, -1, "tags");  // int4[]
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tags"), std::string::npos);
  EXPECT_NE(bad.status().message().find("1007"), std::string::npos);
}

TEST(PgErrors, DataErrorsAreTheRefusableOnes) {
  EXPECT_TRUE(IsDataError("23505"));
  EXPECT_TRUE(IsDataError("23514"));
  EXPECT_TRUE(IsDataError("22003"));
  EXPECT_TRUE(IsDataError("54000"));
  EXPECT_FALSE(IsDataError("42501"));
  EXPECT_FALSE(IsDataError("08006"));
  EXPECT_FALSE(IsDataError(""));
}

}  // namespace
}  // namespace sluice::pg
