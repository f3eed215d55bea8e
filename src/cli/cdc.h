#pragma once
// `sluice cdc ...`: commands about a change data capture source's server-side objects.

#include <string>

#include "core/log.h"

namespace sluice {

// `sluice cdc drop-slot PIPELINE.yaml [--publication]`: drops the replication slot of the
// pipeline's postgres cdc source (and its publication with --publication). A slot keeps WAL on
// the server until it is dropped. Exit 0 when dropped, 1 on an error, 2 for a pipeline whose
// source is not postgres mode: cdc.
int CmdCdcDropSlot(const std::string& pipeline, bool publication, Logger& log);

}  // namespace sluice
