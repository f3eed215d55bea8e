#pragma once
// The `postgres` source (README.md in this folder, "Source"): tables read in full (one
// consistent snapshot, optionally over parallel key ranges), incrementally (a cursor column with
// keyset pagination and a lookback window), or the rows of a query with a `:cursor` parameter.

#include "connectors/connector.h"

namespace sluice {

// Adds the postgres source to `registry`; RegisterPostgresConnector calls it.
void AddPostgresSource(ConnectorRegistry& registry);

}  // namespace sluice
