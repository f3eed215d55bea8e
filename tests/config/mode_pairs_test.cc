#include "config/mode_pairs.h"

#include <gtest/gtest.h>

#include "config/pipeline_config.h"

namespace sluice {
namespace {

Status Pair(const std::string& source, const std::string& sink, const std::string& default_mode = "full") {
  auto root = ParseYaml("source: " + source + "\nsink: " + sink + "\n", "p.yaml");
  EXPECT_TRUE(root.ok());
  return CheckModePair(*root->Find("source"), *root->Find("sink"), default_mode);
}

// Before images are built for the sinks that write them: changelogs.
TEST(ModePairs, OnlyChangelogSinksTakeBeforeImages) {
  auto mode = [](const std::string& sink) {
    auto root = ParseYaml("sink: " + sink + "\n", "p.yaml");
    EXPECT_TRUE(root.ok());
    return EffectiveSinkMode(*root->Find("sink"));
  };
  EXPECT_EQ(mode("{ type: jsonl, path: o.jsonl, envelope: debezium }"), "changelog");
  EXPECT_EQ(mode("{ type: postgres, mode: changelog, table: t }"), "changelog");
  EXPECT_EQ(mode("{ type: postgres, mode: replicate, table: t }"), "replicate");
  EXPECT_EQ(mode("{ type: jsonl, path: o.jsonl }"), "append");
  EXPECT_EQ(mode("{ type: discard }"), "");
}

TEST(ModePairs, FullWithAppendIsRefusedWithTheModesThatWork) {
  Status st = Pair("{ type: postgres, mode: full, table: t }", "{ type: sqlite, path: w.db }");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("sink (line 2): source mode full reads every row again"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("mode: replace"), std::string::npos);
  EXPECT_TRUE(Pair("{ type: postgres, mode: full, table: t }", "{ type: sqlite, path: w.db, mode: replace }").ok());
  EXPECT_TRUE(Pair("{ type: postgres, mode: full, table: t }", "{ type: sqlite, path: w.db, mode: upsert, key: [id] }").ok());
  EXPECT_FALSE(Pair("{ type: postgres, mode: full, table: t }", "{ type: jsonl, path: o.jsonl }").ok());
  EXPECT_TRUE(Pair("{ type: postgres, mode: full, table: t }", "{ type: discard }").ok());
}

TEST(ModePairs, IncrementalWithAppendOnlyOnAnInsertOnlyCursor) {
  Status st = Pair("{ type: mysql, mode: incremental, table: t, cursor: updated_at }", "{ type: postgres, mode: append }");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("sink.mode (line 2): source mode incremental on cursor 'updated_at'"), std::string::npos)
      << st.message();
  EXPECT_TRUE(Pair("{ type: mysql, mode: incremental, table: t, cursor: id, key: [id] }", "{ type: postgres, mode: append }").ok());
  EXPECT_TRUE(Pair("{ type: mysql, mode: incremental, table: t, cursor: updated_at }", "{ type: postgres, mode: upsert, key: [id] }").ok());
}

TEST(ModePairs, DeletesNeedReplicate) {
  Status st = Pair("{ type: postgres, mode: incremental, table: t, cursor: u, deleted_flag: gone }",
                   "{ type: sqlite, path: w.db, mode: upsert, key: [id] }");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("deleted_flag: gone"), std::string::npos);
  EXPECT_TRUE(Pair("{ type: postgres, mode: incremental, table: t, cursor: u, deleted_flag: gone }",
                   "{ type: postgres, mode: replicate, key: [id] }").ok());
  EXPECT_FALSE(Pair("{ type: postgres, mode: cdc, tables: [a] }", "{ type: postgres, mode: upsert, key: [id] }").ok());
}

TEST(ModePairs, CdcGoesIntoReplicateChangelogOrADebeziumJsonlFile) {
  EXPECT_TRUE(Pair("{ type: postgres, mode: cdc, tables: [a] }", "{ type: sqlite, path: w.db, mode: replicate, key: [id] }").ok());
  EXPECT_TRUE(Pair("{ type: postgres, mode: cdc, tables: [a] }", "{ type: sqlite, path: w.db, mode: changelog }").ok());
  EXPECT_TRUE(Pair("{ type: postgres, mode: cdc, tables: [a] }", "{ type: jsonl, path: o.jsonl, envelope: debezium }").ok());
  EXPECT_FALSE(Pair("{ type: postgres, mode: cdc, tables: [a] }", "{ type: jsonl, path: o.jsonl }").ok());
}

TEST(ModePairs, QueriesWithoutACursorReadEverythingAgain) {
  EXPECT_FALSE(Pair("{ type: postgres, mode: query, query: 'select * from t' }", "{ type: sqlite, path: w.db }").ok());
  EXPECT_TRUE(Pair("{ type: postgres, mode: query, query: 'select * from t where u > :cursor', cursor: u }",
                   "{ type: sqlite, path: w.db }").ok());
}

TEST(ModePairs, FileSourcesHaveNoMode) {
  EXPECT_TRUE(Pair("{ type: file, path: a.csv }", "{ type: sqlite, path: w.db }", "").ok());
}

TEST(ModePairs, ADatabaseSourceWithoutModeIsAFullSnapshot) {
  Status st = Pair("{ type: mysql, table: t }", "{ type: sqlite, path: w.db }");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("source mode full"), std::string::npos) << st.message();
  EXPECT_TRUE(Pair("{ type: sqlite, path: s.db, table: t }", "{ type: postgres, mode: replace }").ok());
}

}  // namespace
}  // namespace sluice
