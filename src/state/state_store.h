#pragma once
// StateStore: the embedded state store (an SQLite file, `state:` in the pipeline, by default
// <pipeline dir>/.sluice/state.db). It holds what has no transactional home in the sink:
// checkpoints of non-transactional sinks, schema versions, run history, and the per-pipeline
// run lock. Thread-safe: calls are serialised by an internal mutex.

#include <map>
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

// One recorded run: its JSON summary and, when it was recorded, its quality figures (JSON of
// quality/run_metrics.h; empty for runs recorded before them).
struct RunRecord {
  int64_t id = 0;
  std::string finished_at;
  std::string summary;
  std::string quality;
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
  // Every version of every stream, by stream then version.
  Result<std::vector<std::pair<std::string, SchemaVersion>>> SchemaHistory(const std::string& pipeline);

  // The primary keys a source reported per stream (CDC, triggers), so a run whose source cannot
  // tell them (quarantine replay) still knows them.
  Status SaveStreamKeys(const std::string& pipeline, const std::map<std::string, std::vector<std::string>>& keys);
  Result<std::map<std::string, std::vector<std::string>>> LoadStreamKeys(const std::string& pipeline);

  // Run history: one row per run with its JSON summary, and its quality figures (table
  // run_quality, keyed by the run's id) written in the same transaction.
  Status RecordRun(const std::string& pipeline, const std::string& summary_json,
                   const std::string& quality_json = "");
  Result<std::vector<std::string>> RecentRuns(const std::string& pipeline, int limit);
  // The newest `limit` runs with their quality figures, newest first.
  Result<std::vector<RunRecord>> RunHistory(const std::string& pipeline, int limit);

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
