#pragma once
// Compaction of a batch of keyed changes (sink modes upsert and replicate): each key keeps only
// its final operation, in source order, so that one statement never touches a key twice and the
// order of statements between keys does not matter. No server is involved; unit-tested.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/record_batch.h"

namespace sluice::mysql {

struct CompactedBatch {
  // For Upsert::from: the column is left as stored (every version in the batch marked it
  // unchanged), or is NULL (it was unchanged after a delete of the key, so nothing holds it).
  static constexpr int64_t kKeep = -1;
  static constexpr int64_t kNull = -2;

  struct Upsert {
    int64_t row = 0;  // the key's last row: its key values, and its origin if refused
    std::vector<int64_t>
        from;  // empty: every column from `row`; else per column a row or kKeep/kNull
    bool delete_first = false;  // the key was deleted before this version: delete, then insert
  };
  std::vector<int64_t> deletes;                          // rows whose key ends deleted
  std::vector<Upsert> upserts;                           // in order of each key's first appearance
  std::vector<std::pair<int64_t, std::string>> refused;  // row, reason (null key, unwanted delete)
};

// `key_fields` are the batch fields of the key. With `apply_deletes` false (mode upsert), a
// delete operation is refused rather than applied.
CompactedBatch CompactByKey(const RecordBatch& batch, const std::vector<int>& key_fields,
                            bool apply_deletes);

}  // namespace sluice::mysql
