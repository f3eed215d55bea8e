// STUB: replaced by the JSON lines implementation.
#include "formats/json/jsonl_decoder.h"
namespace sluice {
FormatInfo JsonlFormat() { return FormatInfo{"jsonl", {".jsonl", ".ndjson", ".json"}, {}, nullptr}; }
}  // namespace sluice
