#include "connectors/file_sinks/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace sluice {

namespace {
Status ErrnoStatus(const std::string& doing, const std::string& what, int err) {
  if (err == ENOSPC) return Status::IoError("disk full while writing " + what);
  if (err == EDQUOT) return Status::IoError("disk quota exceeded while writing " + what);
  if (err == EPIPE) return Status::IoError("cannot write " + what + ": the reader closed it (broken pipe)");
  return Status::IoError("cannot " + doing + " " + what + ": " + std::strerror(err));
}
}  // namespace

Status WriteAll(int fd, const char* data, size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", what, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::OK();
}

OutputFile::~OutputFile() { Close(); }

void OutputFile::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

Status OutputFile::Open(const std::string& path) {
  Close();
  path_ = path;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Status::IoError("cannot create directory " + parent.string() + ": " + ec.message());
  }
  struct stat st {};
  created_ = ::stat(path.c_str(), &st) != 0 && errno == ENOENT;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return ErrnoStatus("open", path, errno);
  if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat", path, errno);
  if (!S_ISREG(st.st_mode)) return Status::IoError(path + " is not a regular file");
  written_ = static_cast<uint64_t>(st.st_size);
  committed_ = 0;
  if (::lseek(fd_, static_cast<off_t>(written_), SEEK_SET) < 0) return ErrnoStatus("seek in", path, errno);
  return Status::OK();
}

Status OutputFile::Flush() {
  if (buffer_.empty()) return Status::OK();
  Status st = WriteAll(fd_, buffer_.data(), buffer_.size(), path_);
  // Even after a short write the file position tells where the next write lands; keep
  // `written_` honest so that a rollback cuts at the right place.
  off_t pos = ::lseek(fd_, 0, SEEK_CUR);
  if (pos >= 0) written_ = static_cast<uint64_t>(pos);
  buffer_.clear();
  return st;
}

Status OutputFile::Sync() {
  RETURN_IF_ERROR(Flush());
  if (::fsync(fd_) != 0) return ErrnoStatus("fsync", path_, errno);
  if (created_) {
    std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    int dfd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      int rc = ::fsync(dfd);
      int err = errno;
      ::close(dfd);
      if (rc != 0) return ErrnoStatus("fsync the directory of", path_, err);
    }
    created_ = false;
  }
  return Status::OK();
}

Status OutputFile::TruncateTo(uint64_t length) {
  buffer_.clear();
  if (::ftruncate(fd_, static_cast<off_t>(length)) != 0) return ErrnoStatus("truncate", path_, errno);
  if (::lseek(fd_, static_cast<off_t>(length), SEEK_SET) < 0) return ErrnoStatus("seek in", path_, errno);
  written_ = committed_ = length;
  return Status::OK();
}

}  // namespace sluice
