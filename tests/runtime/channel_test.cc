#include "runtime/channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace sluice {
namespace {

TEST(Channel, FullChannelBlocksTheProducerUntilTheConsumerTakes) {
  Channel<int> ch(100);
  ASSERT_TRUE(ch.Push(1, 60));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    ch.Push(2, 60);  // 120 > 100: must wait
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(ch.Pop().value(), 1);
  producer.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(ch.Pop().value(), 2);
  EXPECT_LE(ch.peak_bytes(), 100u);
}

TEST(Channel, AnItemLargerThanTheBudgetPassesAlone) {
  Channel<int> ch(10);
  ASSERT_TRUE(ch.Push(7, 1000));
  EXPECT_EQ(ch.Pop().value(), 7);
}

TEST(Channel, CloseDrainsThenEnds) {
  Channel<int> ch(100);
  ch.Push(1, 1);
  ch.Push(2, 1);
  ch.Close();
  EXPECT_FALSE(ch.Push(3, 1));
  EXPECT_EQ(ch.Pop().value(), 1);
  EXPECT_EQ(ch.Pop().value(), 2);
  EXPECT_FALSE(ch.Pop().has_value());
}

TEST(Channel, CancelWakesABlockedProducer) {
  Channel<int> ch(10);
  ch.Push(1, 10);
  std::thread producer([&] { EXPECT_FALSE(ch.Push(2, 10)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ch.Cancel();
  producer.join();
  EXPECT_FALSE(ch.Pop().has_value());
}

TEST(Channel, KeepsOrderUnderConcurrency) {
  Channel<int> ch(64);
  std::thread producer([&] {
    for (int i = 0; i < 10000; ++i) ch.Push(i, 8);
    ch.Close();
  });
  int expect = 0;
  while (auto v = ch.Pop()) EXPECT_EQ(*v, expect++);
  producer.join();
  EXPECT_EQ(expect, 10000);
  EXPECT_LE(ch.peak_bytes(), 64u);
}

}  // namespace
}  // namespace sluice
