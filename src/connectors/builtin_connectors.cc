// Every built-in connector, registered explicitly: no static self-registration.
#include "connectors/connector.h"

namespace sluice {

void RegisterFileSourceConnector(ConnectorRegistry& registry);
void RegisterSqliteConnector(ConnectorRegistry& registry);
void RegisterFileSinkConnectors(ConnectorRegistry& registry);  // jsonl, csv, stdout, discard
void RegisterMysqlConnector(ConnectorRegistry& registry);      // source and sink
void RegisterPostgresConnector(ConnectorRegistry& registry);
void RegisterOdbcConnector(ConnectorRegistry& registry);       // source

void RegisterBuiltinConnectors(ConnectorRegistry& registry) {
  RegisterFileSourceConnector(registry);
  RegisterSqliteConnector(registry);
  RegisterFileSinkConnectors(registry);
  RegisterMysqlConnector(registry);
  RegisterPostgresConnector(registry);
  RegisterOdbcConnector(registry);
}

}  // namespace sluice
