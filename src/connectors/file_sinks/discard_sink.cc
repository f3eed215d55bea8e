// The `discard` sink: counts rows and drops them, but records positions like any sink so that
// a rerun resumes. For benchmarks (the cost of everything but the sink) and dry runs.

#include "connectors/file_sinks/internal.h"
#include "core/log.h"
#include "state/state_store.h"

namespace sluice::file_sinks {

namespace {

class DiscardSink final : public Sink {
 public:
  DiscardSink(const ConnectorContext& ctx, std::string name) : ctx_(ctx), name_(std::move(name)) {}

  Status Open() override { return Status::OK(); }

  Result<StateMap> LoadState() override {
    if (!ctx_.state) return StateMap();
    return ctx_.state->LoadPositions(ctx_.pipeline, name_);
  }

  Status Write(const RecordBatch& batch) override {
    group_rows_ += batch.num_rows();
    return Status::OK();
  }

  Status Commit(const CommitState& state) override {
    // A dry run writes nothing, not even positions.
    if (ctx_.state && !ctx_.dry_run) RETURN_IF_ERROR(ctx_.state->SavePositions(ctx_.pipeline, name_, state));
    rows_ += group_rows_;
    group_rows_ = 0;
    return Status::OK();
  }

  Status Abort() override {
    group_rows_ = 0;
    return Status::OK();
  }

  Status Close() override {
    if (ctx_.log) ctx_.log->Info("discard sink dropped " + std::to_string(rows_) + " rows");
    return Status::OK();
  }

  Status ResetState(const std::string& stream) override {
    if (!ctx_.state) return Status::OK();
    return ctx_.state->ResetPositions(ctx_.pipeline, name_, stream);
  }

  bool transactional() const override { return false; }

  std::string Describe() const override {
    return "discard (" + std::to_string(rows_) + " rows dropped)";
  }

 private:
  ConnectorContext ctx_;
  std::string name_;
  int64_t rows_ = 0;        // committed rows, dropped
  int64_t group_rows_ = 0;  // rows of the open group
};

}  // namespace

std::unique_ptr<Sink> MakeDiscardSink(const ConnectorContext& ctx, std::string name) {
  return std::make_unique<DiscardSink>(ctx, std::move(name));
}

}  // namespace sluice::file_sinks
