// Compaction of keyed changes for the mysql sink's upsert and replicate modes: no server.

#include "connectors/mysql/mysql_compact.h"

#include <gtest/gtest.h>

namespace sluice::mysql {
namespace {

// Rows (key, value) with ops; an empty value string is null.
RecordBatch Changes(const std::vector<std::pair<int64_t, std::string>>& rows,
                    const std::string& ops) {
  auto schema = std::make_shared<Schema>(
      std::vector<Field>{{"k", DataType::Int64()}, {"v", DataType::String()}});
  RecordBatchBuilder b(schema);
  for (const auto& [k, v] : rows) {
    b.column(0).AppendInt64(k);
    if (v.empty())
      b.column(1).AppendNull();
    else
      b.column(1).AppendBytes(v);
    b.CommitRow(0);
  }
  RecordBatch out = *b.Finish("s", "");
  out.ops.assign(ops.begin(), ops.end());
  return out;
}

TEST(MysqlCompact, EachKeyKeepsItsFinalOperation) {
  RecordBatch b =
      Changes({{1, "a"}, {2, "b"}, {1, "a2"}, {2, ""}, {3, "c"}, {3, ""}, {3, "c3"}}, "ccudcdc");
  CompactedBatch c = CompactByKey(b, {0}, true);
  EXPECT_TRUE(c.refused.empty());
  EXPECT_EQ(c.deletes, (std::vector<int64_t>{3}));
  ASSERT_EQ(c.upserts.size(), 2u);
  EXPECT_EQ(c.upserts[0].row, 2);  // key 1: its last version
  EXPECT_FALSE(c.upserts[0].delete_first);
  EXPECT_TRUE(c.upserts[0].from.empty());
  EXPECT_EQ(c.upserts[1].row, 6);  // key 3: deleted, then inserted again
  EXPECT_TRUE(c.upserts[1].delete_first);
}

TEST(MysqlCompact, UnchangedValuesComeFromEarlierRowsOrStayStored) {
  RecordBatch b =
      Changes({{1, "x"}, {1, "ignored"}, {2, "ignored"}, {3, ""}, {3, "ignored"}}, "uuudc");
  b.unchanged = {{}, {0, 1, 1, 0, 1}};
  CompactedBatch c = CompactByKey(b, {0}, true);
  ASSERT_EQ(c.upserts.size(), 3u);
  EXPECT_EQ(c.upserts[0].from, (std::vector<int64_t>{1, 0}));                      // v from row 0
  EXPECT_EQ(c.upserts[1].from, (std::vector<int64_t>{2, CompactedBatch::kKeep}));  // v as stored
  EXPECT_EQ(c.upserts[2].from, (std::vector<int64_t>{4, CompactedBatch::kNull}));  // deleted first
}

TEST(MysqlCompact, RefusesNullKeysAndDeletesInUpsertMode) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"k", DataType::String()}});
  RecordBatchBuilder bb(schema);
  bb.column(0).AppendNull();
  bb.CommitRow(0);
  bb.column(0).AppendBytes("a");
  bb.CommitRow(0);
  RecordBatch b = *bb.Finish("s", "");
  b.ops = {'c', 'd'};
  CompactedBatch c = CompactByKey(b, {0}, false);
  ASSERT_EQ(c.refused.size(), 2u);
  EXPECT_NE(c.refused[0].second.find("key column 'k' is null"), std::string::npos);
  EXPECT_NE(c.refused[1].second.find("mode: replicate"), std::string::npos);
  EXPECT_TRUE(c.upserts.empty());
  EXPECT_TRUE(c.deletes.empty());
}

}  // namespace
}  // namespace sluice::mysql
