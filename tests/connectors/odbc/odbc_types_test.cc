// The driver-independent parts of the odbc source: type mapping (including the error for a type
// sluice does not read, which neither test driver can produce), password redaction, SQLSTATE
// classification and UTF-16.

#include "connectors/odbc/odbc_types.h"

#include <gtest/gtest.h>
#include <sql.h>
#include <sqlext.h>

namespace sluice::odbc {
namespace {

TEST(OdbcTypesTest, MapsOdbcTypesToSluiceTypes) {
  auto plan = [](int t, const std::string& name = "", uint64_t size = 10, int digits = 0) {
    auto p = PlanColumn("c", t, name, size, digits);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? p->type.ToString() : std::string();
  };
  EXPECT_EQ(plan(SQL_INTEGER), "int64");
  EXPECT_EQ(plan(SQL_BIGINT), "int64");
  EXPECT_EQ(plan(SQL_SMALLINT), "int64");
  EXPECT_EQ(plan(SQL_DOUBLE), "float64");
  EXPECT_EQ(plan(SQL_REAL), "float64");
  EXPECT_EQ(plan(SQL_NUMERIC, "numeric", 12, 2), DataType::Decimal(12, 2).ToString());
  EXPECT_EQ(plan(SQL_DECIMAL, "decimal", 60, 2), "string");  // beyond 38 digits: kept as text
  EXPECT_EQ(plan(SQL_VARCHAR), "string");
  EXPECT_EQ(plan(SQL_WLONGVARCHAR), "string");
  EXPECT_EQ(plan(SQL_VARCHAR, "bool"), "bool");  // psqlodbc's BoolsAsChar
  EXPECT_EQ(plan(SQL_VARBINARY), "binary");
  EXPECT_EQ(plan(SQL_TYPE_DATE), "date");
  EXPECT_EQ(plan(SQL_TYPE_TIME), "time");
  EXPECT_EQ(plan(SQL_TYPE_TIMESTAMP), DataType::Timestamp(false).ToString());
  EXPECT_EQ(plan(SQL_BIT), "bool");
  EXPECT_EQ(plan(SQL_GUID), "string");
}

TEST(OdbcTypesTest, UnboundedColumnsAreFlaggedForSqlGetData) {
  auto lv = PlanColumn("c", SQL_LONGVARCHAR, "text", 8190, 0);
  ASSERT_TRUE(lv.ok());
  EXPECT_FALSE(lv->bounded);
  auto vc = PlanColumn("c", SQL_VARCHAR, "varchar", 10, 0);
  ASSERT_TRUE(vc.ok());
  EXPECT_TRUE(vc->bounded);
  EXPECT_GE(vc->width, 2 * 10 * sizeof(char16_t));
}

TEST(OdbcTypesTest, UnsupportedTypeNamesTheColumnAndType) {
  auto p = PlanColumn("waited", SQL_INTERVAL_DAY_TO_SECOND, "interval day to second", 25, 6);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().IsInvalidArgument());
  EXPECT_NE(p.status().message().find("column \"waited\" has type interval day to second"),
            std::string::npos)
      << p.status().message();
}

TEST(OdbcTypesTest, RedactsEveryPasswordSpelling) {
  EXPECT_EQ(RedactConnectionString("Driver=x;Server=h;UID=u;PWD=s3cret;Port=5"),
            "Driver=x;Server=h;UID=u;PWD=***;Port=5");
  EXPECT_EQ(RedactConnectionString("DSN=prod; password = {a;b}}c} ;X=1"),
            "DSN=prod; password =*** ;X=1");
  EXPECT_EQ(RedactConnectionString("Driver=x;pwd=last"), "Driver=x;pwd=***");
  const auto secrets = ConnectionSecrets("Driver=x;PWD={a;b}}c}");
  EXPECT_EQ(Scrub("login with {a;b}}c} and a;b}}c failed", secrets),
            "login with *** and *** failed");
}

TEST(OdbcTypesTest, ClassifiesSqlStates) {
  EXPECT_TRUE(StatusFromDiagnostic("08S01", "communication link failure").IsTransient());
  EXPECT_TRUE(StatusFromDiagnostic("08001", "could not connect to server").IsTransient());
  EXPECT_EQ(StatusFromDiagnostic("08001", "password authentication failed for user").code(),
            StatusCode::kPermanent);
  EXPECT_TRUE(StatusFromDiagnostic("40001", "could not serialize access").IsTransient());
  EXPECT_TRUE(StatusFromDiagnostic("40P01", "deadlock detected").IsTransient());
  EXPECT_EQ(StatusFromDiagnostic("28000", "login failed").code(), StatusCode::kPermanent);
  EXPECT_EQ(StatusFromDiagnostic("42501", "permission denied for table t").code(),
            StatusCode::kPermanent);
  EXPECT_EQ(StatusFromDiagnostic("42601", "syntax error").code(), StatusCode::kPermanent);
  EXPECT_NE(StatusFromDiagnostic("42501", "permission denied")
                .message()
                .find("[42501] permission denied"),
            std::string::npos);
}

TEST(OdbcTypesTest, Utf16RoundTrip) {
  const std::string text = "a\xC3\xA9\xE2\x98\x83\xF0\x9F\x98\x80";
  const std::u16string w = Utf8ToUtf16(text);
  EXPECT_EQ(w.size(), 5u);  // a, é, snowman, and a surrogate pair
  std::string back;
  AppendUtf16AsUtf8(w.data(), w.size(), back);
  EXPECT_EQ(back, text);
}

}  // namespace
}  // namespace sluice::odbc
