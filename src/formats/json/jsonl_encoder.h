#pragma once
// JSON Lines encoding: each row of a RecordBatch becomes one JSON object on its own line,
// `{"col":value,...}\n`, keys in schema order. Values follow AppendValueJson (core/values.h):
// null is null, bool and int64 are literals, float64 is a number (NaN and infinities become
// strings), json columns are embedded raw, and every other type is a JSON string of its text
// form. Encoding only, no I/O. Not thread-safe; use one encoder per thread.

#include <cstdint>
#include <string>
#include <vector>

#include "core/record_batch.h"

namespace sluice {

class JsonlEncoder {
 public:
  // Appends rows [begin, end) of `batch` to `out`, one line each.
  void Encode(const RecordBatch& batch, int64_t begin, int64_t end, std::string& out);
  void Encode(const RecordBatch& batch, std::string& out) { Encode(batch, 0, batch.num_rows(), out); }

 private:
  void Prepare(const SchemaPtr& schema);

  SchemaPtr schema_;               // the schema `keys_` was built for
  std::vector<std::string> keys_;  // `{"a":`, `,"b":` ... ready to append
};

}  // namespace sluice
