#pragma once
// mode: cdc of the `mysql` source: change data capture from a MariaDB row-based binlog, read
// through libmariadb's mariadb_rpl and positioned by GTID (README.md, "Change data capture").
// mysql_source.cc parses the options and calls MakeCdcSource; everything else is in
// mysql_cdc.cc (snapshot, stream, positions) and mysql_binlog.cc (pure event decoding).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/mysql/mysql_conn.h"

namespace sluice::mysql {

struct CdcConfig {
  ConnOptions conn;
  std::vector<std::string> tables;  // as written: "t" or "db.t"; each is a stream of that name
  bool stop_at_caught_up = false;   // stop_at: caught_up
  bool snapshot_initial = true;     // snapshot: initial | never
  std::string start_gtid;           // snapshot: never: stream after this position (default: now)
  uint32_t server_id = 0;  // the replica id shown to the server; 0: derived from the pipeline
  double heartbeat_s = 1;  // idle tick: flush, check stop, store the position
  int64_t page_size = 65536;  // rows per snapshot chunk
};

Result<std::unique_ptr<Source>> MakeCdcSource(const ConnectorContext& ctx, CdcConfig cfg);

// A MariaDB GTID position: per replication domain, the last (server id, sequence number).
// Text form "0-1-42,1-2-7", as @@gtid_binlog_pos and @slave_connect_state write it.
struct GtidSet {
  struct Entry {
    uint32_t server_id = 0;
    uint64_t seq = 0;
  };
  std::map<uint32_t, Entry> domains;

  static bool Parse(std::string_view text, GtidSet* out);
  std::string ToString() const;
  // True when the transaction (domain, seq) is at or below this position.
  bool Contains(uint32_t domain, uint64_t seq) const;
  // True when every domain of `target` is reached.
  bool Reaches(const GtidSet& target) const;
  void Advance(uint32_t domain, uint32_t server_id, uint64_t seq);
  // Per domain the lower of the two; a domain missing from either is left out (read from the
  // start of the binlog).
  static GtidSet Min(const GtidSet& a, const GtidSet& b);
};

}  // namespace sluice::mysql
