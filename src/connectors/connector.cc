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

}  // namespace sluice
