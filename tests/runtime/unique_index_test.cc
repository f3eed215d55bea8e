#include "runtime/unique_index.h"

#include <gtest/gtest.h>

#include "core/record_batch.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

RecordBatchPtr Ids(std::vector<int64_t> ids) {
  auto schema = std::make_shared<const Schema>(std::vector<Field>{{"id", DataType::Int64(), true}});
  RecordBatchBuilder b(schema);
  for (int64_t id : ids) {
    if (id < 0) {
      b.column(0).AppendNull();
    } else {
      b.column(0).AppendInt64(id);
    }
    b.CommitRow(id);
  }
  return b.Finish("s", "in.csv");
}

TEST(UniqueKeyIndex, RejectsValuesOfEarlierGroupsOnly) {
  testing::TempDir dir;
  const std::string path = dir.File("keys.db");
  StateMap committed;
  {
    auto idx = UniqueKeyIndex::Open(path, "p", {"id"}, committed);
    ASSERT_TRUE(idx.ok()) << idx.status().message();
    std::vector<RejectedRow> rejects;
    auto kept = (*idx)->Filter(Ids({1, 2, -1}), &rejects);
    ASSERT_TRUE(kept.ok());
    EXPECT_EQ((*kept)->num_rows(), 3);  // nulls are not values
    SourcePosition pos;
    ASSERT_TRUE((*idx)->Commit(&pos).ok());
    EXPECT_EQ(pos.key, kUniqueSeqKey);
    EXPECT_EQ(pos.value, "1");
    committed[{"", kUniqueSeqKey}] = pos.value;  // the sink committed group 1
  }
  auto idx = UniqueKeyIndex::Open(path, "p", {"id"}, committed);
  ASSERT_TRUE(idx.ok());
  std::vector<RejectedRow> rejects;
  auto kept = (*idx)->Filter(Ids({2, 3}), &rejects);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ((*kept)->num_rows(), 1);
  EXPECT_EQ((*kept)->column(0).Int64At(0), 3);
  EXPECT_EQ((*kept)->origin_lines, std::vector<int64_t>{3});
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].rule, "unique");
  EXPECT_EQ(rejects[0].column, "id");
  EXPECT_EQ(rejects[0].origin, "in.csv:2");
  EXPECT_EQ(rejects[0].raw, "{\"id\":2}");
}

TEST(UniqueKeyIndex, ForgetsAGroupTheSinkNeverCommitted) {
  testing::TempDir dir;
  const std::string path = dir.File("keys.db");
  {
    auto idx = UniqueKeyIndex::Open(path, "p", {"id"}, {});
    std::vector<RejectedRow> rejects;
    ASSERT_TRUE((*idx)->Filter(Ids({7}), &rejects).ok());
    SourcePosition pos;
    ASSERT_TRUE((*idx)->Commit(&pos).ok());
    // ... and the process dies before the sink commits group 1.
  }
  auto idx = UniqueKeyIndex::Open(path, "p", {"id"}, {});
  std::vector<RejectedRow> rejects;
  auto kept = (*idx)->Filter(Ids({7}), &rejects);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ((*kept)->num_rows(), 1);
  EXPECT_TRUE(rejects.empty());
}

TEST(UniqueKeyIndex, AnAbortedGroupLeavesNothing) {
  testing::TempDir dir;
  auto idx = UniqueKeyIndex::Open(dir.File("keys.db"), "p", {"id"}, {});
  std::vector<RejectedRow> rejects;
  ASSERT_TRUE((*idx)->Filter(Ids({5}), &rejects).ok());
  (*idx)->Abort();
  auto kept = (*idx)->Filter(Ids({5}), &rejects);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ((*kept)->num_rows(), 1);
}

}  // namespace
}  // namespace sluice
