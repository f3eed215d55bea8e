#pragma once
// ByteReader: the uncompressed bytes of one local file, read sequentially. Compression (gzip,
// zstd) is detected from the first bytes unless forced. Not thread-safe; one per file.

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace sluice {

enum class Compression { kNone, kGzip, kZstd };

const char* CompressionName(Compression c);
// From the file's first bytes (magic numbers).
Compression DetectCompression(const unsigned char* head, size_t n);

class ByteReader {
 public:
  virtual ~ByteReader() = default;
  // Reads up to `n` uncompressed bytes. 0 means the end of the input. A truncated or corrupt
  // compressed stream is a Corruption error that says where.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Compressed bytes consumed so far (equal to the uncompressed count for plain files).
  virtual uint64_t raw_consumed() const = 0;
};

// The compression of `path`: `option` is auto (from the first bytes), none, gzip or zstd.
Result<Compression> ChooseCompression(const std::string& path, const std::string& option);

// Reads `path` from raw offset `start` up to raw offset `limit` (the size seen when the run
// planned the file). For compressed files `start` must be 0.
Result<std::unique_ptr<ByteReader>> OpenByteReader(const std::string& path, Compression c,
                                                   uint64_t start, uint64_t limit);

}  // namespace sluice
