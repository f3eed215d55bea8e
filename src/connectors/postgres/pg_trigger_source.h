#pragma once
// mode: trigger of the `postgres` source: change data capture through triggers, for a server
// where sluice may not use logical replication (README.md in this folder, "Trigger CDC").
// postgres_source.cc dispatches to MakeTriggerSource; everything else is in pg_trigger_source.cc.

#include <memory>

#include "config/config_node.h"
#include "connectors/connector.h"

namespace sluice::pgsrc {

// The source of a `mode: trigger` block (options: the postgres source's schema). Config errors
// name their YAML path; nothing is contacted before Open (or Uninstall).
Result<std::unique_ptr<Source>> MakeTriggerSource(const ConnectorContext& ctx,
                                                  const ConfigNode& block);

}  // namespace sluice::pgsrc
