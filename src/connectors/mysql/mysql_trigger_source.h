#pragma once
// mode: trigger of the `mysql` source: change data capture through triggers, for a server whose
// binlog sluice may not read (README.md in this folder, "Trigger CDC"). mysql_source.cc parses
// the options and calls MakeTriggerSource; everything else is in mysql_trigger_source.cc.

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/mysql/mysql_conn.h"

namespace sluice::mysql {

struct TriggerConfig {
  ConnOptions conn;
  std::vector<std::string> tables;  // as written: "t" or "db.t"; each is a stream of that name
  double poll_interval = 0;         // seconds; 0: one pass, then the run ends
};

Result<std::unique_ptr<Source>> MakeTriggerSource(const ConnectorContext& ctx, TriggerConfig cfg);

}  // namespace sluice::mysql
