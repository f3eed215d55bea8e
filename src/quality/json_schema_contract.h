#pragma once
// JSON Schema (draft 7) documents as data contracts (issue 3). The top-level `properties` are the
// columns: their types and flat constraints become ColumnContract fields, checked by the
// vectorised checks; what those cannot express (nested objects and arrays, oneOf, $ref ...) is
// compiled once with valijson into a per-column ColumnValidator that checks each value (rule
// `schema`). Contract-level settings sit in a top-level `x-sluice` object spelled as in a YAML
// contract. See docs/contracts.md, "JSON Schema contracts", for the whole mapping.

#include <string>
#include <string_view>

#include "config/config_node.h"
#include "core/status.h"
#include "quality/contract.h"

namespace sluice {

// Loads a JSON Schema contract from JSON text. `origin` (the file) starts every error message,
// followed by the JSON pointer of the offending part of the schema.
Result<Contract> JsonSchemaContractFromJson(std::string_view text, const std::string& origin);

// The same for a schema written in YAML; quoted scalars stay strings, plain ones are typed as in
// YAML 1.2 (so `enum: ["1"]` and `enum: [1]` differ, as they do in JSON).
Result<Contract> JsonSchemaContractFromYaml(std::string_view text, const std::string& origin);

// True when a contract document's top level has `$schema` or `properties`: a JSON Schema, not a
// sluice YAML contract.
bool LooksLikeJsonSchema(const ConfigNode& root);

}  // namespace sluice
