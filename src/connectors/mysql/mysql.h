#pragma once
// The `mysql` connector, for MySQL and MariaDB: a source (full snapshot, incremental by cursor,
// or a query) and a sink whose rows and checkpoint commit in one transaction (exactly-once).
// See README.md in this folder for options, modes and the type mapping.

#include "connectors/connector.h"

namespace sluice {

// Adds the "mysql" source and sink to `registry`.
void RegisterMysqlConnector(ConnectorRegistry& registry);

namespace mysql {
void RegisterMysqlSink(ConnectorRegistry& registry);
void RegisterMysqlSource(ConnectorRegistry& registry);
}  // namespace mysql

}  // namespace sluice
