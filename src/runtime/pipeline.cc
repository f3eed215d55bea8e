#include "runtime/pipeline.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include "connectors/connector.h"
#include "core/strings.h"
#include "quality/contract.h"
#include "quality/pii_policy.h"
#include "quality/quarantine.h"
#include "runtime/channel.h"
#include "runtime/unique_index.h"
#include "state/state_store.h"

namespace sluice {

std::atomic<int> g_stop_signals{0};

namespace {

using Clock = std::chrono::steady_clock;

void OnSignal(int) {
  if (g_stop_signals.fetch_add(1) >= 1) {
    // Second signal: abort now. The last committed checkpoint holds.
    const char msg[] = "\nsluice: aborted by a second signal; the last committed checkpoint holds\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(130);
  }
}

// Used for --dry-run: counts, keeps nothing.
class NullSink : public Sink {
 public:
  Status Open() override { return Status::OK(); }
  Result<StateMap> LoadState() override { return StateMap{}; }
  Status Write(const RecordBatch&) override { return Status::OK(); }
  Status Commit(const CommitState&) override { return Status::OK(); }
  Status Abort() override { return Status::OK(); }
  Status ResetState(const std::string&) override { return Status::OK(); }
  bool transactional() const override { return true; }
  std::string Describe() const override { return "nothing (dry run)"; }
};

// Runs on the source thread: the contract checks each batch before it enters the channel, so
// checking overlaps with the sink's writing.
class ChannelEmitter : public Emitter {
 public:
  ChannelEmitter(Channel<Envelope>& ch, std::atomic<bool>& abort, ContractChecker* contract, const PiiPolicy* pii)
      : ch_(ch), abort_(abort), contract_(contract), pii_(pii) {}
  // The contract's error (on_violation: fail), which stopped the source.
  const Status& contract_error() const { return contract_error_; }
  Status Emit(Envelope env) override {
    if (contract_ && env.batch && env.batch->num_rows() > 0) {
      auto kept = contract_->Check(env.batch, &env.rejects);
      if (!kept.ok()) {
        contract_error_ = kept.status();
        abort_.store(true);
        return Status::Cancelled("contract failed");
      }
      env.batch = std::move(kept).value();
    }
    if (pii_) {
      // The contract saw the real values; the sink and the quarantine see masked ones.
      if (env.batch && env.batch->num_rows() > 0) {
        auto masked = pii_->Mask(env.batch);
        if (!masked.ok()) {
          contract_error_ = masked.status();
          abort_.store(true);
          return Status::Cancelled("mask failed");
        }
        env.batch = std::move(masked).value();
      }
      for (auto& r : env.rejects) pii_->Redact(r);
    }
    size_t cost = 64 + env.bytes_in / 8;
    if (env.batch) cost += env.batch->ByteSize();
    for (const auto& r : env.rejects) cost += r.raw.size() + r.reason.size() + 64;
    if (abort_.load() || !ch_.Push(std::move(env), cost)) return Status::Cancelled("pipeline stopping");
    return Status::OK();
  }
  bool StopRequested() const override { return g_stop_signals.load() > 0 || abort_.load(); }

 private:
  Channel<Envelope>& ch_;
  std::atomic<bool>& abort_;
  ContractChecker* contract_;
  const PiiPolicy* pii_;
  Status contract_error_;
};

struct Progress {
  std::atomic<int64_t> rows{0};
  std::atomic<uint64_t> bytes{0};
  uint64_t total_bytes = 0;
};

struct Group {
  RunCounters counters;
  std::vector<RejectedRow> rejects;
  std::map<std::pair<std::string, std::string>, std::string> positions;
  Clock::time_point opened = Clock::now();
  GroupQuality quality;  // what the group loads; counts once the group commits
  bool empty() const { return counters.rows_in == 0 && positions.empty() && rejects.empty(); }
};

class Attempt {
 public:
  Attempt(const PipelineConfig& cfg, const RunOptions& opts, Logger& log, const ConnectorRegistry& reg,
          StateStore* state, QuarantineStore* quarantine, RunSummary& summary, Progress& progress)
      : cfg_(cfg), opts_(opts), log_(log), reg_(reg), state_(state), quarantine_(quarantine),
        summary_(summary), progress_(progress) {}

  Status Run() {
    ConnectorContext ctx = MakeConnectorContext(cfg_, state_, &log_);
    ctx.dry_run = opts_.dry_run;

    std::unique_ptr<Sink> sink;
    if (opts_.dry_run) {
      sink = std::make_unique<NullSink>();
    } else {
      ASSIGN_OR_RETURN(sink, reg_.Find("sink", cfg_.sink_type)->make_sink(ctx, cfg_.sink()));
    }
    summary_.sink = sink->Describe();
    RETURN_IF_ERROR(sink->Open().WithContext("sink"));
    ASSIGN_OR_RETURN(StateMap committed, sink->LoadState());
    ASSIGN_OR_RETURN(std::unique_ptr<UniqueKeyIndex> unique, OpenUniqueIndex(committed));
    ASSIGN_OR_RETURN(std::unique_ptr<Source> source, reg_.Find("source", cfg_.source_type)->make_source(ctx, cfg_.source()));
    RETURN_IF_ERROR(source->Open(committed).WithContext("source"));
    if (auto total = source->TotalBytes()) progress_.total_bytes = *total;

    Channel<Envelope> channel(static_cast<size_t>(cfg_.buffer_bytes));
    std::atomic<bool> abort{false};
    std::unique_ptr<ContractChecker> checker;
    if (cfg_.contract) checker = std::make_unique<ContractChecker>(cfg_.contract);
    ChannelEmitter emitter(channel, abort, checker.get(), cfg_.pii.get());
    const int contract_version = cfg_.contract ? cfg_.contract->version : 0;
    const std::string freshness_column = cfg_.contract ? cfg_.contract->freshness_column : "";
    Status source_status;
    std::thread source_thread([&] {
      source_status = source->Run(emitter);
      channel.Close();
    });
    auto stop_source = [&] {
      abort.store(true);
      channel.Cancel();
      source_thread.join();
    };

    Group group;
    const bool replicate = cfg_.sink_mode == "replicate";
    bool warned_diverged = false;
    int64_t saved_keys = 0;
    auto commit = [&]() -> Status {
      if (group.empty()) return Status::OK();
      // The rejected rows are kept even when the gate fails, so the user can see why; their ids
      // are deterministic, so the rerun of the group rewrites rather than doubles them.
      if (quarantine_ && !group.rejects.empty()) {
        RETURN_IF_ERROR(quarantine_->Write(cfg_.name, group.rejects, contract_version));
        if (replicate && !warned_diverged) {
          warned_diverged = true;
          log_.Warn("changes of stream " + group.rejects.front().stream +
                        " went to the quarantine: the replica differs from the source until `sluice quarantine "
                        "replay` loads them (`sluice state show` lists the diverged streams)",
                    {});
        }
      }
      if (cfg_.contract && cfg_.contract->gate_max_rejected_rate && group.counters.rows_in >= cfg_.contract->gate_min_sample) {
        double rate = static_cast<double>(group.counters.rows_quarantined) / static_cast<double>(group.counters.rows_in);
        if (rate > *cfg_.contract->gate_max_rejected_rate) {
          char buf[256];
          std::snprintf(buf, sizeof buf,
                        "quality gate: %lld of %lld rows in a commit group were rejected (%.2f%%), above max_rejected_rate %.2f%%; "
                        "the group was rolled back (see sluice quarantine list)",
                        static_cast<long long>(group.counters.rows_quarantined), static_cast<long long>(group.counters.rows_in),
                        rate * 100, *cfg_.contract->gate_max_rejected_rate * 100);
          return Status::Permanent(buf);
        }
      }
      if (opts_.dry_run) {
        for (auto& r : group.rejects) {
          if (summary_.dry_run_rejects.size() < 20) summary_.dry_run_rejects.push_back(std::move(r));
        }
      }
      CommitState cs;
      for (auto& [k, v] : group.positions) cs.positions.push_back({k.first, k.second, v});
      cs.counters = group.counters;
      if (unique) {
        cs.positions.emplace_back();
        RETURN_IF_ERROR(unique->Commit(&cs.positions.back()));
      }
      RETURN_IF_ERROR(sink->Commit(cs));
      source->OnCommitted(cs.positions);
      if (state_ && !opts_.dry_run && ctx.stream_keys->generation() != saved_keys) {
        // The keys the source reported, for runs whose source cannot tell them (replay).
        saved_keys = ctx.stream_keys->generation();
        Status ks = state_->SaveStreamKeys(cfg_.name, ctx.stream_keys->Reported());
        if (!ks.ok()) log_.Warn("could not record the streams' keys in the state store", {{"error", ks.message()}});
      }
      summary_.counters.Add(group.counters);
      summary_.quality.CommitGroup(group.quality, group.counters, group.rejects);
      ++summary_.commits;
      group = Group();
      return Status::OK();
    };

    Status st;
    bool mid_unit = false;  // the last envelope was not a boundary
    // A group that ends on a boundary commits when commit_interval's time is up even if the
    // source sends nothing more (a quiet stream after a burst): its rows do not wait for the next.
    const bool timed = cfg_.commit.seconds > 0 && cfg_.commit.seconds < 86400.0 * 365;
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg_.commit.seconds));
    for (;;) {
      std::optional<Envelope> env;
      if (timed && !mid_unit && !group.empty()) {
        bool timed_out = false;
        env = channel.PopUntil(group.opened + interval, &timed_out);
        if (timed_out) {
          st = commit();
          if (!st.ok()) break;
          continue;
        }
      } else {
        env = channel.Pop();
      }
      if (!env) break;
      mid_unit = !env->boundary;
      if (unique && env->batch && env->batch->num_rows() > 0) {
        // Values loaded by an earlier run: quarantined like any other contract violation.
        const size_t before = env->rejects.size();
        auto kept = unique->Filter(env->batch, &env->rejects);
        if (!kept.ok()) {
          st = kept.status();
          break;
        }
        env->batch = std::move(kept).value();
        if (cfg_.pii) {
          for (size_t i = before; i < env->rejects.size(); ++i) cfg_.pii->Redact(env->rejects[i], /*masked=*/true);
        }
      }
      const int64_t rows = env->batch ? env->batch->num_rows() : 0;
      const int64_t rejected = static_cast<int64_t>(env->rejects.size());
      group.counters.rows_in += rows + rejected + env->rows_skipped;
      group.counters.rows_out += rows;
      group.counters.rows_quarantined += rejected;
      group.counters.rows_skipped += env->rows_skipped;
      group.counters.bytes_in += env->bytes_in;
      progress_.rows += rows + rejected + env->rows_skipped;
      progress_.bytes += env->bytes_in;
      if (env->batch && rows > 0) {
        st = sink->Write(*env->batch);
        if (!st.ok()) break;
        group.quality.Observe(*env->batch, freshness_column);
        for (auto& r : sink->TakeRefused()) {
          if (cfg_.pii) cfg_.pii->Redact(r, /*masked=*/true);
          --group.counters.rows_out;
          ++group.counters.rows_quarantined;
          group.rejects.push_back(std::move(r));
        }
      }
      for (auto& r : env->rejects) group.rejects.push_back(std::move(r));
      for (auto& p : env->positions) group.positions[{p.stream, p.key}] = std::move(p.value);
      if (env->boundary &&
          (env->flush || group.counters.rows_in >= cfg_.commit.rows ||
           static_cast<int64_t>(group.counters.bytes_in) >= cfg_.commit.bytes ||
           std::chrono::duration<double>(Clock::now() - group.opened).count() >= cfg_.commit.seconds)) {
        st = commit();
        if (!st.ok()) break;
      }
    }
    summary_.peak_buffer_bytes = std::max(summary_.peak_buffer_bytes, channel.peak_bytes());
    if (!st.ok()) {
      (void)sink->Abort();
      if (unique) unique->Abort();
      stop_source();
      return st;
    }
    source_thread.join();
    // Rows emitted before a source error are whole and positioned: keep them. Rows after the last
    // boundary (inside a source transaction, or a read that cannot resume mid-way) are not: they
    // are dropped, and the next run reads them again.
    Status cst;
    if (mid_unit) {
      cst = sink->Abort();
      if (unique) unique->Abort();
      group = Group();
    } else {
      cst = commit();
    }
    if (!cst.ok()) {
      (void)sink->Abort();
      if (unique) unique->Abort();
      return cst;
    }
    if (!emitter.contract_error().ok()) return emitter.contract_error();
    if (!source_status.ok()) return source_status.WithContext("source");
    summary_.failures = source->Failures();
    if (checker && opts_.run_level_checks) {
      for (const auto& f : checker->RunLevelFailures(summary_.counters.rows_out)) summary_.quality_failures.push_back(f);
      if (checker->warnings() > 0) {
        log_.Warn("contract violations loaded anyway (on_violation: warn)", {{"rows", std::to_string(checker->warnings())}});
      }
    }
    if (g_stop_signals.load() > 0) {
      summary_.status = "stopped";
    } else {
      RETURN_IF_ERROR(sink->Finish());
    }
    return sink->Close();
  }

 private:
  // The cross-run index of the contract's unique columns; null when there are none, in dry runs,
  // and in replace mode (each run rebuilds the table, so earlier runs do not count).
  Result<std::unique_ptr<UniqueKeyIndex>> OpenUniqueIndex(const StateMap& committed) {
    std::vector<std::string> columns;
    if (cfg_.contract) {
      for (const auto& c : cfg_.contract->columns) {
        if (c.unique) columns.push_back(c.name);
      }
    }
    if (columns.empty() || opts_.dry_run || cfg_.sink_mode == "replace") {
      return std::unique_ptr<UniqueKeyIndex>();
    }
    const std::string path = std::filesystem::path(cfg_.state_path).parent_path() / "unique-keys.db";
    return UniqueKeyIndex::Open(path, cfg_.name, std::move(columns), committed);
  }

  const PipelineConfig& cfg_;
  const RunOptions& opts_;
  Logger& log_;
  const ConnectorRegistry& reg_;
  StateStore* state_;
  QuarantineStore* quarantine_;
  RunSummary& summary_;
  Progress& progress_;
};

std::string FormatDuration(double s) {
  char buf[32];
  int t = static_cast<int>(s);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%d:%02d", t / 60, t % 60);
  return buf;
}

}  // namespace

void InstallSignalHandlers() {
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed pipe (sluice run ... | head) is an I/O error of the sink, not a silent death.
  signal(SIGPIPE, SIG_IGN);
}

RunSummary RunPipeline(const PipelineConfig& cfg, const RunOptions& opts, Logger& log,
                       const ConnectorRegistry& registry) {
  RunSummary summary;
  summary.pipeline = cfg.name;
  const auto started = Clock::now();
  auto finish = [&](std::string status, std::string error) {
    summary.status = std::move(status);
    summary.error = std::move(error);
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return summary;
  };

  auto state = StateStore::Open(cfg.state_path);
  if (!state.ok()) return finish("failed", state.status().message());
  auto lock = (*state)->Lock(cfg.name);
  if (!lock.ok()) return finish("failed", lock.status().message());
  std::unique_ptr<QuarantineStore> quarantine;
  if (!opts.dry_run) {
    auto q = QuarantineStore::Open(cfg.quarantine_dir);
    if (!q.ok()) return finish("failed", q.status().message());
    quarantine = std::move(q).value();
    summary.quarantine_path = quarantine->path();
  }

  Progress progress;
  std::atomic<bool> done{false};
  std::thread progress_thread;
  if (opts.progress) {
    log.EnableStatusLine(true);
    progress_thread = std::thread([&] {
      while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        double secs = std::chrono::duration<double>(Clock::now() - started).count();
        if (secs < 1) continue;
        double rate = static_cast<double>(progress.bytes.load()) / secs;
        std::string line = "  " + HumanCount(static_cast<double>(progress.rows.load())) + " rows  " +
                           HumanBytes(static_cast<double>(progress.bytes.load())) + "  " + HumanBytes(rate) + "/s";
        if (progress.total_bytes > 0 && rate > 0) {
          double left = static_cast<double>(progress.total_bytes) - static_cast<double>(progress.bytes.load());
          line += "  " + std::to_string(static_cast<int>(100.0 * progress.bytes.load() / progress.total_bytes)) +
                  "%  ETA " + FormatDuration(std::max(0.0, left / rate));
        }
        log.SetStatusLine(line);
      }
    });
  }

  std::mt19937 rng(static_cast<unsigned>(getpid()));
  Status st;
  // max_attempts counts failed attempts in a row: an attempt that committed something (a streaming
  // run that reconnected and went on) starts the count again, so a pipeline that runs for months
  // survives each outage on its own budget.
  int failed_in_row = 0;
  for (int attempt = 1;; ++attempt) {
    summary.attempts = attempt;
    const int64_t commits_before = summary.commits;
    Attempt a(cfg, opts, log, registry, state->get(), quarantine.get(), summary, progress);
    st = a.Run();
    failed_in_row = summary.commits > commits_before ? 1 : failed_in_row + 1;
    if (st.ok() || !st.IsTransient() || failed_in_row >= cfg.retry.max_attempts || g_stop_signals.load() > 0) break;
    double backoff =
        std::min(cfg.retry.max_backoff_s, cfg.retry.initial_backoff_s * (1 << std::min(failed_in_row - 1, 20)));
    backoff *= std::uniform_real_distribution<double>(0.5, 1.0)(rng);
    log.Warn("transient error; retrying from the last checkpoint",
             {{"attempt", std::to_string(attempt)}, {"failed_in_a_row", std::to_string(failed_in_row)},
              {"wait_s", std::to_string(backoff).substr(0, 4)}, {"error", st.message()}});
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
  }
  done.store(true);
  if (progress_thread.joinable()) progress_thread.join();
  log.ClearStatusLine();

  std::string status = summary.status;
  std::string error = st.ok() ? "" : st.message();
  if (!st.ok()) {
    status = "failed";
  } else if (!summary.quality_failures.empty()) {
    // Run-level checks fail the run without undoing what was committed.
    status = "failed";
    error = Join(summary.quality_failures, "; ");
  } else if (!summary.failures.empty()) {
    status = "partial";
  }
  finish(status, error);
  if (!opts.dry_run) {
    summary.quality.Finish(cfg.contract.get(), state->get(), cfg.name);
    (void)(*state)->RecordRun(cfg.name, SummaryJson(summary), summary.quality.ToJson());
  }
  return summary;
}

std::string SummaryJson(const RunSummary& s) {
  std::string out = "{\"pipeline\":" + JsonQuote(s.pipeline) + ",\"status\":" + JsonQuote(s.status) +
                    ",\"rows_in\":" + std::to_string(s.counters.rows_in) +
                    ",\"rows_out\":" + std::to_string(s.counters.rows_out) +
                    ",\"rows_quarantined\":" + std::to_string(s.counters.rows_quarantined) +
                    ",\"rows_skipped\":" + std::to_string(s.counters.rows_skipped) +
                    ",\"bytes_in\":" + std::to_string(s.counters.bytes_in);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", s.seconds);
  out += ",\"seconds\":" + std::string(secs) + ",\"commits\":" + std::to_string(s.commits) +
         ",\"attempts\":" + std::to_string(s.attempts);
  if (!s.error.empty()) out += ",\"error\":" + JsonQuote(s.error);
  if (!s.failures.empty()) {
    out += ",\"failures\":[";
    for (size_t i = 0; i < s.failures.size(); ++i) out += (i ? "," : "") + JsonQuote(s.failures[i]);
    out += "]";
  }
  out += "}";
  return out;
}

std::string SummaryText(const RunSummary& s) {
  char buf[512];
  std::string out = "pipeline " + s.pipeline + ": " + s.status + "\n";
  auto line = [&](const char* label, const std::string& value, const std::string& note = "") {
    std::snprintf(buf, sizeof buf, "  %-16s %14s%s%s\n", label, value.c_str(), note.empty() ? "" : "  ", note.c_str());
    out += buf;
  };
  line("rows in", std::to_string(s.counters.rows_in));
  line("rows out", std::to_string(s.counters.rows_out), s.sink.empty() ? "" : "-> " + s.sink);
  line("rows quarantined", std::to_string(s.counters.rows_quarantined),
       s.counters.rows_quarantined > 0 && !s.quarantine_path.empty() ? "see: sluice quarantine list <pipeline.yaml>" : "");
  line("rows skipped", std::to_string(s.counters.rows_skipped));
  line("bytes in", HumanBytes(static_cast<double>(s.counters.bytes_in)));
  if (s.peak_buffer_bytes > 0) line("buffer peak", HumanBytes(static_cast<double>(s.peak_buffer_bytes)), "between source and sink");
  double rate = s.seconds > 0 ? static_cast<double>(s.counters.rows_in) / s.seconds : 0;
  std::snprintf(buf, sizeof buf, "%.2f s", s.seconds);
  line("time", buf, HumanCount(rate) + " rows/s");
  for (const auto& f : s.failures) out += "  unreadable: " + f + "\n";
  for (const auto& r : s.dry_run_rejects) out += "  would quarantine " + r.origin + ": " + r.reason + "\n";
  if (!s.error.empty()) out += "  error: " + s.error + "\n";
  return out;
}

}  // namespace sluice
