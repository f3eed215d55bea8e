#pragma once
// Internals of the file sinks: the concrete sinks behind the registered factories.

#include <memory>
#include <string>

#include "connectors/connector.h"

namespace sluice::file_sinks {

enum class TextFormat { kJsonl, kCsv };

struct FileSinkSettings {
  TextFormat format = TextFormat::kJsonl;
  std::string name;  // keys this sink's state: (pipeline, name)
  std::string path;  // absolute; may contain {stream}
  char delimiter = ',';
  bool header = true;
  // jsonl: each row as a Debezium-style change event (sql/changelog.h) instead of the row itself.
  bool debezium = false;
};

std::unique_ptr<Sink> MakeFileSink(const ConnectorContext& ctx, FileSinkSettings settings);
std::unique_ptr<Sink> MakeStdoutSink(const ConnectorContext& ctx, std::string name,
                                     TextFormat format, int fd);
std::unique_ptr<Sink> MakeDiscardSink(const ConnectorContext& ctx, std::string name);

// The file name part that `{stream}` becomes: the stream name with path separators and control
// characters replaced by '_' ("default" for an empty name).
std::string StreamFileName(const std::string& stream);

}  // namespace sluice::file_sinks
