#pragma once
// The `sqlite` sink: rows and the commit group's checkpoint go into one SQLite transaction, so a
// crash keeps both or neither (exactly-once). See README.md in this folder for options, modes and
// the physical form of every type.

#include "connectors/connector.h"

namespace sluice {

// Adds the "sqlite" sink to `registry`.
void RegisterSqliteConnector(ConnectorRegistry& registry);

}  // namespace sluice
