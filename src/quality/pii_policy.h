#pragma once
// PiiPolicy: how personal data is handled on its way through a pipeline. It applies the `mask`
// transforms to batches (after the contract, which sees real values, and before the sink), and
// redacts rejected rows before the quarantine stores them: masked columns get their mask, other
// `pii:` columns of the contract are redacted, and a raw source line of a stream that holds PII is
// replaced by a note naming those columns. Immutable after construction; thread-safe.

#include <string>
#include <vector>

#include "config/config_node.h"
#include "core/position.h"
#include "core/record_batch.h"
#include "quality/pii/mask.h"

namespace sluice {

struct Contract;

class PiiPolicy {
 public:
  PiiPolicy() = default;
  PiiPolicy(std::vector<ColumnMask> masks, std::vector<std::string> pii_columns)
      : masks_(std::move(masks)), pii_columns_(std::move(pii_columns)) {}
  bool empty() const { return masks_.empty() && pii_columns_.empty(); }
  const std::vector<ColumnMask>& masks() const { return masks_; }
  Result<RecordBatchPtr> Mask(const RecordBatchPtr& batch) const;
  // `masked`: the row's values already went through Mask (rows the sink refused).
  void Redact(RejectedRow& row, bool masked = false) const;

 private:
  std::vector<ColumnMask> masks_;
  std::vector<std::string> pii_columns_;  // of the contract, masked or not
};

// Parses a pipeline's `transforms:` list (only `type: mask` for now). Errors name the YAML path.
Result<std::vector<ColumnMask>> ParseMaskTransforms(const ConfigNode& transforms);

}  // namespace sluice
