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

// One path or glob (`data/*.csv`, `logs/**/*.jsonl`, `{a,b}.csv`), relative to `base`, as sorted
// absolute file paths. A plain path is returned even when it does not exist, so its error names it.
std::vector<std::string> ExpandFilePattern(const std::string& base, const std::string& pattern);

// Infers a schema from the first `max_rows` rows of `path`. `format` may be empty (extension).
Result<InferredFile> InferFileSchema(const std::string& path, const std::string& format, int64_t max_rows);

}  // namespace sluice
