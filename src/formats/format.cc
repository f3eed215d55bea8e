#include "formats/format.h"

#include "core/strings.h"
#include "formats/csv/csv_decoder.h"
#include "formats/json/jsonl_decoder.h"

namespace sluice {

const std::vector<FormatInfo>& Formats() {
  static const std::vector<FormatInfo> formats = {CsvFormat(), JsonlFormat()};
  return formats;
}

const FormatInfo* FindFormat(const std::string& name) {
  for (const auto& f : Formats()) {
    if (f.name == name) return &f;
  }
  if (name == "json" || name == "ndjson") return FindFormat("jsonl");
  if (name == "tsv") return FindFormat("csv");
  return nullptr;
}

const FormatInfo* FindFormatByPath(const std::string& path) {
  std::string p = ToLower(path);
  for (const char* c : {".gz", ".gzip", ".zst", ".zstd"}) {
    if (EndsWith(p, c)) {
      p.resize(p.size() - std::string_view(c).size());
      break;
    }
  }
  for (const auto& f : Formats()) {
    for (const auto& ext : f.extensions) {
      if (EndsWith(p, ext)) return &f;
    }
  }
  return nullptr;
}

}  // namespace sluice
