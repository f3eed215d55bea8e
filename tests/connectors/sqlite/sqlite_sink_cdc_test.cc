// The sqlite sink's change data modes: replicate (apply by key) and changelog (one row per
// change). Batches are built with ops, unchanged marks and change sources directly, as a CDC
// source emits them, and driven through the Sink interface as the runtime does.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/sqlite/sqlite_sink.h"
#include "core/record_batch.h"

namespace sluice {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// One change: op, key, name and note (nullopt: SQL NULL), whether note is unchanged (not sent),
// and the old row as JSON ("" when the source sent none).
struct Change {
  char op;
  int64_t id;
  std::optional<std::string> name;
  std::optional<std::string> note;
  bool note_unchanged = false;
  std::string before;
};

class SqliteSinkCdcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice_sqlite_cdc_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    RegisterSqliteConnector(registry_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string db_path() const { return dir_ + "/wh.db"; }

  Result<std::unique_ptr<Sink>> Make(const std::string& mode, std::vector<std::string> key) {
    ConfigNode block;
    block.SetKind(ConfigNode::Kind::kMap);
    block.SetLocation("sink", 1);
    block.AddEntry("type", ConfigNode::Scalar("sqlite", "sink.type"));
    block.AddEntry("path", ConfigNode::Scalar("wh.db", "sink.path"));
    block.AddEntry("table", ConfigNode::Scalar("t", "sink.table"));
    block.AddEntry("mode", ConfigNode::Scalar(mode, "sink.mode"));
    if (!key.empty()) {
      ConfigNode list;
      list.SetKind(ConfigNode::Kind::kList);
      list.SetLocation("sink.key", 1);
      for (auto& k : key) list.AddItem(ConfigNode::Scalar(k, "sink.key[]"));
      block.AddEntry("key", std::move(list));
    }
    const ConnectorInfo* info = registry_.Find("sink", "sqlite");
    if (!info) return Status::NotFound("sqlite sink not registered");
    RETURN_IF_ERROR(ValidateOptions(block, info->options));
    ConnectorContext ctx;
    ctx.pipeline = "cdc_pipeline";
    ctx.base_dir = dir_;
    return info->make_sink(ctx, block);
  }

  std::unique_ptr<Sink> Open(const std::string& mode, std::vector<std::string> key = {"id"}) {
    auto sink = Make(mode, std::move(key));
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    if (!sink.ok()) return nullptr;
    Status st = (*sink)->Open();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return std::move(*sink);
  }

  // Every value as text on a separate connection; NULL as "NULL".
  Rows Query(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    Rows rows;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      rows.push_back({std::string("ERROR: ") + sqlite3_errmsg(db)});
    } else {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        std::vector<std::string> row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
          if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
            row.push_back("NULL");
          } else {
            const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
            row.emplace_back(p, static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
          }
        }
        rows.push_back(std::move(row));
      }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
  }

  Rows Table() { return Query("SELECT id, name, note FROM t ORDER BY id"); }

  std::string dir_;
  ConnectorRegistry registry_;
};

// A CDC batch of (id, name, note) rows; every change is of transaction `txid`, committed at
// position "0/<txid>".
RecordBatchPtr Changes(const std::vector<Change>& changes, int64_t txid = 7) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"id", DataType::Int64()}, {"name", DataType::String()}, {"note", DataType::String()}});
  RecordBatchBuilder b(schema);
  int64_t line = 1;
  for (const Change& c : changes) {
    b.column(0).AppendInt64(c.id);
    if (c.name) b.column(1).AppendBytes(*c.name);
    else b.column(1).AppendNull();
    if (c.note && !c.note_unchanged) b.column(2).AppendBytes(*c.note);
    else b.column(2).AppendNull();
    b.CommitRow(line++);
  }
  auto batch = std::const_pointer_cast<RecordBatch>(b.Finish("public.t", "wal"));
  batch->source_db = "shop";
  batch->source_table = "public.t";
  std::vector<uint8_t> unchanged;
  bool any = false;
  for (const Change& c : changes) {
    batch->ops.push_back(c.op);
    unchanged.push_back(c.note_unchanged ? 1 : 0);
    any |= c.note_unchanged;
    RecordBatch::ChangeSource src;
    src.position = "0/" + std::to_string(txid);
    src.txid = txid;
    src.commit_us = c.op == 'r' ? 0 : 1700000000000000 + txid;
    src.before = c.before;
    batch->changes.push_back(src);
  }
  if (any) batch->unchanged = {{}, {}, unchanged};
  return batch;
}

CommitState State(const std::string& lsn, int64_t rows) {
  CommitState s;
  s.positions.push_back({"public.t", "cdc", "{\"lsn\":\"" + lsn + "\"}"});
  s.counters.rows_in = rows;
  s.counters.rows_out = rows;
  return s;
}

void Ok(const Status& st) { ASSERT_TRUE(st.ok()) << st.ToString(); }

const std::pair<std::string, std::string> kPos{"public.t", "cdc"};

TEST_F(SqliteSinkCdcTest, DescribeListsTheChangeModesAndReplicateNeedsAKey) {
  const ConnectorInfo* info = registry_.Find("sink", "sqlite");
  ASSERT_NE(info, nullptr);
  auto mode = std::find_if(info->options.begin(), info->options.end(),
                           [](const auto& o) { return o.name == "mode"; });
  ASSERT_NE(mode, info->options.end());
  EXPECT_EQ(mode->choices, (std::vector<std::string>{"append", "upsert", "replace", "replicate", "changelog"}));
  auto keyless = Make("replicate", {});
  ASSERT_FALSE(keyless.ok());
  EXPECT_EQ(keyless.status().message(),
            "sink.key: required when mode is replicate: the columns that identify a row, for example key: [id]");
  auto sink = Open("changelog", {});
  ASSERT_TRUE(sink);
  EXPECT_EQ(sink->Describe(), "sqlite wh.db table t (changelog)");
}

TEST_F(SqliteSinkCdcTest, ReplicateAppliesInsertsUpdatesAndDeletesByKey) {
  auto sink = Open("replicate");
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Changes({{'r', 1, "ann", "n1"}, {'c', 2, "bob", "n2"}, {'c', 3, "cy", "n3"}})));
  Ok(sink->Commit(State("0/10", 3)));
  EXPECT_EQ(Table(), (Rows{{"1", "ann", "n1"}, {"2", "bob", "n2"}, {"3", "cy", "n3"}}));
  Ok(sink->Write(*Changes({{'u', 2, "bobby", "n2b"}, {'d', 3, std::nullopt, std::nullopt}})));
  // A second batch of the same group, applied after the first.
  Ok(sink->Write(*Changes({{'c', 4, "dee", std::nullopt}, {'u', 1, "anne", "n1b"}})));
  Ok(sink->Commit(State("0/20", 4)));
  EXPECT_EQ(Table(), (Rows{{"1", "anne", "n1b"}, {"2", "bobby", "n2b"}, {"4", "dee", "NULL"}}));
  EXPECT_TRUE(sink->TakeRefused().empty());
  // A delete of a key the table does not hold changes nothing.
  Ok(sink->Write(*Changes({{'d', 99, std::nullopt, std::nullopt}})));
  Ok(sink->Commit(State("0/30", 1)));
  EXPECT_EQ(Table().size(), 3u);
  EXPECT_TRUE(sink->TakeRefused().empty());
}

TEST_F(SqliteSinkCdcTest, DeleteThenReinsertInOneGroupLeavesOnlyTheNewRow) {
  auto sink = Open("replicate");
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Changes({{'c', 1, "ann", "old note"}, {'c', 2, "bob", "n2"}})));
  Ok(sink->Commit(State("0/10", 2)));
  // The re-inserted row has no note: the old one must not survive.
  Ok(sink->Write(*Changes({{'d', 1, std::nullopt, std::nullopt}, {'c', 1, "ann2", std::nullopt}})));
  Ok(sink->Commit(State("0/20", 2)));
  EXPECT_EQ(Table(), (Rows{{"1", "ann2", "NULL"}, {"2", "bob", "n2"}}));
}

TEST_F(SqliteSinkCdcTest, UpdateWithAnUnchangedColumnKeepsTheStoredValue) {
  auto sink = Open("replicate");
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Changes({{'c', 1, "ann", "a large toasted note"}, {'c', 2, "bob", "n2"}})));
  Ok(sink->Commit(State("0/10", 2)));
  Ok(sink->Write(*Changes({{'u', 1, "anne", std::nullopt, true}, {'u', 2, "bobby", std::nullopt}})));
  Ok(sink->Commit(State("0/20", 2)));
  // Row 1's note was not sent and stays; row 2's note was sent as null and is null.
  EXPECT_EQ(Table(), (Rows{{"1", "anne", "a large toasted note"}, {"2", "bobby", "NULL"}}));
  EXPECT_TRUE(sink->TakeRefused().empty());
}

TEST_F(SqliteSinkCdcTest, AKeyTouchedFiveTimesInOneGroupEndsAtItsLastOperation) {
  auto sink = Open("replicate");
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Changes({{'c', 5, "stored", "stored note"}})));
  Ok(sink->Commit(State("0/10", 1)));
  Ok(sink->Write(*Changes({
      // key 1: insert, update, partial update, delete, re-insert
      {'c', 1, "v1", "n1"},
      {'u', 1, "v2", "n2"},
      {'u', 1, "v3", std::nullopt, true},
      {'d', 1, std::nullopt, std::nullopt},
      {'c', 1, "v5", "n5"},
      // key 2: insert and four updates, the last ones without the note: it comes from the
      // earlier update in the group
      {'c', 2, "w1", "m1"},
      {'u', 2, "w2", "m2"},
      {'u', 2, "w3", std::nullopt, true},
      {'u', 2, "w4", std::nullopt, true},
      {'u', 2, "w5", std::nullopt, true},
      // key 3: five operations that end with a delete
      {'c', 3, "x1", "o1"},
      {'u', 3, "x2", "o2"},
      {'d', 3, std::nullopt, std::nullopt},
      {'c', 3, "x4", "o4"},
      {'d', 3, std::nullopt, std::nullopt},
      // key 5 (stored): four partial updates and a full one
      {'u', 5, "y1", std::nullopt, true},
      {'u', 5, "y2", std::nullopt, true},
      {'u', 5, "y3", std::nullopt, true},
      {'u', 5, "y4", std::nullopt, true},
      {'u', 5, "y5", std::nullopt, true},
  })));
  Ok(sink->Commit(State("0/20", 20)));
  EXPECT_EQ(Table(), (Rows{{"1", "v5", "n5"}, {"2", "w5", "m2"}, {"5", "y5", "stored note"}}));
  EXPECT_TRUE(sink->TakeRefused().empty());
}

TEST_F(SqliteSinkCdcTest, AnUpdateOfAMissingRowIsInsertedOnlyWhenWhole) {
  auto sink = Open("replicate");
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Changes({{'u', 8, "whole", "sent"}, {'u', 9, "partial", std::nullopt, true}})));
  std::vector<RejectedRow> refused = sink->TakeRefused();
  Ok(sink->Commit(State("0/10", 2)));
  EXPECT_EQ(Table(), (Rows{{"8", "whole", "sent"}}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].stream, "public.t");
  EXPECT_EQ(refused[0].rule, "sink");
  EXPECT_EQ(refused[0].column, "note");
  EXPECT_EQ(refused[0].origin, "wal:2");
  EXPECT_NE(refused[0].reason.find("sqlite table \"t\" refused the row: an update of a row that the "
                                   "table does not hold, and the source did not send column(s) note"),
            std::string::npos)
      << refused[0].reason;
  EXPECT_NE(refused[0].raw.find("\"id\":9"), std::string::npos) << refused[0].raw;
}

TEST_F(SqliteSinkCdcTest, ARowWithANullKeyIsRefused) {
  auto sink = Open("replicate");
  ASSERT_TRUE(sink);
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"id", DataType::Int64()}, {"name", DataType::String()}});
  RecordBatchBuilder b(schema);
  b.column(0).AppendNull();
  b.column(1).AppendBytes("nobody");
  b.CommitRow(1);
  b.column(0).AppendInt64(1);
  b.column(1).AppendBytes("ann");
  b.CommitRow(2);
  auto batch = std::const_pointer_cast<RecordBatch>(b.Finish("public.t", "wal"));
  batch->ops = {'c', 'c'};
  Ok(sink->Write(*batch));
  auto refused = sink->TakeRefused();
  Ok(sink->Commit(State("0/10", 2)));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].origin, "wal:1");
  EXPECT_NE(refused[0].reason.find("the key (id) is null"), std::string::npos) << refused[0].reason;
  EXPECT_EQ(Query("SELECT id, name FROM t"), (Rows{{"1", "ann"}}));
}

TEST_F(SqliteSinkCdcTest, AbortLeavesNothingAndARestartReadsTheState) {
  {
    auto sink = Open("replicate");
    ASSERT_TRUE(sink);
    Ok(sink->Write(*Changes({{'c', 1, "ann", "n1"}, {'c', 2, "bob", "n2"}})));
    Ok(sink->Commit(State("0/10", 2)));
    Ok(sink->Write(*Changes({{'d', 1, std::nullopt, std::nullopt},
                             {'u', 2, "bobby", std::nullopt, true},
                             {'c', 3, "cy", "n3"}})));
    Ok(sink->Abort());
    EXPECT_EQ(Table(), (Rows{{"1", "ann", "n1"}, {"2", "bob", "n2"}}));
    auto loaded = sink->LoadState();
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->at(kPos), "{\"lsn\":\"0/10\"}");
    // Uncommitted and then dropped, as a crash would.
    Ok(sink->Write(*Changes({{'d', 2, std::nullopt, std::nullopt}})));
  }
  EXPECT_EQ(Table(), (Rows{{"1", "ann", "n1"}, {"2", "bob", "n2"}}));
  auto sink = Open("replicate");
  ASSERT_TRUE(sink);
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->at(kPos), "{\"lsn\":\"0/10\"}");
  // The replayed group applies once.
  Ok(sink->Write(*Changes({{'d', 1, std::nullopt, std::nullopt},
                           {'u', 2, "bobby", std::nullopt, true},
                           {'c', 3, "cy", "n3"}})));
  Ok(sink->Commit(State("0/20", 3)));
  EXPECT_EQ(Table(), (Rows{{"2", "bobby", "n2"}, {"3", "cy", "n3"}}));
  EXPECT_EQ(sink->LoadState()->at(kPos), "{\"lsn\":\"0/20\"}");
}

TEST_F(SqliteSinkCdcTest, ReplicateUsesAnExistingPrimaryKey) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, note TEXT, extra TEXT);"
                               "INSERT INTO t VALUES (1, 'ann', 'n1', 'kept')", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto sink = Open("replicate");
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Changes({{'u', 1, "anne", std::nullopt, true}, {'c', 2, "bob", "n2"}})));
  Ok(sink->Commit(State("0/10", 2)));
  EXPECT_EQ(Query("SELECT id, name, note, extra FROM t ORDER BY id"),
            (Rows{{"1", "anne", "n1", "kept"}, {"2", "bob", "n2", "NULL"}}));
  EXPECT_EQ(Query("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 't__sluice_key'"),
            (Rows{{"0"}}));
}

TEST_F(SqliteSinkCdcTest, ChangelogAppendsOneRowPerChangeInOrder) {
  auto sink = Open("changelog", {});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Changes({{'r', 1, "ann", "n1"}, {'c', 2, "bob", std::nullopt}}, 5)));
  Ok(sink->Commit(State("0/5", 2)));
  Ok(sink->Write(*Changes({{'u', 1, "anne", std::nullopt, true, "{\"id\":1,\"name\":\"ann\"}"},
                           {'d', 2, std::nullopt, std::nullopt, false, "{\"id\":2}"}},
                          9)));
  Ok(sink->Commit(State("0/9", 2)));
  EXPECT_EQ(Query("SELECT name, type FROM pragma_table_info('t')"),
            (Rows{{"_sluice_seq", "INTEGER"}, {"op", "TEXT"}, {"before", "TEXT"}, {"after", "TEXT"}, {"source", "TEXT"}}));
  Rows rows = Query("SELECT _sluice_seq, op, before, after, source FROM t ORDER BY _sluice_seq");
  ASSERT_EQ(rows.size(), 4u);
  std::vector<std::string> ops;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0], std::to_string(i + 1));
    ops.push_back(rows[i][1]);
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"r", "c", "u", "d"}));
  // Snapshot read: no before, the whole row, no commit time.
  EXPECT_EQ(rows[0][2], "NULL");
  EXPECT_EQ(nlohmann::json::parse(rows[0][3]), nlohmann::json::parse(R"({"id":1,"name":"ann","note":"n1"})"));
  EXPECT_EQ(nlohmann::json::parse(rows[0][4]),
            nlohmann::json::parse(R"({"db":"shop","table":"public.t","position":"0/5","txid":5,"ts_us":null})"));
  // A null value is null in `after`.
  EXPECT_EQ(nlohmann::json::parse(rows[1][3]), nlohmann::json::parse(R"({"id":2,"name":"bob","note":null})"));
  // Update: the old row as sent; the unchanged column is left out of `after`.
  EXPECT_EQ(nlohmann::json::parse(rows[2][2]), nlohmann::json::parse(R"({"id":1,"name":"ann"})"));
  EXPECT_EQ(nlohmann::json::parse(rows[2][3]), nlohmann::json::parse(R"({"id":1,"name":"anne"})"));
  EXPECT_EQ(nlohmann::json::parse(rows[2][4]),
            nlohmann::json::parse(
                R"({"db":"shop","table":"public.t","position":"0/9","txid":9,"ts_us":1700000000000009})"));
  // Delete: no after.
  EXPECT_EQ(nlohmann::json::parse(rows[3][2]), nlohmann::json::parse(R"({"id":2})"));
  EXPECT_EQ(rows[3][3], "NULL");
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->at(kPos), "{\"lsn\":\"0/9\"}");
}

TEST_F(SqliteSinkCdcTest, ChangelogAbortLeavesNothingAndOrdinalsKeepGrowing) {
  auto sink = Open("changelog", {});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Changes({{'c', 1, "ann", "n1"}})));
  Ok(sink->Commit(State("0/1", 1)));
  Ok(sink->Write(*Changes({{'c', 2, "bob", "n2"}, {'c', 3, "cy", "n3"}})));
  Ok(sink->Abort());
  EXPECT_EQ(Query("SELECT _sluice_seq, op, json_extract(after, '$.id') FROM t"), (Rows{{"1", "c", "1"}}));
  EXPECT_EQ(sink->LoadState()->at(kPos), "{\"lsn\":\"0/1\"}");
  Ok(sink->Write(*Changes({{'c', 2, "bob", "n2"}, {'d', 1, std::nullopt, std::nullopt}})));
  Ok(sink->Commit(State("0/3", 2)));
  Ok(sink->Close());
  auto again = Open("changelog", {});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->LoadState()->at(kPos), "{\"lsn\":\"0/3\"}");
  Ok(again->Write(*Changes({{'u', 2, "bobby", "n2b"}})));
  Ok(again->Commit(State("0/4", 1)));
  EXPECT_EQ(Query("SELECT _sluice_seq, op, json_extract(after, '$.name') FROM t ORDER BY _sluice_seq"),
            (Rows{{"1", "c", "ann"}, {"2", "c", "bob"}, {"3", "d", "NULL"}, {"4", "u", "bobby"}}));
  // The delete's source sent no old row: `before` is the deleted row as it came, so the event
  // says which row went.
  EXPECT_EQ(Query("SELECT json_extract(before, '$.id') FROM t WHERE op = 'd'"), (Rows{{"1"}}));
}

}  // namespace
}  // namespace sluice
