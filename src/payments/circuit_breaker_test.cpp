#include "payments/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace boxoffice {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

void RecordMany(CircuitBreaker& breaker, int count, bool success) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(breaker.Allow());
    breaker.Record(success);
  }
}

// Fewer than 20 calls never open the breaker, however many of them failed.
TEST(CircuitBreakerTest, StaysClosedBelowTwentyCalls) {
  FakeClock clock;
  CircuitBreaker breaker(clock);
  RecordMany(breaker, 19, false);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  RecordMany(breaker, 1, false);
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_FALSE(breaker.Allow());
}

// Exactly 5% errors keeps it closed; one error more than 5% opens it.
TEST(CircuitBreakerTest, OpensOnlyAboveFivePercent) {
  FakeClock clock;
  CircuitBreaker breaker(clock);
  RecordMany(breaker, 95, true);
  RecordMany(breaker, 5, false);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);  // 5 of 100
  RecordMany(breaker, 1, false);
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);  // 6 of 101
}

// Calls older than the 10 s window no longer count.
TEST(CircuitBreakerTest, OldCallsSlideOutOfTheWindow) {
  FakeClock clock;
  CircuitBreaker breaker(clock);
  RecordMany(breaker, 19, false);
  clock.Advance(seconds(11));
  RecordMany(breaker, 1, false);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  // Within the window they add up.
  clock.Advance(seconds(5));
  RecordMany(breaker, 18, false);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);  // 19 calls in the window
  RecordMany(breaker, 1, false);
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
}

// After 10 s open, a limited number of probes go through; a successful probe closes it.
TEST(CircuitBreakerTest, HalfOpensAfterTenSecondsAndAProbeSuccessCloses) {
  FakeClock clock;
  CircuitBreaker breaker(clock);
  RecordMany(breaker, 20, false);
  clock.Advance(milliseconds(9'999));
  EXPECT_FALSE(breaker.Allow());
  clock.Advance(milliseconds(1));
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(breaker.Allow());
  EXPECT_TRUE(breaker.Allow());
  EXPECT_TRUE(breaker.Allow());
  EXPECT_FALSE(breaker.Allow());  // three probes in flight at most
  breaker.Record(true);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_TRUE(breaker.Allow());
  breaker.Record(true);
  // Closed with an empty window: the old failures do not count again.
  RecordMany(breaker, 5, false);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
}

// A failed probe opens the breaker for another 10 s.
TEST(CircuitBreakerTest, ProbeFailureReopens) {
  FakeClock clock;
  CircuitBreaker breaker(clock);
  RecordMany(breaker, 20, false);
  clock.Advance(seconds(10));
  ASSERT_TRUE(breaker.Allow());
  breaker.Record(false);
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  clock.Advance(seconds(9));
  EXPECT_FALSE(breaker.Allow());
  clock.Advance(seconds(1));
  EXPECT_TRUE(breaker.Allow());
}

// Many threads at once: the breaker opens on a failing gateway and never lets more probes
// through than allowed.
TEST(CircuitBreakerTest, ConcurrentCallsOpenItAndBoundProbes) {
  FakeClock clock;
  CircuitBreaker breaker(clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&breaker] {
      for (int i = 0; i < 1000; ++i) {
        if (breaker.Allow()) breaker.Record(false);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  clock.Advance(seconds(10));
  std::atomic<int> allowed{0};
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (breaker.Allow()) allowed.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 3);
}

}  // namespace
}  // namespace boxoffice
