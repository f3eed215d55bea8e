// The folder's single entry point (DESIGN.md "Connectors"): every postgres connector.
#include "connectors/connector.h"
#include "connectors/postgres/postgres_sink.h"
#include "connectors/postgres/postgres_source.h"

namespace sluice {

void RegisterPostgresConnector(ConnectorRegistry& registry) {
  RegisterPostgresSink(registry);
  AddPostgresSource(registry);
}

}  // namespace sluice
