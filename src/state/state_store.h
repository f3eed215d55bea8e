#pragma once
// StateStore: the embedded state store (an SQLite file, `state:` in the pipeline, by default
// <pipeline dir>/.sluice/state.db). It holds what has no transactional home in the sink:
// checkpoints of non-transactional sinks, schema versions, run history, and the per-pipeline
// run lock. Thread-safe: calls are serialised by an internal mutex.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "core/position.h"
#include "core/status.h"
#include "core/types.h"


namespace sluice {

// Held while a run owns its pipeline; releasing (or the process dying) frees it.
class RunLock {
 public:
  explicit RunLock(int fd) : fd_(fd) {}
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_;
};

struct SchemaVersion {
  int version = 0;
  Schema schema;
  std::string recorded_at;
};

class SqliteDb;

class StateStore {
 public:
  // Creates the file and its directory when missing.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path);
  ~StateStore();

  const std::string& path() const { return path_; }

  // One run per pipeline. Busy (with the holder's pid) when another run holds it.
  Result<std::unique_ptr<RunLock>> Lock(const std::string& pipeline);

  // Checkpoints of sinks whose own storage is not transactional. `Save` replaces the listed
  // positions and adds the counters, in one transaction.
  Result<StateMap> LoadPositions(const std::string& pipeline, const std::string& sink);
  Status SavePositions(const std::string& pipeline, const std::string& sink, const CommitState& state);
  Status ResetPositions(const std::string& pipeline, const std::string& sink, const std::string& stream);

  // Schema versions per (pipeline, stream): the newest, and a new version when it differs.
  Result<std::optional<SchemaVersion>> LoadSchema(const std::string& pipeline, const std::string& stream);
  Status SaveSchema(const std::string& pipeline, const std::string& stream, const Schema& schema);
  Status ResetSchemas(const std::string& pipeline, const std::string& stream);
  Result<std::vector<std::pair<std::string, SchemaVersion>>> ListSchemas(const std::string& pipeline);

  // Run history: one row per run with its JSON summary.
  Status RecordRun(const std::string& pipeline, const std::string& summary_json);
  Result<std::vector<std::string>> RecentRuns(const std::string& pipeline, int limit);

 private:
  explicit StateStore(std::string path);
  Status Exec(const std::string& sql);
  std::string path_;
  std::unique_ptr<SqliteDb> owner_;
  std::mutex mu_;
};

// The JSON text of cumulative counters after adding `delta` to `previous` (which may be empty).
std::string AddCountersJson(const std::string& previous, const RunCounters& delta);
// Reserved (stream, key) entries every sink keeps beside source positions.
inline constexpr const char* kCountersKey = "counters";  // stream "" holds cumulative counters

}  // namespace sluice
