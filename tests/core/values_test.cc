#include "core/values.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Values, ParsesIntegersAndRejectsOverflow) {
  int64_t v;
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(ParseInt64("9223372036854775808", &v));
  EXPECT_FALSE(ParseInt64("12a", &v));
  EXPECT_FALSE(ParseInt64("", &v));
}

TEST(Values, DatesRoundTrip) {
  int32_t d;
  ASSERT_TRUE(ParseDate("2024-02-29", &d));
  EXPECT_EQ(FormatDate(d), "2024-02-29");
  EXPECT_FALSE(ParseDate("2023-02-29", &d));
  ASSERT_TRUE(ParseDate("1970-01-01", &d));
  EXPECT_EQ(d, 0);
}

TEST(Values, TimestampsWithOffsetsBecomeUtc) {
  int64_t t;
  bool zone;
  ASSERT_TRUE(ParseTimestamp("2024-01-01T10:00:00+02:00", &t, &zone));
  EXPECT_TRUE(zone);
  EXPECT_EQ(FormatTimestamp(t, true), "2024-01-01 08:00:00Z");
  ASSERT_TRUE(ParseTimestamp("2024-01-01 10:00:00.5", &t, &zone));
  EXPECT_FALSE(zone);
  EXPECT_EQ(FormatTimestamp(t, false), "2024-01-01 10:00:00.500000");
}

TEST(Values, DecimalsKeepEveryDigitOrFail) {
  int128_t v;
  ASSERT_TRUE(ParseDecimal("-12.5", 12, 2, &v));
  EXPECT_EQ(FormatDecimal(v, 2), "-12.50");
  EXPECT_FALSE(ParseDecimal("1.234", 12, 2, &v));
  EXPECT_FALSE(ParseDecimal("123", 3, 1, &v));
  ASSERT_TRUE(ParseDecimal("0.05", 3, 2, &v));
  EXPECT_EQ(FormatDecimal(v, 2), "0.05");
}

}  // namespace
}  // namespace sluice
