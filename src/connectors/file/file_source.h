#pragma once
// The `file` source (see README.md in this folder). Registered by RegisterFileSourceConnector;
// InferFileSchema serves `sluice infer`.

#include <string>
#include <vector>

#include "core/status.h"
#include "core/record_batch.h"
#include "core/types.h"

namespace sluice {

struct InferredFile {
  Schema schema;
  int64_t rows_sampled = 0;
  std::string format;       // "csv", "jsonl"
  std::string compression;  // "none", "gzip", "zstd"
  std::string dialect;      // the decoder's description of settled options
  std::vector<RecordBatchPtr> sample;  // the sampled rows, typed with `schema`
};

// Infers a schema from the first `max_rows` rows of `path`. `format` may be empty (extension).
Result<InferredFile> InferFileSchema(const std::string& path, const std::string& format, int64_t max_rows);

}  // namespace sluice
