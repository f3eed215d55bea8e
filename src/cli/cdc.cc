#include "cli/cdc.h"

#include <cstdio>

#include "config/pipeline_config.h"
#include "connectors/connector.h"
#include "connectors/postgres/pg_cdc.h"

namespace sluice {

int CmdCdcDropSlot(const std::string& path, bool publication, Logger& log) {
  (void)log;
  auto cfg = LoadPipeline(path, BuiltinConnectors());
  if (!cfg.ok()) {
    std::fprintf(stderr, "sluice: config error: %s\n", cfg.status().message().c_str());
    return 2;
  }
  const ConfigNode& src = cfg->source();
  const ConfigNode* mode = src.Find("mode");
  if (cfg->source_type != "postgres" || !mode || !mode->IsScalar() || mode->scalar() != "cdc") {
    std::fprintf(stderr, "sluice: %s: the source is not postgres with mode: cdc; it has no replication slot\n", path.c_str());
    return 2;
  }
  std::string message;
  Status st = DropPostgresCdcSlot(src, cfg->name, cfg->base_dir, publication, &message);
  if (!st.ok()) {
    std::fprintf(stderr, "sluice: cdc drop-slot: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("%s\n", message.c_str());
  std::printf("the sink still holds this pipeline's positions: run `sluice state reset %s` before the next run, "
              "which then copies the tables again\n", path.c_str());
  return 0;
}

}  // namespace sluice
