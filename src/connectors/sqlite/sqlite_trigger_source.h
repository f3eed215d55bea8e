#pragma once
// `mode: trigger` of the sqlite source: change data capture through triggers, for a database
// that has no log to read. See README.md in this folder, "Trigger CDC".

#include <memory>

#include "config/options.h"
#include "connectors/connector.h"

namespace sluice {

// The source of `block` (mode: trigger); `options` is the sqlite source's option schema.
Result<std::unique_ptr<Source>> MakeSqliteTriggerSource(const ConnectorContext& ctx, const ConfigNode& block,
                                                        const OptionSchema& options);

}  // namespace sluice
