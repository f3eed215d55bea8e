#include "connectors/mysql/mysql_compact.h"

#include <cstring>
#include <unordered_map>

#include "connectors/sql/change_compact.h"

namespace sluice::mysql {
namespace {

struct KeyState {
  int64_t last_row = 0;
  bool live = false;            // the last operation is an insert/update
  bool deleted_before = false;  // a delete happened at some point
  bool delete_first = false;    // ... before the current live version
  std::vector<int64_t> from;
};

}  // namespace

CompactedBatch CompactByKey(const RecordBatch& batch, const std::vector<int>& key_fields,
                            bool apply_deletes) {
  CompactedBatch out;
  const size_t ncols = batch.schema()->size();
  std::vector<bool> is_key(ncols, false);
  for (int f : key_fields) is_key[static_cast<size_t>(f)] = true;
  std::unordered_map<std::string, size_t> index;
  std::vector<KeyState> keys;
  std::string kb;
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    std::string null_key;
    for (int f : key_fields) {
      if (batch.column(static_cast<size_t>(f)).IsNull(r))
        null_key = batch.schema()->field(static_cast<size_t>(f)).name;
    }
    if (!null_key.empty()) {
      out.refused.emplace_back(r, "key column '" + null_key +
                                      "' is null; a row without its key cannot be "
                                      "upserted (declare the column not null in the contract)");
      continue;
    }
    const char op = batch.op(r);
    if (op == 'd' && !apply_deletes) {
      out.refused.emplace_back(r,
                               "a delete operation reached a sink in mode upsert, which does not "
                               "delete; use mode: replicate to apply deletes");
      continue;
    }
    sql::KeyBytes(batch, key_fields, r, kb);
    auto [it, fresh] = index.emplace(kb, keys.size());
    if (fresh) keys.emplace_back();
    KeyState& k = keys[it->second];
    k.last_row = r;
    if (op == 'd') {
      k.live = false;
      k.deleted_before = true;
      continue;
    }
    if (!k.live) {
      // A new version of the row starts: what the batch does not send is either what the table
      // holds, or nothing at all when the key was deleted first.
      k.live = true;
      k.delete_first = k.deleted_before;
      k.from.assign(ncols, k.deleted_before ? CompactedBatch::kNull : CompactedBatch::kKeep);
    }
    for (size_t c = 0; c < ncols; ++c) {
      if (is_key[c] || !batch.is_unchanged(c, r)) k.from[c] = r;
    }
  }
  for (KeyState& k : keys) {
    if (!k.live) {
      out.deletes.push_back(k.last_row);
      continue;
    }
    CompactedBatch::Upsert u;
    u.row = k.last_row;
    u.delete_first = k.delete_first;
    bool simple = true;
    for (int64_t f : k.from) simple &= (f == k.last_row);
    if (!simple) u.from = std::move(k.from);
    out.upserts.push_back(std::move(u));
  }
  return out;
}

}  // namespace sluice::mysql
