#pragma once
// OutputFile: one local file that a sink appends to in commit groups. It tracks two lengths: the
// committed length (durable, recorded in the state store) and the written length (what is in
// the file, including the open group). Appends go through an in-memory buffer that is written
// out once it passes kFlushBytes and at Sync. Not thread-safe; owned by one sink.

#include <cstdint>
#include <string>

#include "core/status.h"

namespace sluice {

// Writes all of `data` to `fd`, retrying short writes and EINTR. `what` names the destination
// in errors: "disk full while writing <what>".
Status WriteAll(int fd, const char* data, size_t size, const std::string& what);

class OutputFile {
 public:
  static constexpr size_t kFlushBytes = 1u << 20;

  OutputFile() = default;
  ~OutputFile();  // closes without flushing: unflushed bytes are lost, as in a crash
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Opens `path` for writing, creating it and its directories when missing. `size()` is then the
  // file's current length and nothing is committed yet.
  Status Open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  uint64_t committed() const { return committed_; }
  // Bytes in the file plus bytes still buffered.
  uint64_t size() const { return written_ + buffer_.size(); }

  // Encoders append here; call MaybeFlush after each chunk.
  std::string& buffer() { return buffer_; }
  Status MaybeFlush() { return buffer_.size() >= kFlushBytes ? Flush() : Status::OK(); }
  Status Flush();
  // Flush, then fsync the file (and its directory the first time, when this created the file).
  Status Sync();
  // Drops the buffer and cuts the file to `length`, which becomes the committed length.
  Status TruncateTo(uint64_t length);
  // Everything written so far is now committed (call after the state store recorded size()).
  void MarkCommitted() { committed_ = written_; }
  // Drops the buffer and cuts the file back to the committed length.
  Status Rollback() { return TruncateTo(committed_); }
  void Close();

 private:
  std::string path_;
  int fd_ = -1;
  bool created_ = false;  // the directory entry still needs an fsync
  uint64_t committed_ = 0;
  uint64_t written_ = 0;
  std::string buffer_;
};

}  // namespace sluice
