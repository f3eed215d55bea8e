#include "connectors/connector.h"

namespace sluice {

void ConnectorRegistry::Add(ConnectorInfo info) { connectors_.push_back(std::move(info)); }

const ConnectorInfo* ConnectorRegistry::Find(const std::string& kind, const std::string& type) const {
  for (const auto& c : connectors_) {
    if (c.kind == kind && c.type == type) return &c;
  }
  return nullptr;
}

const ConnectorRegistry& BuiltinConnectors() {
  static const ConnectorRegistry* registry = [] {
    auto* r = new ConnectorRegistry();
    RegisterBuiltinConnectors(*r);
    return r;
  }();
  return *registry;
}

Result<std::string> SinkTableFor(const std::string& table_option, const std::string& stream,
                                 const std::map<std::string, std::string>& stream_tables) {
  auto mapped = stream_tables.find(stream);
  const std::string& name = mapped == stream_tables.end() ? stream : mapped->second;
  if (table_option.empty()) {
    if (name.empty()) {
      return Status::InvalidArgument("sink.table: not set, and the batch has no stream name to name the table after");
    }
    return name;
  }
  std::string out = table_option;
  for (size_t at = out.find("{stream}"); at != std::string::npos; at = out.find("{stream}", at + name.size())) {
    out.replace(at, 8, name);
  }
  return out;
}

}  // namespace sluice
