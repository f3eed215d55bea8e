#pragma once
// QuarantineStore: where rejected rows live (an SQLite file, quarantine.db, in the pipeline's
// quarantine directory). Each record has a deterministic id derived from (pipeline, stream,
// position, ordinal, contract version), so writing the same rejected row again after a crash
// replaces it instead of doubling it. Records are written, durably, before the sink commits the
// group they belong to. Thread-compatible: one writer at a time.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/position.h"
#include "core/status.h"

namespace sluice {

class SqliteDb;

struct QuarantineSummaryRow {
  std::string stream;
  std::string rule;
  std::string column;
  int64_t count = 0;
  std::string example_reason;
};

struct QuarantineEntry {
  std::string id;
  RejectedRow row;
  std::string recorded_at;
};

// The current time as quarantine records store it (UTC, microseconds; sorts as text).
std::string QuarantineNow();

class QuarantineStore {
 public:
  static Result<std::unique_ptr<QuarantineStore>> Open(const std::string& dir);
  ~QuarantineStore();
  const std::string& path() const { return path_; }

  // Writes (idempotently) and syncs the records of one commit group.
  Status Write(const std::string& pipeline, const std::vector<RejectedRow>& rows,
               int contract_version = 0);
  Result<std::vector<QuarantineSummaryRow>> Summarize(const std::string& pipeline);
  Result<std::vector<QuarantineEntry>> List(const std::string& pipeline, int64_t limit);
  // The newest `limit` records whose comma-joined rule list names `rule`.
  Result<std::vector<QuarantineEntry>> SampleOfRule(const std::string& pipeline, const std::string& rule,
                                                    int64_t limit);
  Result<int64_t> Count(const std::string& pipeline);
  // Rows held per stream (a stream with none is absent).
  Result<std::vector<std::pair<std::string, int64_t>>> CountByStream(const std::string& pipeline);
  Status Clear(const std::string& pipeline, const std::string& stream);
  // Deletes the listed records unless they were (re)written at or after `before` (a replay that
  // rejected a row again rewrites its record, which must then stay).
  Status DeleteOlderThan(const std::string& pipeline, const std::vector<std::string>& ids,
                         const std::string& before);

  static std::string RecordId(const std::string& pipeline, const RejectedRow& row, int ordinal,
                              int contract_version);

 private:
  std::string path_;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace sluice
