#pragma once
// The `postgres` sink: a commit group is one transaction on one connection, rows and the
// group's checkpoint (in `_sluice_state`) together, so a crash keeps both or neither
// (exactly-once). See README.md in this folder for options, modes and physical types.

#include "connectors/connector.h"

namespace sluice {

// Adds the "postgres" sink to `registry` (RegisterPostgresConnector calls it).
void RegisterPostgresSink(ConnectorRegistry& registry);

}  // namespace sluice
