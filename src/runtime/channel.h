#pragma once
// Channel<T>: a bounded FIFO between two pipeline stages, bounded by bytes (each item states its
// cost). A full channel blocks the producer, which is how backpressure reaches the source. One
// item larger than the whole budget still passes, alone. Thread-safe; one producer and one
// consumer are expected but not required.

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace sluice {

template <typename T>
class Channel {
 public:
  explicit Channel(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Blocks while full. Returns false (dropping `item`) when the channel is closed.
  bool Push(T item, size_t cost) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || used_ == 0 || used_ + cost <= capacity_; });
    if (closed_) return false;
    used_ += cost;
    peak_ = std::max(peak_, used_);
    items_.emplace_back(std::move(item), cost);
    not_empty_.notify_one();
    return true;
  }

  // Blocks while empty. Returns nullopt once the channel is closed and drained.
  std::optional<T> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    auto [item, cost] = std::move(items_.front());
    items_.pop_front();
    used_ -= cost;
    not_full_.notify_all();
    return std::move(item);
  }

  // Pop that gives up at `deadline`: nullopt with *timed_out set when nothing came by then.
  template <typename TimePoint>
  std::optional<T> PopUntil(TimePoint deadline, bool* timed_out) {
    std::unique_lock<std::mutex> lock(mu_);
    *timed_out = !not_empty_.wait_until(lock, deadline, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    auto [item, cost] = std::move(items_.front());
    items_.pop_front();
    used_ -= cost;
    not_full_.notify_all();
    return std::move(item);
  }

  // No more pushes; Pop drains what is queued, then returns nullopt.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  // Close and drop everything queued (abort path).
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    items_.clear();
    used_ = 0;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  size_t used_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return used_;
  }
  size_t peak_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::pair<T, size_t>> items_;
  size_t used_ = 0;
  size_t peak_ = 0;
  bool closed_ = false;
};

}  // namespace sluice
