// The `stdout` sink: rows as JSON lines or CSV on standard output. At-least-once: rows reach
// the terminal or pipe before their positions reach the state store, and written bytes cannot
// be taken back, so a crash between the two replays the group.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "connectors/file_sinks/internal.h"
#include "connectors/file_sinks/output_file.h"
#include "formats/csv/csv_encoder.h"
#include "formats/json/jsonl_encoder.h"
#include "state/state_store.h"

namespace sluice::file_sinks {

namespace {

constexpr int64_t kChunkRows = 4096;

class StdoutSink final : public Sink {
 public:
  StdoutSink(const ConnectorContext& ctx, std::string name, TextFormat format, int fd)
      : ctx_(ctx), name_(std::move(name)), format_(format), fd_(fd) {}

  Status Open() override {
    if (!ctx_.state) return Status::Internal("stdout sink '" + name_ + "' needs the state store");
    return Status::OK();
  }

  Result<StateMap> LoadState() override {
    if (!ctx_.state) return Status::Internal("stdout sink '" + name_ + "' needs the state store");
    return ctx_.state->LoadPositions(ctx_.pipeline, name_);
  }

  Status Write(const RecordBatch& batch) override {
    if (ctx_.dry_run) return Status::OK();
    if (format_ == TextFormat::kCsv) {
      // A new column set starts a new header, as a new table would.
      if (batch.schema() != header_schema_) {
        std::vector<std::string> names;
        for (const Field& f : batch.schema()->fields()) names.push_back(f.name);
        if (names != header_) {
          header_ = std::move(names);
          csv_.EncodeHeader(header_, buffer_);
        }
        header_schema_ = batch.schema();
      }
    }
    const int64_t n = batch.num_rows();
    for (int64_t b = 0; b < n; b += kChunkRows) {
      int64_t e = std::min(n, b + kChunkRows);
      if (format_ == TextFormat::kCsv) csv_.Encode(batch, b, e, buffer_);
      else jsonl_.Encode(batch, b, e, buffer_);
      if (buffer_.size() >= OutputFile::kFlushBytes) RETURN_IF_ERROR(Flush());
    }
    return Status::OK();
  }

  Status Commit(const CommitState& state) override {
    if (ctx_.dry_run) return Status::OK();
    RETURN_IF_ERROR(Flush());
    // Redirected to a file, make the rows durable before their positions; a pipe or terminal
    // cannot be synced (EINVAL), and that is fine.
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && ::fsync(fd_) != 0 && errno != EINVAL) {
      return Status::IoError(std::string("cannot fsync stdout: ") + std::strerror(errno));
    }
    return ctx_.state->SavePositions(ctx_.pipeline, name_, state);
  }

  Status Abort() override {
    // Only what is still buffered can be taken back; the rest is replayed (at-least-once).
    buffer_.clear();
    header_ = flushed_header_;
    header_schema_.reset();
    return Status::OK();
  }

  Status ResetState(const std::string& stream) override {
    if (!ctx_.state) return Status::Internal("stdout sink '" + name_ + "' needs the state store");
    return ctx_.state->ResetPositions(ctx_.pipeline, name_, stream);
  }

  bool transactional() const override { return false; }

  std::string Describe() const override {
    return std::string("stdout ") + (format_ == TextFormat::kCsv ? "csv" : "jsonl") + " (at-least-once)";
  }

 private:
  Status Flush() {
    if (buffer_.empty()) return Status::OK();
    Status st = WriteAll(fd_, buffer_.data(), buffer_.size(), "stdout");
    buffer_.clear();
    flushed_header_ = header_;
    return st;
  }

  ConnectorContext ctx_;
  std::string name_;
  TextFormat format_;
  int fd_;
  JsonlEncoder jsonl_;
  CsvEncoder csv_;
  std::string buffer_;
  std::vector<std::string> header_;          // CSV: the last header in the output, buffer included
  std::vector<std::string> flushed_header_;  // CSV: the last header actually written
  SchemaPtr header_schema_;                  // the schema `header_` was checked against
};

}  // namespace

std::unique_ptr<Sink> MakeStdoutSink(const ConnectorContext& ctx, std::string name, TextFormat format,
                                     int fd) {
  return std::make_unique<StdoutSink>(ctx, std::move(name), format, fd);
}

}  // namespace sluice::file_sinks
