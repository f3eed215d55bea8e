// STUB: replaced by the sqlite sink.
#include "connectors/connector.h"
namespace sluice {
void RegisterSqliteConnector(ConnectorRegistry&) {}
}  // namespace sluice
