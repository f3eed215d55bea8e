// RunMetrics: what a run records about its quality, counting only committed groups; and the
// runtime storing it with the run (file source -> sqlite sink, a contract with bad rows).

#include "quality/run_metrics.h"

#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "core/values.h"
#include "quality/contract.h"
#include "runtime/pipeline.h"
#include "state/state_store.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

// id int64, email string (nullable), ts timestamp: `emails` empty strings become nulls.
RecordBatchPtr Batch(const std::string& stream, const std::vector<std::string>& emails, int64_t first_ts) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"id", DataType::Int64()}, {"email", DataType::String()}, {"ts", DataType::Timestamp(true)}});
  RecordBatchBuilder b(schema);
  for (size_t i = 0; i < emails.size(); ++i) {
    b.column(0).AppendInt64(static_cast<int64_t>(i));
    if (emails[i].empty()) b.column(1).AppendNull();
    else b.column(1).AppendBytes(emails[i]);
    b.column(2).AppendInt64(first_ts + static_cast<int64_t>(i) * 1000000);
    b.CommitRow(static_cast<int64_t>(i) + 2);
  }
  return b.Finish(stream, "mem");
}

RejectedRow Reject(const std::string& rule, const std::string& column) {
  RejectedRow r;
  r.stream = "orders";
  r.rule = rule;
  r.column = column;
  return r;
}

TEST(RunMetrics, CompletenessComesFromTheLoadedRowsOfCommittedGroups) {
  GroupQuality g;
  g.Observe(*Batch("orders", {"a@x.io", "", "c@x.io", ""}, 0), "");
  g.Observe(*Batch("orders", {"d@x.io", "e@x.io", "f@x.io", "g@x.io"}, 0), "");
  RunMetrics m;
  RunCounters c;
  c.rows_in = 9;
  c.rows_out = 8;
  c.rows_quarantined = 1;
  m.CommitGroup(g, c, {Reject("pattern", "email")});
  ASSERT_EQ(m.streams.count("orders"), 1u);
  const StreamQuality& s = m.streams["orders"];
  EXPECT_EQ(s.rows_out, 8);
  EXPECT_EQ(s.columns.at("email").rows, 8);
  EXPECT_EQ(s.columns.at("email").nulls, 2);
  EXPECT_DOUBLE_EQ(s.columns.at("email").completeness(), 0.75);
  EXPECT_DOUBLE_EQ(s.columns.at("id").completeness(), 1.0);
  EXPECT_EQ(m.rows_checked, 9);
  EXPECT_DOUBLE_EQ(m.rejection_rate(), 1.0 / 9);
}

TEST(RunMetrics, CommaJoinedRulesAndColumnsCountEachNameOncePerRow) {
  RunMetrics m;
  RunCounters c;
  c.rows_in = 3;
  c.rows_quarantined = 3;
  m.CommitGroup(GroupQuality(), c,
                {Reject("pattern,min", "email,amount"), Reject("required,required", "id,email"), Reject("unique", "id")});
  EXPECT_EQ(m.rule_violations["pattern"], 1);
  EXPECT_EQ(m.rule_violations["min"], 1);
  EXPECT_EQ(m.rule_violations["required"], 1);
  EXPECT_EQ(m.unique_violations(), 1);
  EXPECT_EQ(m.column_violations["email"], 2);
  EXPECT_EQ(m.column_violations["id"], 2);
  EXPECT_EQ(m.column_violations["amount"], 1);
}

TEST(RunMetrics, FreshnessIsTheNewestLoadedValueAndItsAgeAtTheEnd) {
  int64_t t0 = 0;
  ASSERT_TRUE(ParseInt64("1767225600000000", &t0));  // 2026-01-01T00:00:00Z
  GroupQuality g;
  g.Observe(*Batch("orders", {"a", "b", "c"}, t0), "ts");  // newest: t0 + 2 s
  RunMetrics m;
  m.CommitGroup(g, RunCounters{}, {});
  Contract contract;
  contract.name = "orders";
  contract.version = 4;
  contract.freshness_column = "ts";
  m.Finish(&contract, {{"orders", 2}}, t0 + 62 * 1000000);
  ASSERT_TRUE(m.newest_micros);
  EXPECT_EQ(*m.newest_micros, t0 + 2000000);
  ASSERT_TRUE(m.freshness_age_s);
  EXPECT_DOUBLE_EQ(*m.freshness_age_s, 60.0);
  EXPECT_EQ(m.contract, "orders");
  EXPECT_EQ(m.contract_version, 4);
  EXPECT_EQ(m.streams["orders"].schema_version, 2);
}

TEST(RunMetrics, JsonRoundTrip) {
  GroupQuality g;
  g.Observe(*Batch("orders", {"a@x.io", ""}, 1000000), "ts");
  RunMetrics m;
  RunCounters c;
  c.rows_in = 4;
  c.rows_out = 2;
  c.rows_quarantined = 1;
  c.rows_skipped = 1;
  c.bytes_in = 99;
  m.CommitGroup(g, c, {Reject("enum,unique", "status,id")});
  Contract contract;
  contract.name = "orders <v>";
  contract.version = 3;
  contract.freshness_column = "ts";
  m.Finish(&contract, {{"orders", 5}, {"other", 1}}, 5000000);

  auto back = RunMetrics::FromJson(m.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), m.ToJson());
  EXPECT_EQ(back->counters.rows_skipped, 1);
  EXPECT_EQ(back->counters.bytes_in, 99u);
  EXPECT_EQ(back->rows_checked, 3);
  EXPECT_EQ(back->rule_violations, m.rule_violations);
  EXPECT_EQ(back->column_violations, m.column_violations);
  EXPECT_EQ(back->contract, "orders <v>");
  EXPECT_EQ(back->contract_version, 3);
  EXPECT_EQ(back->streams["orders"].columns["email"].nulls, 1);
  EXPECT_EQ(back->streams["other"].schema_version, 1);
  EXPECT_EQ(back->newest_micros, m.newest_micros);
  EXPECT_EQ(back->freshness_age_s, m.freshness_age_s);
}

TEST(RunMetrics, FromJsonRefusesWhatItCannotRead) {
  EXPECT_FALSE(RunMetrics::FromJson("not json").ok());
  EXPECT_FALSE(RunMetrics::FromJson("[1]").ok());
  auto newer = RunMetrics::FromJson(R"({"format": 99})");
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos);
  // Missing keys read as zero: older records stay readable.
  auto sparse = RunMetrics::FromJson(R"({"rows_in": 7})");
  ASSERT_TRUE(sparse.ok());
  EXPECT_EQ(sparse->counters.rows_in, 7);
}

class RecordedRun : public ::testing::Test {
 protected:
  RunSummary Run(bool dry_run = false, const std::string& gate = "") {
    dir_.Write("c.yaml",
               "contract: orders\nversion: 2\ncolumns:\n"
               "  id: { type: int64, required: true, unique: true }\n"
               "  email: { type: string, pattern: '^[^@]+@[^@]+$' }\n"
               "  ts: { type: timestamp_tz }\n"
               "freshness: { column: ts, max_age: 1000000h }\n" + gate);
    std::string path = dir_.Write("p.yaml",
                                  "name: orders\nsource: { type: file, path: in.csv }\n"
                                  "sink: { type: sqlite, path: w.db, table: orders }\ncontract: c.yaml\n");
    auto cfg = LoadPipeline(path, BuiltinConnectors());
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    Logger log;
    log.SetLevel(LogLevel::kError);
    RunOptions opts;
    opts.dry_run = dry_run;
    return RunPipeline(*cfg, opts, log);
  }
  std::vector<RunRecord> History() {
    auto state = StateStore::Open(dir_.File(".sluice/state.db"));
    EXPECT_TRUE(state.ok());
    auto runs = (*state)->RunHistory("orders", 10);
    EXPECT_TRUE(runs.ok());
    return runs.ok() ? *runs : std::vector<RunRecord>{};
  }
  testing::TempDir dir_;
};

TEST_F(RecordedRun, ARunStoresItsQualityWithItsSummary) {
  dir_.Write("in.csv",
             "id,email,ts\n1,a@x.io,2026-01-01T00:00:00Z\n2,bad,2026-01-02T00:00:00Z\n"
             "1,c@x.io,2026-01-03T00:00:00Z\n3,,2026-01-04T00:00:00Z\n");
  RunSummary s = Run();
  ASSERT_EQ(s.status, "ok") << s.error;
  auto runs = History();
  ASSERT_EQ(runs.size(), 1u);
  auto q = RunMetrics::FromJson(runs[0].quality);
  ASSERT_TRUE(q.ok()) << runs[0].quality;
  EXPECT_EQ(q->counters.rows_in, 4);
  EXPECT_EQ(q->counters.rows_out, 2);
  EXPECT_EQ(q->counters.rows_quarantined, 2);
  EXPECT_EQ(q->rule_violations["pattern"], 1);
  EXPECT_EQ(q->unique_violations(), 1);
  EXPECT_EQ(q->contract, "orders");
  EXPECT_EQ(q->contract_version, 2);
  ASSERT_EQ(q->streams.size(), 1u);
  const StreamQuality& st = q->streams.begin()->second;
  EXPECT_EQ(st.schema_version, 1);
  EXPECT_DOUBLE_EQ(st.columns.at("email").completeness(), 0.5);  // rows 1 and 3 loaded; 3 has no email
  ASSERT_TRUE(q->newest_micros);
  EXPECT_EQ(FormatTimestamp(*q->newest_micros, true).substr(0, 10), "2026-01-04");
  // The summary keeps its keys.
  EXPECT_NE(runs[0].summary.find("\"rows_quarantined\":2"), std::string::npos);
}

TEST_F(RecordedRun, AGroupRolledBackByTheGateDoesNotCount) {
  dir_.Write("in.csv", "id,email,ts\n1,a@x.io,2026-01-01T00:00:00Z\n2,bad,2026-01-02T00:00:00Z\n");
  RunSummary s = Run(false, "gate: { max_rejected_rate: 0.1, min_sample: 1 }\n");
  ASSERT_EQ(s.status, "failed");
  auto runs = History();
  ASSERT_EQ(runs.size(), 1u);
  auto q = RunMetrics::FromJson(runs[0].quality);
  ASSERT_TRUE(q.ok()) << runs[0].quality;
  EXPECT_EQ(q->counters.rows_out, 0);
  EXPECT_TRUE(q->rule_violations.empty());
  EXPECT_FALSE(q->newest_micros);
  for (const auto& [name, st] : q->streams) EXPECT_EQ(st.rows_out, 0) << name;
}

TEST_F(RecordedRun, ADryRunRecordsNothing) {
  dir_.Write("in.csv", "id,email,ts\n1,a@x.io,2026-01-01T00:00:00Z\n");
  RunSummary s = Run(/*dry_run=*/true);
  ASSERT_EQ(s.status, "ok") << s.error;
  EXPECT_TRUE(History().empty());
}

}  // namespace
}  // namespace sluice
