#include "tools/onsale_plan.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

namespace boxoffice::tools::onsale {
namespace {

// Arrivals per whole second of the run.
std::vector<std::uint64_t> PerSecond(const ArrivalSchedule& schedule) {
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(std::ceil(schedule.end_s())) + 1, 0);
  for (std::uint64_t i = 0; i < schedule.fans(); ++i) {
    ++counts[static_cast<std::size_t>(schedule.At(i))];
  }
  return counts;
}

// Every fan arrives once, in index order, the pre-queue share before the opening and everyone
// else between the opening and the end of the tail.
TEST(OnsalePlan, ArrivalsAreOrderedAndSplitByPhase) {
  const ArrivalSchedule schedule(ArrivalCurve{10'000, 0.2, 10, 10, 30, ArrivalShape::kSpike});
  EXPECT_EQ(schedule.prequeue_fans(), 2'000u);
  double last = 0;
  std::uint64_t before_open = 0;
  for (std::uint64_t i = 0; i < schedule.fans(); ++i) {
    const double at = schedule.At(i);
    ASSERT_GE(at, last) << "fan " << i;
    last = at;
    if (at < 10) ++before_open;
    if (i >= schedule.prequeue_fans()) {
      ASSERT_GE(at, 10);
      ASSERT_LE(at, 50);
    }
  }
  EXPECT_EQ(before_open, 2'000u);
}

// The spike holds three quarters of the fans after the opening, and decays: its first second
// is far busier than the tail's last.
TEST(OnsalePlan, SpikeShapeDecaysFromTheOpening) {
  const ArrivalSchedule schedule(ArrivalCurve{100'000, 0.2, 10, 10, 30, ArrivalShape::kSpike});
  std::uint64_t in_spike = 0;
  for (std::uint64_t i = schedule.prequeue_fans(); i < schedule.fans(); ++i) {
    if (schedule.At(i) < schedule.spike_end_s()) ++in_spike;
  }
  EXPECT_NEAR(static_cast<double>(in_spike), 0.75 * 80'000, 2);
  const std::vector<std::uint64_t> counts = PerSecond(schedule);
  EXPECT_GT(counts[10], 5 * counts[19]);  // the spike decays within itself
  EXPECT_GT(counts[20], 5 * counts[49]);  // and so does the tail
  EXPECT_GT(counts[10], 5 * counts[5]);   // the opening outdraws the pre-queue
}

// Uniform arrivals put as many fans in every second after the opening.
TEST(OnsalePlan, UniformShapeIsFlat) {
  const ArrivalSchedule schedule(ArrivalCurve{4'000, 0, 0, 10, 30, ArrivalShape::kUniform});
  EXPECT_EQ(schedule.prequeue_fans(), 0u);
  const std::vector<std::uint64_t> counts = PerSecond(schedule);
  for (int second = 0; second < 40; ++second) EXPECT_NEAR(counts[second], 100, 1) << second;
}

// A ramp rises to its peak at the end of the spike and falls over the tail.
TEST(OnsalePlan, RampPeaksAtTheEndOfTheSpike) {
  const ArrivalSchedule schedule(ArrivalCurve{50'000, 0, 0, 10, 30, ArrivalShape::kRamp});
  const std::vector<std::uint64_t> counts = PerSecond(schedule);
  std::size_t peak = 0;
  for (std::size_t second = 0; second < 40; ++second) {
    if (counts[second] > counts[peak]) peak = second;
  }
  EXPECT_NEAR(static_cast<double>(peak), 9.5, 1);
  EXPECT_LT(counts[0], counts[5]);
  EXPECT_GT(counts[15], counts[35]);
}

// Nobody arrives in a pre-queue that does not exist: an event already on sale has none.
TEST(OnsalePlan, NoPrequeueWhenTheEventIsOpen) {
  const ArrivalSchedule schedule(ArrivalCurve{1'000, 0.5, 0, 10, 30, ArrivalShape::kSpike});
  EXPECT_EQ(schedule.prequeue_fans(), 0u);
  EXPECT_GE(schedule.At(0), 0);
}

// Quantities average near three, never exceed the event's per-order limit, and cover 1..limit.
TEST(OnsalePlan, QuantityMeanNearThreeAndBounded) {
  EXPECT_NEAR(QuantityMean(6), 2.95, 1e-9);
  for (int per_order = 1; per_order <= 8; ++per_order) {
    std::set<int> seen;
    double sum = 0;
    constexpr int kFans = 100'000;
    for (int i = 0; i < kFans; ++i) {
      const int quantity = RollFan(3, i, DiceShares{.per_order = per_order}).quantity;
      ASSERT_GE(quantity, 1);
      ASSERT_LE(quantity, per_order);
      seen.insert(quantity);
      sum += quantity;
    }
    EXPECT_NEAR(sum / kFans, QuantityMean(per_order), 0.02) << per_order;
    EXPECT_EQ(*seen.rbegin(), std::min(per_order, 6));
  }
  EXPECT_GE(QuantityMean(8), 2.8);
  EXPECT_LE(QuantityMean(8), 3.2);
}

// The same seed rolls the same dice; the shares come out as asked.
TEST(OnsalePlan, DiceAreSeededAndSharesHold) {
  const DiceShares shares{
      .stream = 0.05, .decline = 0.1, .abandon = 0.05, .per_order = 6, .personas = 100};
  int streams = 0, declines = 0, abandons = 0, differs = 0;
  constexpr int kFans = 100'000;
  for (int i = 0; i < kFans; ++i) {
    const FanDice dice = RollFan(1, i, shares);
    const FanDice again = RollFan(1, i, shares);
    const FanDice other = RollFan(2, i, shares);
    ASSERT_EQ(dice.seed, again.seed);
    ASSERT_EQ(dice.quantity, again.quantity);
    ASSERT_LT(dice.persona, 100u);
    differs += dice.seed != other.seed;
    streams += dice.streams;
    declines += dice.declines_first;
    abandons += dice.abandon != AbandonAt::kNever;
    if (dice.abandon == AbandonAt::kQueue) {
      ASSERT_GE(dice.patience_s, 5);
      ASSERT_LE(dice.patience_s, 120);
    }
  }
  EXPECT_EQ(differs, kFans);
  EXPECT_NEAR(streams / double(kFans), 0.05, 0.005);
  EXPECT_NEAR(declines / double(kFans), 0.10, 0.005);
  // Five steps at 5% each: 1 - 0.95^5 of the fans abandon somewhere.
  EXPECT_NEAR(abandons / double(kFans), 1 - std::pow(0.95, 5), 0.006);
}

// Consecutive fans speak from different /24s, each its own address, all in 10.0.0.0/8.
TEST(OnsalePlan, AddressesSpreadOverPrefixes) {
  std::set<std::string> prefixes;
  std::set<std::string> addresses;
  for (std::uint64_t i = 0; i < 200'000; ++i) {
    const std::string address = FanAddress(i);
    ASSERT_EQ(address.rfind("10.", 0), 0u) << address;
    if (i < 65'536) prefixes.insert(address.substr(0, address.rfind('.')));
    addresses.insert(address);
  }
  EXPECT_EQ(prefixes.size(), 65'536u);
  EXPECT_EQ(addresses.size(), 200'000u);
  EXPECT_NE(FanDeviceId(1, 7), FanDeviceId(1, 8));
  EXPECT_NE(FanDeviceId(1, 7), FanDeviceId(2, 7));
}

// Bots are exactly the asked number, numbered in arrival order, spread over the arrivals.
TEST(OnsalePlan, BotsAreSpreadEvenly) {
  std::vector<std::uint64_t> ordinals;
  std::uint64_t in_first_half = 0;
  for (std::uint64_t i = 0; i < 10'000; ++i) {
    if (std::optional<std::uint64_t> ordinal = BotOrdinal(i, 10'000, 123)) {
      ordinals.push_back(*ordinal);
      in_first_half += i < 5'000;
    }
  }
  ASSERT_EQ(ordinals.size(), 123u);
  for (std::size_t i = 0; i < ordinals.size(); ++i) EXPECT_EQ(ordinals[i], i);
  EXPECT_NEAR(static_cast<double>(in_first_half), 61.5, 1);
  EXPECT_FALSE(BotOrdinal(5, 10, 0));
}

// Think times are log-normal around their median and stay in their bounds.
TEST(OnsalePlan, ThinkTimesStayInBounds) {
  std::uint64_t state = 42;
  std::vector<double> samples;
  for (int i = 0; i < 10'001; ++i) {
    const double s = ThinkS(state, 2, 0.5, 0.5, 8);
    ASSERT_GE(s, 0.5);
    ASSERT_LE(s, 8);
    samples.push_back(s);
  }
  std::nth_element(samples.begin(), samples.begin() + 5'000, samples.end());
  EXPECT_NEAR(samples[5'000], 2, 0.1);
}

}  // namespace
}  // namespace boxoffice::tools::onsale
