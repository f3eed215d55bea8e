#include "connectors/sql/changelog.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sluice::sql {
namespace {

// One row (id 1, name "ann", note unchanged) of an update at `position`.
RecordBatch Update(const std::string& position) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"id", DataType::Int64()}, {"name", DataType::String()}, {"note", DataType::String()}});
  ColumnBuilder id(DataType::Int64()), name(DataType::String()), note(DataType::String());
  id.AppendInt64(1);
  name.AppendBytes("ann");
  note.AppendNull();
  RecordBatch b(schema, {id.Finish(), name.Finish(), note.Finish()}, 1);
  b.stream = "items";
  b.ops = {'u'};
  b.unchanged = {{}, {}, {1}};
  b.changes = {{position, 0, 0, ""}};
  return b;
}

TEST(Changelog, UnchangedColumnsAreLeftOutOfAfterAndAStreamStandsForAMissingTable) {
  RecordBatch b = Update("17");
  EXPECT_EQ(ChangeAfterJson(b, 0), R"({"id":1,"name":"ann"})");
  EXPECT_EQ(ChangeBeforeJson(b, 0), "");
  EXPECT_EQ(ChangeSourceJson(b, 0),
            R"({"db":null,"table":"items","position":"17","txid":null,"ts_us":null})");
  RecordBatchPtr rows = ChangelogBatch(b);
  ASSERT_EQ(rows->num_rows(), 1);
  EXPECT_EQ(rows->column(0).BytesAt(0), "u");
  EXPECT_TRUE(rows->column(1).IsNull(0));
  EXPECT_EQ(rows->column(2).BytesAt(0), R"({"id":1,"name":"ann"})");
  EXPECT_EQ(rows->column(3).BytesAt(0), ChangeSourceJson(b, 0));
}

TEST(Changelog, ADeleteWithoutAnOldRowFromTheSourceHasItsOwnRowAsBefore) {
  RecordBatch b = Update("17");
  b.ops = {'d'};
  EXPECT_EQ(ChangeAfterJson(b, 0), "");
  EXPECT_EQ(ChangeBeforeJson(b, 0), R"({"id":1,"name":"ann"})");
  b.changes[0].before = R"({"id":1})";
  EXPECT_EQ(ChangeBeforeJson(b, 0), R"({"id":1})");
  RecordBatchPtr rows = ChangelogBatch(b);
  EXPECT_EQ(rows->column(0).BytesAt(0), "d");
  EXPECT_EQ(rows->column(1).BytesAt(0), R"({"id":1})");
  EXPECT_TRUE(rows->column(2).IsNull(0));
}

TEST(Changelog, ATypedOldRowIsRenderedAsTheAfterImageIs) {
  RecordBatch b = Update("17");
  b.unchanged.clear();
  b.changes[0].before_row = 1;  // the second old row
  auto schema = b.schema();
  ColumnBuilder id(DataType::Int64()), name(DataType::String()), note(DataType::String());
  for (const char* n : {"x", "bob"}) {
    id.AppendInt64(1);
    name.AppendBytes(n);
    note.AppendBytes("old");
  }
  b.before_rows = std::make_shared<RecordBatch>(schema, std::vector<ColumnPtr>{id.Finish(), name.Finish(), note.Finish()}, 2);
  EXPECT_EQ(ChangeBeforeJson(b, 0), R"({"id":1,"name":"bob","note":"old"})");
  EXPECT_EQ(nlohmann::json::parse(DebeziumEventJson(b, 0, 5))["before"]["name"], "bob");
  // Rows selected out of the batch keep their old rows.
  auto shared = std::make_shared<RecordBatch>(b);
  RecordBatchPtr one = SelectRows(shared, {0});
  EXPECT_EQ(ChangeBeforeJson(*one, 0), R"({"id":1,"name":"bob","note":"old"})");
  // An index out of range, or no old rows: no before image rather than a wrong one.
  b.changes[0].before_row = 2;
  EXPECT_EQ(ChangeBeforeJson(b, 0), "");
}

TEST(Changelog, DebeziumSourceNamesTheKindOfPosition) {
  auto source = [](const std::string& position) {
    RecordBatch b = Update(position);
    return nlohmann::json::parse(DebeziumEventJson(b, 0, 5))["source"];
  };
  EXPECT_EQ(source("0/16B3748")["lsn"], 0x16B3748);
  EXPECT_EQ(source("0-1-42")["gtid"], "0-1-42");
  EXPECT_EQ(source("3E11FA47-71CA-11E1-9E33-C80AA9429562:23")["gtid"],
            "3E11FA47-71CA-11E1-9E33-C80AA9429562:23");
  auto seq = source("17");
  EXPECT_EQ(seq["position"], "17");
  EXPECT_FALSE(seq.contains("gtid"));
  EXPECT_FALSE(seq.contains("lsn"));
  EXPECT_FALSE(source("")["position"].is_string());
}

}  // namespace
}  // namespace sluice::sql
