#include "connectors/sql/table_patterns.h"

#include <gtest/gtest.h>

namespace sluice::sql {
namespace {

const std::vector<CatalogTable> kCatalog = {
    {"public", "order_items"}, {"public", "orders"}, {"public", "users"}, {"shop", "order_log"}, {"shop", "stock"}};

TEST(TablePatterns, APlainNameStaysAsWritten) {
  auto t = ExpandTablePatterns({"Orders", "shop.stock"}, kCatalog, "public", "source.tables");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::vector<std::string>{"Orders", "shop.stock"}));
  EXPECT_FALSE(AnyTablePattern({"Orders", "shop.stock"}));
}

TEST(TablePatterns, ABarePatternMatchesTheDefaultSchemaOnly) {
  auto t = ExpandTablePatterns({"order*"}, kCatalog, "public", "source.tables");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::vector<std::string>{"order_items", "orders"}));
}

TEST(TablePatterns, AQualifiedPatternYieldsQualifiedNamesWithoutRepeats) {
  auto t = ExpandTablePatterns({"users", "*.order*", "public.*"}, kCatalog, "public", "source.tables");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::vector<std::string>{"users", "public.order_items", "public.orders", "shop.order_log",
                                          "public.users"}));
}

TEST(TablePatterns, APatternThatMatchesNothingIsNamed) {
  auto t = ExpandTablePatterns({"ordres_*"}, kCatalog, "public", "pipeline.yaml:3 source.tables");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "pipeline.yaml:3 source.tables: the pattern 'ordres_*' matches no table in schema 'public'");
}

}  // namespace
}  // namespace sluice::sql
