// The file source against real files: resume points, appends, changed prefixes, growing files,
// compression and unreadable files.

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <set>

#include "config/pipeline_config.h"
#include "connectors/connector.h"
#include "core/log.h"
#include "state/state_store.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

class CollectEmitter : public Emitter {
 public:
  Status Emit(Envelope env) override {
    if (env.batch) {
      int col = env.batch->schema()->IndexOf("id");
      for (int64_t i = 0; i < env.batch->num_rows(); ++i) ids.push_back(env.batch->column(static_cast<size_t>(col)).Int64At(i));
    }
    for (auto& r : env.rejects) rejects.push_back(r);
    for (auto& p : env.positions) {
      state[{p.stream, p.key}] = p.value;
      positions.push_back(p);
      rows_at_position.push_back(ids.size());
    }
    return Status::OK();
  }
  bool StopRequested() const override { return false; }
  std::vector<int64_t> ids;
  std::vector<RejectedRow> rejects;
  std::vector<SourcePosition> positions;
  std::vector<size_t> rows_at_position;  // rows emitted up to each position
  StateMap state;
};

std::string Rows(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += std::to_string(i) + ",name " + std::to_string(i) + "\n";
  return s;
}

class FileSourceTest : public ::testing::Test {
 public:
  void SetUp() override {
    log_.SetLevel(LogLevel::kError);
    auto st = StateStore::Open(dir_.File(".sluice/state.db"));
    ASSERT_TRUE(st.ok());
    state_ = std::move(st).value();
  }

  // Runs the source once from `committed`; returns what it emitted.
  CollectEmitter RunOnce(const std::string& options, const StateMap& committed, Status* run_status = nullptr,
                         std::vector<std::string>* failures = nullptr) {
    auto node = ParseYaml("{type: file, " + options + "}", "test");
    EXPECT_TRUE(node.ok());
    node->SetLocation("source", 1);
    ConnectorContext ctx;
    ctx.pipeline = "p";
    ctx.base_dir = dir_.path();
    ctx.state = state_.get();
    ctx.log = &log_;
    ctx.schema_evolution = evolution_;
    auto src = BuiltinConnectors().Find("source", "file")->make_source(ctx, *node);
    EXPECT_TRUE(src.ok()) << src.status().ToString();
    EXPECT_TRUE((*src)->Open(committed).ok());
    CollectEmitter out;
    Status st = (*src)->Run(out);
    if (run_status) *run_status = st;
    else EXPECT_TRUE(st.ok()) << st.ToString();
    if (failures) *failures = (*src)->Failures();
    return out;
  }

  void WriteGzip(const std::string& name, const std::string& content) {
    gzFile f = gzopen(dir_.File(name).c_str(), "wb");
    gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
    gzclose(f);
  }
  void WriteZstd(const std::string& name, const std::string& content) {
    std::string out(ZSTD_compressBound(content.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), content.data(), content.size(), 3));
    dir_.Write(name, out);
  }

  testing::TempDir dir_;
  std::string evolution_ = "evolve";
  Logger log_;
  std::unique_ptr<StateStore> state_;
};

std::vector<int64_t> Range(int from, int to) {
  std::vector<int64_t> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

TEST_F(FileSourceTest, RerunReadsNothingAndAppendsAreReadOnce) {
  dir_.Write("a.csv", "id,name\n" + Rows(0, 1000));
  CollectEmitter first = RunOnce("path: a.csv, settle_time: 0s", {});
  EXPECT_EQ(first.ids, Range(0, 1000));
  CollectEmitter again = RunOnce("path: a.csv, settle_time: 0s", first.state);
  EXPECT_TRUE(again.ids.empty());
  std::ofstream(dir_.File("a.csv"), std::ios::app) << Rows(1000, 1500);
  CollectEmitter appended = RunOnce("path: a.csv, settle_time: 0s", first.state);
  EXPECT_EQ(appended.ids, Range(1000, 1500));
}

// Every emitted position is a resume point: resuming from any of them yields exactly the rest.
void CheckEveryPositionResumesExactly(FileSourceTest* t, const std::string& opts, int n,
                                      CollectEmitter (FileSourceTest::*run)(const std::string&, const StateMap&, Status*, std::vector<std::string>*)) {
  CollectEmitter all = (t->*run)(opts, {}, nullptr, nullptr);
  ASSERT_EQ(all.ids, Range(0, n));
  ASSERT_GT(all.positions.size(), 2u) << "expected several batches";
  for (size_t k = 0; k < all.positions.size(); ++k) {
    const SourcePosition& p = all.positions[k];
    StateMap committed{{{p.stream, p.key}, p.value}};
    CollectEmitter rest = (t->*run)(opts, committed, nullptr, nullptr);
    // What was committed up to this position, then what the resumed run reads.
    std::vector<int64_t> joined(all.ids.begin(), all.ids.begin() + static_cast<long>(all.rows_at_position[k]));
    joined.insert(joined.end(), rest.ids.begin(), rest.ids.end());
    EXPECT_EQ(joined, all.ids) << "resuming from position " << k << ": " << p.value;
    if (k + 1 < all.positions.size()) {
      EXPECT_FALSE(rest.ids.empty()) << "position " << k;
    }
  }
}

TEST_F(FileSourceTest, ResumesMidFileFromEveryCheckpointPlain) {
  dir_.Write("big.csv", "id,name\n" + Rows(0, 200000));
  CheckEveryPositionResumesExactly(this, "path: big.csv, settle_time: 0s", 200000, &FileSourceTest::RunOnce);
}

TEST_F(FileSourceTest, ResumesMidFileFromEveryCheckpointGzipAndZstd) {
  WriteGzip("big.csv.gz", "id,name\n" + Rows(0, 150000));
  CheckEveryPositionResumesExactly(this, "path: big.csv.gz", 150000, &FileSourceTest::RunOnce);
  WriteZstd("big.jsonl.zst", [] {
    std::string s;
    for (int i = 0; i < 150000; ++i) s += "{\"id\":" + std::to_string(i) + ",\"name\":\"n\"}\n";
    return s;
  }());
  ASSERT_TRUE(state_->ResetSchemas("p", "").ok());
  CheckEveryPositionResumesExactly(this, "path: big.jsonl.zst", 150000, &FileSourceTest::RunOnce);
}

TEST_F(FileSourceTest, ChangedPrefixFollowsOnFileChange) {
  dir_.Write("a.csv", "id,name\n" + Rows(0, 10));
  CollectEmitter first = RunOnce("path: a.csv, settle_time: 0s", {});
  dir_.Write("a.csv", "id,name\n" + Rows(100, 120));  // rewritten, not appended
  Status st;
  RunOnce("path: a.csv, settle_time: 0s", first.state, &st);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("a.csv changed"), std::string::npos) << st.message();
  EXPECT_EQ(RunOnce("path: a.csv, settle_time: 0s, on_file_change: reload", first.state).ids, Range(100, 120));
  EXPECT_TRUE(RunOnce("path: a.csv, settle_time: 0s, on_file_change: ignore", first.state).ids.empty());
}

TEST_F(FileSourceTest, GrowingFileHoldsBackItsIncompleteLastLine) {
  dir_.Write("g.csv", "id,name\n" + Rows(0, 5) + "5,name");
  CollectEmitter fresh = RunOnce("path: g.csv, settle_time: 1h", {});
  EXPECT_EQ(fresh.ids, Range(0, 5));
  std::ofstream(dir_.File("g.csv"), std::ios::app) << " 5\n6,x\n";
  CollectEmitter next = RunOnce("path: g.csv, settle_time: 1h", fresh.state);
  EXPECT_EQ(next.ids, Range(5, 7));
  // A settled file's last line counts even without a newline.
  dir_.Write("s.csv", "id,name\n" + Rows(0, 3) + "3,z");
  EXPECT_EQ(RunOnce("path: s.csv, settle_time: 0s", {}).ids, Range(0, 4));
}

TEST_F(FileSourceTest, ByteOrderMarkIsSkipped) {
  dir_.Write("bom.csv", "\xEF\xBB\xBFid,name\n1,a\n");
  CollectEmitter out = RunOnce("path: bom.csv, settle_time: 0s", {});
  EXPECT_EQ(out.ids, std::vector<int64_t>{1});
}

TEST_F(FileSourceTest, BinaryAndMissingFilesAreReportedByNameWhileOthersLoad) {
  dir_.Write("a.csv", "id,name\n" + Rows(0, 3));
  dir_.Write("b.csv", std::string("\x7f" "ELF\0\0\0\x01\x02garbage", 16));
  std::vector<std::string> failures;
  Status st;
  CollectEmitter out = RunOnce("path: ['*.csv', missing.csv], settle_time: 0s", {}, &st, &failures);
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(out.ids, Range(0, 3));
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[0].find("b.csv: looks like a binary file"), std::string::npos) << failures[0];
  EXPECT_NE(failures[1].find("missing.csv"), std::string::npos) << failures[1];
}

TEST_F(FileSourceTest, TruncatedGzipLoadsTheRowsBeforeTheDamageAndQuarantinesTheTail) {
  WriteGzip("t.csv.gz", "id,name\n" + Rows(0, 50000));
  std::ifstream in(dir_.File("t.csv.gz"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  dir_.Write("t.csv.gz", bytes.substr(0, bytes.size() / 2));
  std::vector<std::string> failures;
  Status st;
  CollectEmitter out = RunOnce("path: t.csv.gz", {}, &st, &failures);
  EXPECT_TRUE(st.ok());
  ASSERT_FALSE(out.ids.empty());
  EXPECT_EQ(out.ids, Range(0, static_cast<int>(out.ids.size())));
  ASSERT_EQ(out.rejects.size(), 1u);
  EXPECT_NE(out.rejects[0].reason.find("truncated"), std::string::npos) << out.rejects[0].reason;
  ASSERT_EQ(failures.size(), 1u);
  // A rerun does not report the same tail again.
  CollectEmitter again = RunOnce("path: t.csv.gz", out.state, &st, &failures);
  EXPECT_TRUE(again.ids.empty());
  EXPECT_TRUE(again.rejects.empty());
}

TEST_F(FileSourceTest, NewColumnInALaterFileGrowsTheSchema) {
  dir_.Write("1.csv", "id,name\n1,a\n");
  dir_.Write("2.csv", "id,name,score\n2,b,9.5\n");
  CollectEmitter out = RunOnce("path: '*.csv', settle_time: 0s", {});
  EXPECT_EQ(out.ids, (std::vector<int64_t>{1, 2}));
  auto v = state_->LoadSchema("p", "p");
  ASSERT_TRUE(v.ok() && *v);
  EXPECT_EQ((*v)->schema.ToString(), "id int64?, name string?, score float64?");
  EXPECT_EQ((*v)->version, 2);
}

TEST_F(FileSourceTest, SchemaEvolutionPoliciesForANewColumn) {
  dir_.Write("1.csv", "id,name\n1,a\n");
  dir_.Write("2.csv", "id,name,score\n2,b,9.5\n3,c,\n");
  evolution_ = "freeze";
  Status st;
  CollectEmitter frozen = RunOnce("path: '*.csv', settle_time: 0s", {}, &st);
  EXPECT_EQ(st.code(), StatusCode::kPermanent);
  EXPECT_NE(st.message().find("column 'score' appeared in " + dir_.File("2.csv") + ":2 but the schema is frozen"),
            std::string::npos) << st.message();

  ASSERT_TRUE(state_->ResetSchemas("p", "").ok());
  evolution_ = "discard_columns";
  CollectEmitter dropped = RunOnce("path: '*.csv', settle_time: 0s", {});
  EXPECT_EQ(dropped.ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ((*state_->LoadSchema("p", "p"))->schema.ToString(), "id int64?, name string?");

  ASSERT_TRUE(state_->ResetSchemas("p", "").ok());
  evolution_ = "discard_rows";
  CollectEmitter rows = RunOnce("path: '*.csv', settle_time: 0s", {});
  EXPECT_EQ(rows.ids, (std::vector<int64_t>{1, 3}));  // row 3 has no score value
  ASSERT_EQ(rows.rejects.size(), 1u);
  EXPECT_EQ(rows.rejects[0].rule, "schema");
  EXPECT_EQ(rows.rejects[0].column, "score");
}

}  // namespace
}  // namespace sluice
