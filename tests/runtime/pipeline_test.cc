// The runtime with an in-memory source and a collecting sink: commit groups, acknowledgement
// order, retries from the checkpoint, shutdown, and the row-count identity.

#include "runtime/pipeline.h"

#include <gtest/gtest.h>

#include <mutex>

#include "core/values.h"
#include "state/state_store.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

// What the fakes share with the test.
struct World {
  std::mutex mu;
  int64_t total_rows = 1000;
  int64_t rows_per_envelope = 100;
  int64_t reject_every = 0;       // every Nth row is rejected by the "parser"
  int64_t stop_after_rows = -1;   // raise the stop signal after emitting this many rows
  int fail_commit_transient = 0;  // the next N commits fail with a transient error
  bool fail_commit_permanent = false;
  std::vector<int64_t> committed_rows;  // what a reader of the sink would see
  StateMap committed_state;
  std::vector<std::string> acks;        // positions acknowledged to the source, in order
  std::vector<std::string> commit_positions;
  int opens = 0;
};

class MemorySource : public Source {
 public:
  explicit MemorySource(World* w) : w_(w) {}
  Status Open(const StateMap& committed) override {
    std::lock_guard<std::mutex> g(w_->mu);
    ++w_->opens;
    auto it = committed.find({"mem", "next"});
    if (it != committed.end()) ParseInt64(it->second, &next_);
    return Status::OK();
  }
  Status Run(Emitter& out) override {
    auto schema = std::make_shared<Schema>(std::vector<Field>{{"id", DataType::Int64(), false}});
    while (next_ < w_->total_rows && !out.StopRequested()) {
      RecordBatchBuilder b(schema);
      Envelope env;
      int64_t end = std::min(w_->total_rows, next_ + w_->rows_per_envelope);
      for (; next_ < end; ++next_) {
        if (w_->reject_every > 0 && next_ % w_->reject_every == 0) {
          env.rejects.push_back({"mem", "mem:" + std::to_string(next_), std::to_string(next_), "raw", "parse", "", "bad"});
          continue;
        }
        b.column(0).AppendInt64(next_);
        b.CommitRow(next_);
      }
      env.batch = b.Finish("mem", "mem");
      env.positions.push_back({"mem", "next", std::to_string(next_)});
      RETURN_IF_ERROR(out.Emit(std::move(env)));
      if (w_->stop_after_rows >= 0 && next_ >= w_->stop_after_rows) g_stop_signals = 1;
    }
    return Status::OK();
  }
  void OnCommitted(const std::vector<SourcePosition>& p) override {
    std::lock_guard<std::mutex> g(w_->mu);
    for (const auto& x : p) w_->acks.push_back(x.value);
  }

 private:
  World* w_;
  int64_t next_ = 0;
};

class CollectSink : public Sink {
 public:
  explicit CollectSink(World* w) : w_(w) {}
  Status Open() override { return Status::OK(); }
  Result<StateMap> LoadState() override {
    std::lock_guard<std::mutex> g(w_->mu);
    return w_->committed_state;
  }
  Status Write(const RecordBatch& b) override {
    for (int64_t i = 0; i < b.num_rows(); ++i) pending_.push_back(b.column(0).Int64At(i));
    return Status::OK();
  }
  Status Commit(const CommitState& s) override {
    std::lock_guard<std::mutex> g(w_->mu);
    if (w_->fail_commit_permanent) return Status::Permanent("refused");
    if (w_->fail_commit_transient > 0) {
      --w_->fail_commit_transient;
      pending_.clear();
      return Status::Transient("connection dropped");
    }
    w_->committed_rows.insert(w_->committed_rows.end(), pending_.begin(), pending_.end());
    pending_.clear();
    for (const auto& p : s.positions) {
      w_->committed_state[{p.stream, p.key}] = p.value;
      w_->commit_positions.push_back(p.value);
    }
    return Status::OK();
  }
  Status Abort() override {
    pending_.clear();
    return Status::OK();
  }
  Status ResetState(const std::string&) override { return Status::OK(); }
  bool transactional() const override { return true; }
  std::string Describe() const override { return "collect"; }

 private:
  World* w_;
  std::vector<int64_t> pending_;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_stop_signals = 0;
    registry_.Add({"memory", "source", "test", "", {}, [this](const ConnectorContext&, const ConfigNode&) -> Result<std::unique_ptr<Source>> {
                     return std::unique_ptr<Source>(new MemorySource(&world_));
                   }, nullptr});
    registry_.Add({"collect", "sink", "test", "", {}, nullptr, [this](const ConnectorContext&, const ConfigNode&) -> Result<std::unique_ptr<Sink>> {
                     return std::unique_ptr<Sink>(new CollectSink(&world_));
                   }});
  }
  void TearDown() override { g_stop_signals = 0; }

  RunSummary Run(const std::string& extra = "") {
    std::string path = dir_.Write("p.yaml", "name: t\nsource: {type: memory}\nsink: {type: collect}\n"
                                            "retry: {initial_backoff: 1ms, max_backoff: 5ms}\n" + extra);
    auto cfg = LoadPipeline(path, registry_);
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    Logger log;
    log.SetLevel(LogLevel::kError);
    return RunPipeline(*cfg, RunOptions{}, log, registry_);
  }

  testing::TempDir dir_;
  World world_;
  ConnectorRegistry registry_;
};

TEST_F(PipelineTest, MovesEveryRowAndCountsThem) {
  world_.reject_every = 10;
  RunSummary s = Run();
  EXPECT_EQ(s.status, "ok") << s.error;
  EXPECT_EQ(s.counters.rows_in, 1000);
  EXPECT_EQ(s.counters.rows_quarantined, 100);
  EXPECT_EQ(s.counters.rows_out, 900);
  EXPECT_EQ(s.counters.rows_in, s.counters.rows_out + s.counters.rows_quarantined + s.counters.rows_skipped);
  EXPECT_EQ(world_.committed_rows.size(), 900u);
}

TEST_F(PipelineTest, CommitGroupsCloseOnTheRowIntervalAtEnvelopeBoundaries) {
  RunSummary s = Run("commit_interval: {rows: 250}\n");
  EXPECT_EQ(s.status, "ok");
  // Envelopes of 100 rows: groups close after 300, 600, 900, and the rest at the end.
  EXPECT_EQ(world_.commit_positions, (std::vector<std::string>{"300", "600", "900", "1000"}));
  EXPECT_EQ(s.commits, 4);
}

TEST_F(PipelineTest, AcknowledgesOnlyWhatWasCommittedInOrder) {
  Run("commit_interval: {rows: 250}\n");
  EXPECT_EQ(world_.acks, world_.commit_positions);
}

TEST_F(PipelineTest, TransientCommitFailureRetriesFromTheCheckpointWithoutDuplicates) {
  world_.fail_commit_transient = 1;
  RunSummary s = Run("commit_interval: {rows: 250}\n");
  EXPECT_EQ(s.status, "ok") << s.error;
  EXPECT_EQ(s.attempts, 2);
  EXPECT_EQ(world_.opens, 2);
  ASSERT_EQ(world_.committed_rows.size(), 1000u);
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(world_.committed_rows[static_cast<size_t>(i)], i);
}

TEST_F(PipelineTest, PermanentFailureFailsTheRunWithoutRetry) {
  world_.fail_commit_permanent = true;
  RunSummary s = Run();
  EXPECT_EQ(s.status, "failed");
  EXPECT_EQ(s.attempts, 1);
  EXPECT_NE(s.error.find("refused"), std::string::npos);
  EXPECT_EQ(s.ExitCode(), 1);
}

TEST_F(PipelineTest, StopSignalDrainsCommitsAndResumesLater) {
  world_.stop_after_rows = 400;
  RunSummary s = Run();
  EXPECT_EQ(s.status, "stopped");
  EXPECT_EQ(s.ExitCode(), 0);
  EXPECT_EQ(world_.committed_rows.size(), 400u);
  g_stop_signals = 0;
  world_.stop_after_rows = -1;
  RunSummary again = Run();
  EXPECT_EQ(again.status, "ok");
  EXPECT_EQ(again.counters.rows_in, 600);
  EXPECT_EQ(world_.committed_rows.size(), 1000u);
}

TEST_F(PipelineTest, AFailedQualityGateRollsBackItsGroupAndFailsTheRun) {
  world_.reject_every = 10;  // 10% of rows rejected
  RunSummary s = Run("commit_interval: {rows: 250}\ncontract: {gate: {max_rejected_rate: 0.05, min_sample: 100}}\n");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error.find("quality gate: 30 of 300 rows"), std::string::npos) << s.error;
  EXPECT_TRUE(world_.committed_rows.empty());
  EXPECT_TRUE(world_.committed_state.empty());
  EXPECT_EQ(s.counters.rows_in, 0);
}

TEST_F(PipelineTest, AGateWithinItsRateLetsEveryGroupThrough) {
  world_.reject_every = 10;
  RunSummary s = Run("contract: {gate: {max_rejected_rate: 0.2, min_sample: 100}}\n");
  EXPECT_EQ(s.status, "ok") << s.error;
  EXPECT_EQ(world_.committed_rows.size(), 900u);
}

TEST_F(PipelineTest, SecondRunWhileTheFirstHoldsTheLockIsRefused) {
  std::string path = dir_.Write("p.yaml", "name: t\nsource: {type: memory}\nsink: {type: collect}\n");
  auto cfg = LoadPipeline(path, registry_);
  ASSERT_TRUE(cfg.ok());
  auto store = StateStore::Open(cfg->state_path);
  ASSERT_TRUE(store.ok());
  auto lock = (*store)->Lock("t");
  ASSERT_TRUE(lock.ok());
  Logger log;
  log.SetLevel(LogLevel::kError);
  RunSummary s = RunPipeline(*cfg, RunOptions{}, log, registry_);
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error.find("already running"), std::string::npos) << s.error;
}

}  // namespace
}  // namespace sluice
