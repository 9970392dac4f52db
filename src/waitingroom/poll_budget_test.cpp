#include "waitingroom/poll_budget.hpp"

#include <gtest/gtest.h>

namespace boxoffice {
namespace {

// The status polls per second a queue of `waiting` fans costs when each polls as told.
double PollsPerSecond(std::uint64_t waiting, double outflow_per_s, std::uint32_t budget_per_s) {
  const PollLoad load{waiting, outflow_per_s, budget_per_s};
  double total = 0;
  for (std::uint64_t position = 1; position <= waiting; ++position) {
    total += 1.0 / PollIntervalS(position, position, load);
  }
  return total;
}

TEST(PollBudget, TenMillionFansStayWithinTheBudget) {
  EXPECT_LE(PollsPerSecond(10'000'000, 1'000, 20'000), 20'000);
  EXPECT_GT(PollsPerSecond(10'000'000, 1'000, 20'000), 10'000);  // and use it, not waste it
  EXPECT_EQ(PollIntervalCapS({10'000'000, 1'000, 20'000}), 1'000u);
}

// Whenever the budget covers the front's one-second rhythm (B >= 2 r (1 + ln C)).
TEST(PollBudget, EveryQueueLengthStaysWithinTheBudget) {
  for (std::uint64_t waiting : {1ull, 100ull, 10'000ull, 100'000ull, 1'000'000ull}) {
    EXPECT_LE(PollsPerSecond(waiting, 200, 20'000), 20'000) << waiting;
    EXPECT_LE(PollsPerSecond(waiting, 20, 1'000), 1'000) << waiting;
  }
}

// A budget too small for the admission rate gives way to the front: the fans admitted within
// the next second still poll every second.
TEST(PollBudget, TheFrontWinsOverABudgetTooSmallForTheRate) {
  const PollLoad load{1'000'000, 200, 1'000};
  EXPECT_EQ(PollIntervalS(200, 200, load), 1u);
  EXPECT_GT(PollsPerSecond(1'000'000, 200, 1'000), 1'000);
}

// The fans about to be admitted poll every second, however long the queue behind them.
TEST(PollBudget, TheFrontPollsEverySecond) {
  const PollLoad load{10'000'000, 1'000, 20'000};
  for (std::uint64_t position = 1; position <= 1'000; ++position) {
    EXPECT_EQ(PollIntervalS(position, position, load), 1u) << position;
  }
  // At a high admission rate the front is as wide as a second of admissions.
  const PollLoad fast{10'000'000, 5'000, 20'000};
  EXPECT_EQ(PollIntervalS(5'000, 5'000, fast), 1u);
}

// A queue the budget's front covers polls every second, whatever its pace; far back in a long
// one, fans are spread over the cap's last tenth.
TEST(PollBudget, AShortQueuePollsEverySecondAndTheCapIsSpread) {
  const PollLoad slow{1'000, 0.01, 20'000};  // admission held back by max_active
  EXPECT_EQ(PollIntervalCapS(slow), 30u);
  EXPECT_EQ(PollIntervalS(1, 1, slow), 1u);
  EXPECT_EQ(PollIntervalS(1'000, 1'000, slow), 1u);
  const PollLoad load{100'000, 100, 20'000};
  for (std::uint64_t sequence = 0; sequence < 10; ++sequence) {
    const std::uint32_t interval = PollIntervalS(90'000, sequence, load);
    EXPECT_GE(interval, 27u);
    EXPECT_LE(interval, 30u);
  }
}

TEST(PollBudget, ThePrequeueNearTheOpeningIsSpreadByTheBudget) {
  EXPECT_EQ(PrequeuePollIntervalS(0, 100, 20'000), 1u);
  EXPECT_EQ(PrequeuePollIntervalS(20, 100, 20'000), 10u);
  EXPECT_EQ(PrequeuePollIntervalS(600, 100, 20'000), 30u);
  // A million fans waiting for the opening: 50 s apart, 20,000 polls a second.
  EXPECT_EQ(PrequeuePollIntervalS(0, 1'000'000, 20'000), 50u);
}

}  // namespace
}  // namespace boxoffice
