#include "connectors/file/byte_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace sluice {

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
  }
  return "none";
}

Compression DetectCompression(const unsigned char* h, size_t n) {
  if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) return Compression::kGzip;
  if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) return Compression::kZstd;
  return Compression::kNone;
}

Result<Compression> ChooseCompression(const std::string& path, const std::string& option) {
  if (option == "gzip") return Compression::kGzip;
  if (option == "zstd") return Compression::kZstd;
  if (option == "none") return Compression::kNone;
  unsigned char magic[4] = {0};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  ssize_t n = pread(fd, magic, sizeof magic, 0);
  close(fd);
  return DetectCompression(magic, n > 0 ? static_cast<size_t>(n) : 0);
}

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

class PlainReader : public ByteReader {
 public:
  PlainReader(int fd, std::string path, uint64_t pos, uint64_t limit)
      : fd_(fd), path_(std::move(path)), pos_(pos), limit_(limit) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (pos_ >= limit_) return size_t{0};
    if (n > limit_ - pos_) n = static_cast<size_t>(limit_ - pos_);
    for (;;) {
      ssize_t r = pread(fd_.get(), buf, n, static_cast<off_t>(pos_));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IoError("read " + path_ + ": " + std::strerror(errno));
      pos_ += static_cast<uint64_t>(r);
      if (r == 0) limit_ = pos_;  // the file shrank under us; the next run will notice
      return static_cast<size_t>(r);
    }
  }
  uint64_t raw_consumed() const override { return pos_; }

 private:
  Fd fd_;
  std::string path_;
  uint64_t pos_;
  uint64_t limit_;
};

// Shared by the two decompressors: a raw input buffer refilled from the file.
class CompressedReader : public ByteReader {
 public:
  CompressedReader(int fd, std::string path, uint64_t limit)
      : fd_(fd), path_(std::move(path)), limit_(limit), in_(1 << 20) {}
  uint64_t raw_consumed() const override { return raw_pos_ - (in_end_ - in_pos_); }

 protected:
  // Refills the input buffer when empty. Sets eof_ at the end of the file.
  Status Refill() {
    if (in_pos_ < in_end_ || eof_) return Status::OK();
    uint64_t want = std::min<uint64_t>(in_.size(), limit_ - raw_pos_);
    if (want == 0) {
      eof_ = true;
      return Status::OK();
    }
    for (;;) {
      ssize_t r = pread(fd_.get(), in_.data(), static_cast<size_t>(want), static_cast<off_t>(raw_pos_));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IoError("read " + path_ + ": " + std::strerror(errno));
      if (r == 0) eof_ = true;
      raw_pos_ += static_cast<uint64_t>(r);
      in_pos_ = 0;
      in_end_ = static_cast<size_t>(r);
      return Status::OK();
    }
  }
  Fd fd_;
  std::string path_;
  uint64_t limit_;
  std::vector<char> in_;
  size_t in_pos_ = 0, in_end_ = 0;
  uint64_t raw_pos_ = 0;
  uint64_t out_total_ = 0;
  bool eof_ = false;
};

class GzipReader : public CompressedReader {
 public:
  using CompressedReader::CompressedReader;
  ~GzipReader() override {
    if (init_) inflateEnd(&z_);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    if (!init_) {
      std::memset(&z_, 0, sizeof z_);
      if (inflateInit2(&z_, 15 + 32) != Z_OK) return Status::Internal("zlib init failed");
      init_ = true;
    }
    size_t produced = 0;
    while (produced == 0) {
      RETURN_IF_ERROR(Refill());
      if (in_pos_ == in_end_ && eof_) {
        if (in_member_) {
          return Status::Corruption("gzip stream of " + path_ + " is truncated after " +
                                    std::to_string(out_total_) + " uncompressed bytes");
        }
        return size_t{0};
      }
      z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
      z_.avail_in = static_cast<uInt>(in_end_ - in_pos_);
      z_.next_out = reinterpret_cast<Bytef*>(buf + produced);
      z_.avail_out = static_cast<uInt>(n - produced);
      in_member_ = true;
      int rc = inflate(&z_, Z_NO_FLUSH);
      in_pos_ = in_end_ - z_.avail_in;
      produced = n - z_.avail_out;
      if (rc == Z_STREAM_END) {
        // Concatenated members are one stream (as gzip -c a b > c produces).
        in_member_ = false;
        inflateReset(&z_);
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return Status::Corruption("gzip data of " + path_ + " is corrupt after " + std::to_string(out_total_) +
                                  " uncompressed bytes: " + (z_.msg ? z_.msg : "inflate error"));
      }
    }
    out_total_ += produced;
    return produced;
  }

 private:
  z_stream z_;
  bool init_ = false;
  bool in_member_ = false;
};

class ZstdReader : public CompressedReader {
 public:
  using CompressedReader::CompressedReader;
  ~ZstdReader() override {
    if (ctx_) ZSTD_freeDStream(ctx_);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    if (!ctx_) ctx_ = ZSTD_createDStream();
    size_t produced = 0;
    while (produced == 0) {
      RETURN_IF_ERROR(Refill());
      if (in_pos_ == in_end_ && eof_) {
        if (pending_) {
          return Status::Corruption("zstd stream of " + path_ + " is truncated after " +
                                    std::to_string(out_total_) + " uncompressed bytes");
        }
        return size_t{0};
      }
      ZSTD_inBuffer in{in_.data() + in_pos_, in_end_ - in_pos_, 0};
      ZSTD_outBuffer out{buf, n, 0};
      size_t rc = ZSTD_decompressStream(ctx_, &out, &in);
      if (ZSTD_isError(rc)) {
        return Status::Corruption("zstd data of " + path_ + " is corrupt after " + std::to_string(out_total_) +
                                  " uncompressed bytes: " + ZSTD_getErrorName(rc));
      }
      in_pos_ += in.pos;
      produced = out.pos;
      pending_ = rc != 0;
    }
    out_total_ += produced;
    return produced;
  }

 private:
  ZSTD_DStream* ctx_ = nullptr;
  bool pending_ = false;
};

}  // namespace

Result<std::unique_ptr<ByteReader>> OpenByteReader(const std::string& path, Compression c,
                                                   uint64_t start, uint64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  switch (c) {
    case Compression::kNone: return std::unique_ptr<ByteReader>(new PlainReader(fd, path, start, limit));
    case Compression::kGzip: return std::unique_ptr<ByteReader>(new GzipReader(fd, path, limit));
    case Compression::kZstd: return std::unique_ptr<ByteReader>(new ZstdReader(fd, path, limit));
  }
  close(fd);
  return Status::Internal("unknown compression");
}

}  // namespace sluice
