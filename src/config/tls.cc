#include "config/tls.h"

#include <sys/stat.h>

#include "config/pipeline_config.h"

namespace sluice {
namespace {

const std::vector<std::string> kModes = {"disable", "prefer", "require", "verify-ca", "verify-full"};

}  // namespace

OptionSpec TlsOptionSpec(const std::string& default_mode) {
  return {"tls", OptionType::kMap, "",
          "TLS: {mode: disable|prefer|require|verify-ca|verify-full (default " + default_mode +
              "), ca: CA file, cert: client certificate file, key: client key file}"};
}

Result<TlsConfig> ParseTls(const ConfigNode* node, const std::string& base_dir, const std::string& default_mode) {
  TlsConfig tls;
  tls.mode = default_mode;
  if (node == nullptr || node->IsNull()) return tls;
  if (node->IsScalar()) {  // `tls: require` is short for `tls: {mode: require}`
    ConfigNode m;
    m.AddEntry("mode", *node);
    m.SetLocation(node->path(), node->line());
    return ParseTls(&m, base_dir, default_mode);
  }
  static const OptionSchema kSchema = {
      {"mode", OptionType::kEnum, default_mode, "how TLS is used", false, kModes},
      {"ca", OptionType::kString, "", "CA certificate file (PEM)"},
      {"cert", OptionType::kString, "", "client certificate file (PEM)"},
      {"key", OptionType::kString, "", "client private key file (PEM)", false, {}, true},
  };
  RETURN_IF_ERROR(ValidateOptions(*node, kSchema, {}));
  Options o(node, &kSchema);
  tls.mode = o.GetString("mode");
  for (auto [name, out] : {std::pair{"ca", &tls.ca}, {"cert", &tls.cert}, {"key", &tls.key}}) {
    if (!o.Has(name)) continue;
    *out = ResolvePath(base_dir, o.GetString(name));
    struct stat st;
    if (::stat(out->c_str(), &st) != 0) {
      return Status::InvalidArgument(o.Node(name)->Where() + ": file " + o.Node(name)->Shown() + " does not exist");
    }
  }
  if (tls.cert.empty() != tls.key.empty()) {
    return Status::InvalidArgument(node->Where() + ": a client certificate needs both cert and key");
  }
  if (tls.VerifiesChain() && tls.ca.empty()) {
    return Status::InvalidArgument(node->Where() + ": mode " + tls.mode + " needs ca: the CA certificate to verify against");
  }
  return tls;
}

}  // namespace sluice
