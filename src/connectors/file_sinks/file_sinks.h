#pragma once
// The sinks that write rows as text: `jsonl` and `csv` files (exactly-once by truncation),
// `stdout` (at-least-once) and `discard` (counts and drops). See README.md.

#include <memory>

#include "connectors/connector.h"

namespace sluice {

// Registers the four sink types.
void RegisterFileSinkConnectors(ConnectorRegistry& registry);

// The `stdout` sink writing to `fd` instead of file descriptor 1 (for tests). `options` is the
// validated sink block, as for the registered factory.
Result<std::unique_ptr<Sink>> MakeStdoutSinkForFd(const ConnectorContext& ctx,
                                                 const ConfigNode& options, int fd);

}  // namespace sluice
