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

std::string MissingKey(const std::string& mode, const std::string& stream) {
  if (stream.empty()) return ".key: required when mode is " + mode + ": the columns that identify a row, for example key: [id]";
  return ".key: required when mode is " + mode + ": the source does not say which columns identify a row of stream '" +
         stream + "'. Set key: [...] on the sink, or streams: {" + stream + ": {key: [...]}}";
}

void StreamKeys::Declare(const std::string& stream, std::vector<std::string> key) {
  std::lock_guard<std::mutex> lock(mu_);
  declared_[stream] = std::move(key);
}

void StreamKeys::Report(const std::string& stream, std::vector<std::string> key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& k = reported_[stream];
  if (k != key) ++generation_;
  k = std::move(key);
}

std::optional<DataType> DeclaredType(const ConnectorContext& ctx, const std::string& stream, const std::string& column,
                                     bool single_stream) {
  auto lookup = [&](const std::string& key) -> std::optional<DataType> {
    auto it = ctx.declared_schemas.find(key);
    if (it == ctx.declared_schemas.end()) return std::nullopt;
    const int i = it->second.IndexOf(column);
    if (i < 0) return std::nullopt;
    return it->second.field(static_cast<size_t>(i)).type;
  };
  if (auto d = lookup(stream)) return d;
  if (single_stream) return lookup("");
  return std::nullopt;
}

std::map<std::string, std::vector<std::string>> StreamKeys::Reported() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reported_;
}

int64_t StreamKeys::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

std::vector<std::string> StreamKeys::For(const std::string& stream, const std::vector<std::string>& sink_key) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = declared_.find(stream); it != declared_.end()) return it->second;
  if (!sink_key.empty()) return sink_key;
  if (auto it = reported_.find(stream); it != reported_.end()) return it->second;
  return {};
}

}  // namespace sluice
