#pragma once
// The `sqlite` source: tables of an SQLite file read-only (full snapshot, incremental by cursor)
// or a query. See README.md in this folder.

#include "connectors/connector.h"

namespace sluice {

// Adds the "sqlite" source to `registry`; RegisterSqliteConnector calls it next to the sink.
void AddSqliteSource(ConnectorRegistry& registry);

}  // namespace sluice
