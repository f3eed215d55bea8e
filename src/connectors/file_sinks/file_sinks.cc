// STUB: replaced by the jsonl, csv, stdout and discard sinks.
#include "connectors/connector.h"
namespace sluice {
void RegisterFileSinkConnectors(ConnectorRegistry&) {}
}  // namespace sluice
