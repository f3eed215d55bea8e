#include "connectors/sql/change_compact.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::sql {
namespace {

// A batch (id int64, name string, note string) with ops; `unchanged` marks note per row.
RecordBatch Batch(const std::vector<int64_t>& ids, const std::vector<std::string>& names,
                  const std::vector<char>& ops, const std::vector<uint8_t>& note_unchanged = {}) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"id", DataType::Int64()}, {"name", DataType::String()}, {"note", DataType::String()}});
  ColumnBuilder id(DataType::Int64()), name(DataType::String()), note(DataType::String());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0) {
      id.AppendNull();
    } else {
      id.AppendInt64(ids[i]);
    }
    name.AppendBytes(names[i]);
    note.AppendBytes("note-" + names[i]);
  }
  RecordBatch b(schema, {id.Finish(), name.Finish(), note.Finish()},
                static_cast<int64_t>(ids.size()));
  b.ops = ops;
  if (!note_unchanged.empty()) b.unchanged = {{}, {}, note_unchanged};
  return b;
}

std::string Ops(const CompactedRows& c) {
  std::string out;
  for (int64_t i = 0; i < c.num_rows; ++i) out += c.ops->BytesAt(i);
  return out;
}

TEST(ChangeCompact, DistinctKeysPassAsTheyAre) {
  RecordBatch b = Batch({1, 2, 3}, {"a", "b", "c"}, {'c', 'u', 'd'});
  CompactedRows c = CompactByKey(b, {0}, true);
  EXPECT_EQ(c.num_rows, 3);
  EXPECT_EQ(Ops(c), "ccd");
  EXPECT_EQ(c.columns[0], &b.column(0));  // no copy
  EXPECT_TRUE(c.has_deletes);
  EXPECT_FALSE(c.has_partial);
}

TEST(ChangeCompact, UpsertKeepsTheLastRowOfEachKeyInSourceOrder) {
  RecordBatch b = Batch({1, 2, 1, 3, 2}, {"a1", "b1", "a2", "c1", "b2"}, {});
  CompactedRows c = CompactByKey(b, {0}, false);
  ASSERT_EQ(c.num_rows, 3);
  EXPECT_EQ(c.batch_row, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(c.columns[1]->BytesAt(0), "a2");
  EXPECT_EQ(c.columns[1]->BytesAt(1), "c1");
  EXPECT_EQ(c.columns[1]->BytesAt(2), "b2");
  EXPECT_EQ(Ops(c), "ccc");
}

TEST(ChangeCompact, InsertUpdateDeleteReinsertOfOneKey) {
  RecordBatch b = Batch({7, 7, 7, 7}, {"v1", "v2", "gone", "v3"}, {'c', 'u', 'd', 'c'});
  CompactedRows c = CompactByKey(b, {0}, true);
  ASSERT_EQ(c.num_rows, 1);
  EXPECT_EQ(Ops(c), "R");  // delete, then insert
  EXPECT_EQ(c.columns[1]->BytesAt(0), "v3");
  EXPECT_EQ(c.batch_row[0], 3);
  EXPECT_TRUE(c.has_deletes);
}

TEST(ChangeCompact, InsertThenDeleteIsADelete) {
  RecordBatch b = Batch({7, 7}, {"v1", "v1"}, {'c', 'd'});
  CompactedRows c = CompactByKey(b, {0}, true);
  EXPECT_EQ(Ops(c), "d");
}

TEST(ChangeCompact, UnchangedValueIsTakenFromAnEarlierOperation) {
  // Row 1 sets the note; row 2 updates the name and leaves the note unchanged.
  RecordBatch b = Batch({5, 5}, {"first", "second"}, {'u', 'u'}, {0, 1});
  CompactedRows c = CompactByKey(b, {0}, true);
  ASSERT_EQ(c.num_rows, 1);
  EXPECT_EQ(Ops(c), "c");
  EXPECT_EQ(c.columns[1]->BytesAt(0), "second");
  EXPECT_EQ(c.columns[2]->BytesAt(0), "note-first");
  EXPECT_TRUE(c.unchanged->IsNull(0));
}

TEST(ChangeCompact, UnchangedValueWithoutEarlierOperationStaysUnchanged) {
  RecordBatch b = Batch({5, 6}, {"x", "y"}, {'u', 'u'}, {1, 0});
  CompactedRows c = CompactByKey(b, {0}, true);
  ASSERT_EQ(c.num_rows, 2);
  EXPECT_EQ(Ops(c), "pc");
  EXPECT_EQ(c.unchanged->BytesAt(0), "001");  // the third column (note) is left as stored
  EXPECT_TRUE(c.columns[2]->IsNull(0));
  EXPECT_TRUE(c.unchanged->IsNull(1));
  EXPECT_TRUE(c.has_partial);
}

TEST(ChangeCompact, NullKeysAreSetAside) {
  RecordBatch b = Batch({1, -1, 2}, {"a", "b", "c"}, {});
  CompactedRows c = CompactByKey(b, {0}, false);
  EXPECT_EQ(c.null_key_rows, (std::vector<int64_t>{1}));
  EXPECT_EQ(c.num_rows, 2);
  EXPECT_EQ(c.batch_row, (std::vector<int64_t>{0, 2}));
}

TEST(ChangeCompact, CompositeKeysWithVariableWidthPartsDoNotCollide) {
  // (id, name) keys ("1","ab") vs ("1","a"): distinct.
  RecordBatch b = Batch({1, 1}, {"ab", "a"}, {});
  CompactedRows c = CompactByKey(b, {0, 1}, false);
  EXPECT_EQ(c.num_rows, 2);
}

}  // namespace
}  // namespace sluice::sql
