#pragma once
// Source and Sink: the two interfaces every connector implements, and the registry that maps a
// `type:` in a pipeline to a factory. Lifecycle and threading are stated on each class.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config_node.h"
#include "config/options.h"
#include "core/position.h"
#include "core/status.h"

namespace sluice {

class StateStore;
class Logger;

// What every connector is given when it is created.
// Which columns identify a row, per stream, for the keyed sink modes (upsert, replicate). Two
// origins: `streams: {s: {key: [...]}}` in the pipeline, and the primary keys a source reports
// for the streams it reads (the CDC and trigger sources know them). One instance is shared by
// the source and the sink of a run: the source reports before it emits a stream's first rows,
// and the sink looks a stream up when it first writes it. Thread-safe.
class StreamKeys {
 public:
  void Declare(const std::string& stream, std::vector<std::string> key);  // from the pipeline
  void Report(const std::string& stream, std::vector<std::string> key);   // from the source
  // The declared key of `stream`, else `sink_key` (the sink's own `key:`), else the key the
  // source reported; empty when there is none.
  std::vector<std::string> For(const std::string& stream, const std::vector<std::string>& sink_key) const;
  // The keys the source reported, and a count that grows with each change of them (the runtime
  // keeps them in the state store, for `quarantine replay`).
  std::map<std::string, std::vector<std::string>> Reported() const;
  int64_t generation() const;

 private:
  mutable std::mutex mu_;
  int64_t generation_ = 0;
  std::map<std::string, std::vector<std::string>> declared_, reported_;
};

struct ConnectorContext {
  std::string pipeline;       // pipeline name
  std::string base_dir;       // directory of the pipeline file; relative paths resolve here
  std::string state_dir;      // directory of the embedded state store
  StateStore* state = nullptr;  // embedded state store (schemas, non-transactional sink state)
  Logger* log = nullptr;
  // Schema fixed by the pipeline (`schema:`) or contract, per stream; empty when inferred.
  std::map<std::string, Schema> declared_schemas;
  bool dry_run = false;
  // The contract's schema_evolution: evolve | freeze | discard_columns | discard_rows.
  std::string schema_evolution = "evolve";
  // `streams: {s: {table: t}}`: a sink writes the rows of stream s to table t.
  std::map<std::string, std::string> stream_tables;
  // Keys per stream (see StreamKeys); the same object for the source and the sink of a run.
  std::shared_ptr<StreamKeys> stream_keys = std::make_shared<StreamKeys>();
  // Keys may come from `streams:` or from the source (mode cdc or trigger), so a keyed sink
  // without `key:` waits for the first rows of each stream before it asks for one.
  bool keys_from_pipeline = false;
  // The sink's `mode:` (append, upsert, replace, replicate, changelog), empty when it has none.
  std::string sink_mode;
  // The sink writes the old row of an update (a changelog: `mode: changelog`, a Debezium
  // envelope). Sources that build before images only for such sinks read it.
  bool before_images = true;
};

// The type the pipeline declares (`schema:`, `streams:`, the contract) for `column` of `stream`.
// The top-level schema (stream "") applies only when the source has one stream.
std::optional<DataType> DeclaredType(const ConnectorContext& ctx, const std::string& stream, const std::string& column,
                                     bool single_stream);

// The table a database sink writes the rows of `stream` to: its `table:` option with every
// "{stream}" replaced by the stream's name, or that name when `table:` is empty. The name is the
// stream's, or its `streams:` mapping in the pipeline. InvalidArgument when there is no name.
Result<std::string> SinkTableFor(const std::string& table_option, const std::string& stream,
                                 const std::map<std::string, std::string>& stream_tables);

// The error text of a keyed sink mode (upsert, replicate) without a key, after "sink": for
// `stream`, or for the sink as a whole when `stream` is empty.
std::string MissingKey(const std::string& mode, const std::string& stream);

// The runtime's side of a running source. Emit blocks while the channel is full (backpressure).
// It returns Cancelled when the run is stopping; the source should then return promptly.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual Status Emit(Envelope env) = 0;
  virtual bool StopRequested() const = 0;
};

// Lifecycle: Open once, then Run once on the source thread, then destruction. OnCommitted is
// called from the sink thread while Run is in progress, so it must be thread-safe.
class Source {
 public:
  virtual ~Source() = default;
  // `committed` holds the positions durable in the sink, from which the source resumes.
  virtual Status Open(const StateMap& committed) = 0;
  // Emits envelopes in source order until the input is exhausted (batch) or a stop is requested.
  // A returned transient error is retried by the runtime from the last committed position.
  virtual Status Run(Emitter& out) = 0;
  // End-to-end acknowledgement: these positions are durable in the sink.
  virtual void OnCommitted(const std::vector<SourcePosition>& positions) { (void)positions; }
  // Bytes the run will read in total, when known (for the progress ETA).
  virtual std::optional<uint64_t> TotalBytes() const { return std::nullopt; }
  // Lines shown by `sluice check` about the plan (files found, units ...).
  virtual std::vector<std::string> DescribePlan() { return {}; }
  // Removes what the source installed in the source database (capture triggers and their
  // logs, replication slots and publications), for `sluice cdc uninstall`. Called on a source
  // that was not opened. Default: nothing to remove.
  virtual Status Uninstall() { return Status::OK(); }
  // Units that could not be read at all, each "name: reason". The other units still load; the
  // run then ends with status "partial" and exit code 1. Called after Run returns.
  virtual std::vector<std::string> Failures() const { return {}; }
};

// What a commit stores with the rows, atomically.
struct CommitState {
  std::vector<SourcePosition> positions;  // latest per (stream, key) in the group
  RunCounters counters;                   // counts of this group
};

// Lifecycle: Open, then LoadState, then any number of commit groups (Write* then Commit, or
// Abort), then Finish on a successful end of input, then Close. All calls come from one thread.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Open() = 0;
  // The committed positions of this pipeline in this sink.
  virtual Result<StateMap> LoadState() = 0;
  // Adds rows to the open commit group (a group opens implicitly with the first Write). Rows the
  // destination refuses (a constraint, a value out of range) are not an error: they are left out
  // of the group and reported by TakeRefused.
  virtual Status Write(const RecordBatch& batch) = 0;
  // The rows refused since the last call, each with the destination's reason. The runtime
  // quarantines them with the group, so they count as quarantined, not as loaded.
  virtual std::vector<RejectedRow> TakeRefused() { return {}; }
  // Makes the group's rows and `state` durable together. After OK, a crash keeps both; after an
  // error, neither.
  virtual Status Commit(const CommitState& state) = 0;
  // Drops the open group's rows.
  virtual Status Abort() = 0;
  // The input is exhausted and every group is committed (replace mode swaps here).
  virtual Status Finish() { return Status::OK(); }
  virtual Status Close() { return Status::OK(); }
  // Forgets committed state: of one stream, or of all when `stream` is empty.
  virtual Status ResetState(const std::string& stream) = 0;
  // True when Commit is atomic with the rows (state lives in the sink); false when the embedded
  // state store holds it.
  virtual bool transactional() const = 0;
  // Short description for `check` and logs, never with secrets: "sqlite quickstart.db table events".
  virtual std::string Describe() const = 0;
};

using SourceFactory =
    std::function<Result<std::unique_ptr<Source>>(const ConnectorContext&, const ConfigNode&)>;
using SinkFactory =
    std::function<Result<std::unique_ptr<Sink>>(const ConnectorContext&, const ConfigNode&)>;

struct ConnectorInfo {
  std::string type;
  std::string kind;         // "source" or "sink"
  std::string summary;      // one line
  std::string delivery;     // "exactly-once", "at-least-once" ...
  OptionSchema options;
  SourceFactory make_source;
  SinkFactory make_sink;
};

class ConnectorRegistry {
 public:
  void Add(ConnectorInfo info);
  const ConnectorInfo* Find(const std::string& kind, const std::string& type) const;
  const std::vector<ConnectorInfo>& all() const { return connectors_; }

 private:
  std::vector<ConnectorInfo> connectors_;
};

// Every built-in connector, registered explicitly (builtin_connectors.cc).
void RegisterBuiltinConnectors(ConnectorRegistry& registry);
const ConnectorRegistry& BuiltinConnectors();

}  // namespace sluice
