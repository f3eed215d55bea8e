#pragma once
// The shared `tls:` block (DESIGN.md): one spelling for every connector that speaks TLS.
//   tls: { mode: verify-full, ca: certs/ca.pem, cert: certs/client.pem, key: ${file:/run/key} }
// Modes, weakest first: disable (plain text), prefer (TLS when the server offers it), require
// (TLS, certificate not checked), verify-ca (chain checked against `ca`), verify-full (chain and
// host name checked). Paths are relative to the pipeline file.

#include <string>

#include "config/config_node.h"
#include "config/options.h"
#include "core/status.h"

namespace sluice {

struct TlsConfig {
  std::string mode = "prefer";
  std::string ca, cert, key;  // absolute paths, empty when not given
  bool Enabled() const { return mode != "disable"; }
  bool VerifiesChain() const { return mode == "verify-ca" || mode == "verify-full"; }
  bool VerifiesHost() const { return mode == "verify-full"; }
};

// The `tls` entry of a connector's option schema.
OptionSpec TlsOptionSpec(const std::string& default_mode = "prefer");

// Reads `node` (may be null: the defaults). Unknown keys, a bad mode, a missing file, or a
// cert without a key are errors that name their YAML path.
Result<TlsConfig> ParseTls(const ConfigNode* node, const std::string& base_dir,
                           const std::string& default_mode = "prefer");

}  // namespace sluice
