#pragma once
// UniqueKeyIndex: enforces a contract's `unique: true` columns across runs and restarts. Within a
// run the contract checker already rejects repeats; this index remembers every value loaded by
// earlier commit groups, in `<state dir>/unique-keys.db`.
//
// Exactly-once with the sink: the values of a commit group are written under the group's
// sequence number and committed just before the sink commits the same number with its positions
// (position ("", "unique_seq")). When the process dies between the two, the next Open finds the
// sink one number behind and forgets the index's newer values, so the re-read rows are not
// mistaken for repeats. Used by the sink stage only (one thread).

#include <memory>
#include <string>
#include <vector>

#include "core/position.h"
#include "core/status.h"
#include "state/sqlite_db.h"

namespace sluice {

inline constexpr const char* kUniqueSeqKey = "unique_seq";  // position key, stream ""

class UniqueKeyIndex {
 public:
  // `committed` is the sink's committed state: its unique_seq says which groups are durable.
  static Result<std::unique_ptr<UniqueKeyIndex>> Open(const std::string& path, const std::string& pipeline,
                                                      std::vector<std::string> columns, const StateMap& committed);
  // Takes out of `batch` the rows whose value in a unique column an earlier group loaded, with a
  // RejectedRow each, and records the values of the rows that stay under the open group.
  Result<RecordBatchPtr> Filter(const RecordBatchPtr& batch, std::vector<RejectedRow>* rejects);
  // Durable before the sink's commit; `position` is what the sink commits with the group.
  Status Commit(SourcePosition* position);
  void Abort();

 private:
  UniqueKeyIndex() = default;
  Status Begin();
  SqliteDb db_;
  SqliteStmt find_, insert_;
  std::string pipeline_;
  std::vector<std::string> columns_;
  int64_t seq_ = 1;  // the open group's number
  bool in_txn_ = false;
};

}  // namespace sluice
