#include "defense/gcra.hpp"

#include <gtest/gtest.h>

namespace boxoffice {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// A burst of `burst` passes at once, the next is refused with the exact wait, and after that
// wait exactly one more passes.
TEST(GcraTest, BurstThenExactSpacing) {
  GcraLimiter limiter(1024);
  FakeClock clock;
  const GcraRate rate{10, 5};  // T = 100 ms, τ = 400 ms
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Check(42, rate, clock.Now()).allowed) << i;
  const GcraDecision refused = limiter.Check(42, rate, clock.Now());
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, milliseconds(100));
  clock.Advance(milliseconds(99));
  EXPECT_FALSE(limiter.Check(42, rate, clock.Now()).allowed);
  EXPECT_EQ(limiter.Check(42, rate, clock.Now()).retry_after, milliseconds(1));
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(limiter.Check(42, rate, clock.Now()).allowed);
  EXPECT_FALSE(limiter.Check(42, rate, clock.Now()).allowed);
}

// A client that keeps to the rate is never refused, however long it goes on.
TEST(GcraTest, SteadyClientAtTheRateIsNeverLimited) {
  GcraLimiter limiter(1024);
  FakeClock clock;
  const GcraRate rate{2, 1};
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(limiter.Check(7, rate, clock.Now()).allowed) << i;
    clock.Advance(milliseconds(500));
  }
}

// Refused requests do not consume the allowance (no penalty for retrying too early).
TEST(GcraTest, RefusalsDoNotPushTheDeadline) {
  GcraLimiter limiter(1024);
  FakeClock clock;
  const GcraRate rate{1, 1};
  ASSERT_TRUE(limiter.Check(1, rate, clock.Now()).allowed);
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(limiter.Check(1, rate, clock.Now()).allowed);
  clock.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(limiter.Check(1, rate, clock.Now()).allowed);
}

// Keys are independent, and a full table evicts rather than growing.
TEST(GcraTest, KeysAreIndependentAndTableIsBounded) {
  GcraLimiter limiter(16);
  FakeClock clock;
  const GcraRate rate{1, 1};
  ASSERT_TRUE(limiter.Check(KeyHash("address", "a"), rate, clock.Now()).allowed);
  EXPECT_FALSE(limiter.Check(KeyHash("address", "a"), rate, clock.Now()).allowed);
  EXPECT_TRUE(limiter.Check(KeyHash("address", "b"), rate, clock.Now()).allowed);
  EXPECT_NE(KeyHash("address", "a"), KeyHash("session", "a"));
  for (int i = 0; i < 1000; ++i) {
    limiter.Check(KeyHash("address", std::to_string(i)), rate, clock.Now());
  }
  EXPECT_EQ(limiter.slots(), 16u);
  EXPECT_GT(limiter.evictions(), 0u);
}

}  // namespace
}  // namespace boxoffice
