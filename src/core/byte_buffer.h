#pragma once
// ByteBuffer: the growable byte array behind column buffers. Unlike std::vector<uint8_t>, growing
// it by resize(n) leaves the new bytes uninitialised and is inlined: a builder appending one value
// writes every byte it adds right after, and the zero fill plus the out-of-line call that
// std::vector makes there cost more than the value itself (a fixed-width append was a third of
// the time of building a column from decoded binlog rows). Storage comes from malloc/realloc, so
// growth can extend in place.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace sluice {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer& o) { Append(o.data_, o.size_); }
  ByteBuffer(ByteBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), cap_(std::exchange(o.cap_, 0)) {}
  ByteBuffer& operator=(const ByteBuffer& o) {
    if (this != &o) {
      size_ = 0;
      Append(o.data_, o.size_);
    }
    return *this;
  }
  ByteBuffer& operator=(ByteBuffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      cap_ = std::exchange(o.cap_, 0);
    }
    return *this;
  }
  ~ByteBuffer() { std::free(data_); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return cap_; }
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  const uint8_t* begin() const { return data_; }
  const uint8_t* end() const { return data_ + size_; }
  uint8_t& operator[](size_t i) { return data_[i]; }
  uint8_t operator[](size_t i) const { return data_[i]; }
  uint8_t& back() { return data_[size_ - 1]; }

  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > cap_) Reallocate(n);
  }
  // Growing leaves the new bytes uninitialised: the caller writes them.
  void resize(size_t n) {
    if (n > cap_) Grow(n);
    size_ = n;
  }
  void resize(size_t n, uint8_t fill) {
    if (n > size_) {
      if (n > cap_) Grow(n);
      std::memset(data_ + size_, fill, n - size_);
    }
    size_ = n;
  }
  void assign(size_t n, uint8_t fill) {
    size_ = 0;
    resize(n, fill);
  }
  void push_back(uint8_t v) {
    if (size_ == cap_) Grow(size_ + 1);
    data_[size_++] = v;
  }
  void Append(const void* p, size_t n) {
    if (n == 0) return;
    if (size_ + n > cap_) Grow(size_ + n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }

 private:
  void Grow(size_t need) { Reallocate(std::max({need, cap_ * 2, size_t{64}})); }
  void Reallocate(size_t cap) {
    void* p = std::realloc(data_, cap);
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<uint8_t*>(p);
    cap_ = cap;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace sluice
