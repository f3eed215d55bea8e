// DSN parsing, error classification and identifier quoting of the mysql connector: no server.

#include "connectors/mysql/mysql_conn.h"

#include <gtest/gtest.h>

#include "connectors/mysql/mysql_types.h"

namespace sluice::mysql {
namespace {

TEST(MysqlDsn, ParsesEveryPart) {
  auto d = ParseDsn(
      "mysql://us%40er:p%3Ass@word@db.example:3307/shop?connect_timeout=3&socket=/run/m.sock");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->user, "us@er");
  EXPECT_EQ(d->password, "p:ss@word");
  EXPECT_EQ(d->host, "db.example");
  EXPECT_EQ(d->port, 3307u);
  EXPECT_EQ(d->database, "shop");
  EXPECT_EQ(d->connect_timeout, 3u);
  EXPECT_EQ(d->socket, "/run/m.sock");
  EXPECT_EQ(DescribeDsn(*d), "/run/m.sock/shop user=us@er");
  auto v6 = ParseDsn("mariadb://u@[::1]/db");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 3306u);
  EXPECT_EQ(DescribeDsn(*v6), "::1:3306/db user=u");
}

TEST(MysqlDsn, ErrorsNeverQuoteThePassword) {
  for (const char* bad :
       {"postgres://u:hunter2@h/db", "mysql://u:hunter2@h:99999/db",
        "mysql://u:hunter2@h/db?colour=1", "mysql://u:hunter2@h", "mysql://u:hun%zzter2@h/db"}) {
    auto d = ParseDsn(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(d.status().message().find("hunter2"), std::string::npos) << d.status().message();
    EXPECT_EQ(d.status().message().find("hun%zz"), std::string::npos) << d.status().message();
  }
}

TEST(MysqlErrors, TransientOrPermanent) {
  for (unsigned code : {2002u, 2003u, 2006u, 2013u, 1040u, 1205u, 1213u, 1927u}) {
    EXPECT_TRUE(ErrorStatus(code, "m", "ctx").IsTransient()) << code;
  }
  for (unsigned code : {1045u, 1142u, 1143u, 1227u, 1064u, 1146u}) {
    EXPECT_EQ(ErrorStatus(code, "m", "ctx").code(), StatusCode::kPermanent) << code;
  }
  EXPECT_NE(
      ErrorStatus(1045, "Access denied", "mysql h").message().find("error 1045: Access denied"),
      std::string::npos);
  EXPECT_TRUE(IsDataError(1062));
  EXPECT_TRUE(IsDataError(1406));
  EXPECT_FALSE(IsDataError(1146));
}

TEST(MysqlNames, QuotingAndDerivedNames) {
  EXPECT_EQ(QuoteIdent("orders`; DROP TABLE x; --"), "`orders``; DROP TABLE x; --`");
  EXPECT_EQ(QuoteQualifiedName("shop.orders"), "`shop`.`orders`");
  EXPECT_EQ(QuoteQualifiedName("orders"), "`orders`");
  EXPECT_EQ(DerivedName("t", "__sluice_staging"), "t__sluice_staging");
  std::string longname(60, 'a');
  std::string derived = DerivedName(longname, "__sluice_staging");
  EXPECT_EQ(derived.size(), 64u);
  EXPECT_NE(derived, DerivedName(std::string(59, 'a') + "b", "__sluice_staging"));
  EXPECT_TRUE(derived.find("__sluice_staging") == 48);
}

TEST(MysqlTypes, DdlTypes) {
  EXPECT_EQ(DdlType(DataType::Decimal(12, 2), false, true), "DECIMAL(12,2)");
  EXPECT_EQ(DdlType(DataType::String(), true, true),
            "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin");
  EXPECT_EQ(DdlType(DataType::String(), true, false),
            "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_bin");
  EXPECT_EQ(DdlType(DataType::Timestamp(true), false, true), "DATETIME(6)");
  EXPECT_EQ(DdlType(DataType::Time(), false, true), "TIME(6)");
}

TEST(MysqlTypes, CheckpointValuesRoundTrip) {
  for (auto [v, kind] : {std::pair{Value::Int(-5), FetchKind::kInt},
                         {Value::UInt(18446744073709551615ull), FetchKind::kUInt64},
                         {Value::Text("a\"b"), FetchKind::kString},
                         {Value::Bytes(std::string("\0\xff", 2)), FetchKind::kBinary},
                         {Value::Date(20000), FetchKind::kDate},
                         {Value::DateTime(1700000000123456), FetchKind::kDateTime},
                         {Value::Time(3600000001), FetchKind::kTime},
                         {Value::Double(0.1), FetchKind::kDouble}}) {
    auto back = ValueFromJson(ValueJson(v), kind);
    ASSERT_TRUE(back.ok()) << ValueJson(v);
    EXPECT_TRUE(*back == v) << ValueJson(v);
  }
  EXPECT_FALSE(ValueFromJson("\"x\"", FetchKind::kInt).ok());
}

}  // namespace
}  // namespace sluice::mysql
