#pragma once
// Quarantine replay: a source whose rows are the pipeline's quarantined records, re-driven through
// the current contract and masks into the sink (`sluice quarantine replay`). Each record leaves
// the quarantine exactly once: the replayed record ids are checkpointed in the sink's transaction
// (stream "_replay"), and only then deleted from the quarantine; a record the replay rejects
// again is rewritten, not deleted. Records whose raw text was redacted for privacy cannot be
// replayed and stay.

#include <memory>

#include "connectors/connector.h"

namespace sluice {

class QuarantineStore;

// A source factory bound to `quarantine` (which must outlive the run).
SourceFactory QuarantineReplaySourceFactory(QuarantineStore* quarantine);

}  // namespace sluice
