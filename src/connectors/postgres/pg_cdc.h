#pragma once
// mode: cdc of the `postgres` source: change data capture by logical replication with the
// built-in `pgoutput` plugin (README.md in this folder, "Change data capture"). The source itself
// is made by MakeCdcSource (pg_source_internal.h); this header holds what the CLI needs.

#include <string>

#include "config/config_node.h"
#include "core/status.h"

namespace sluice {

// `sluice cdc drop-slot`: drops the replication slot (and, when `publication` is true, the
// publication) of a postgres cdc source block. `pipeline` names the defaults (sluice_<pipeline>).
// Sets `*message` to what was done. NotFound when there is no such slot.
Status DropPostgresCdcSlot(const ConfigNode& source_block, const std::string& pipeline,
                           const std::string& base_dir, bool publication, std::string* message);

}  // namespace sluice
