#include "tools/onsale_statistics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace boxoffice::tools::onsale {
namespace {

// Kendall's tau-b the slow way, pair by pair.
double BruteForceTau(const std::vector<std::pair<double, double>>& pairs) {
  double concordant = 0, discordant = 0, tied_first = 0, tied_second = 0;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    for (std::size_t j = i + 1; j < pairs.size(); ++j) {
      const double a = pairs[i].first - pairs[j].first;
      const double b = pairs[i].second - pairs[j].second;
      if (a == 0 && b == 0) continue;
      if (a == 0) {
        ++tied_first;
      } else if (b == 0) {
        ++tied_second;
      } else if ((a > 0) == (b > 0)) {
        ++concordant;
      } else {
        ++discordant;
      }
    }
  }
  return (concordant - discordant) / std::sqrt((concordant + discordant + tied_first) *
                                               (concordant + discordant + tied_second));
}

// Nearest rank: the p-th percentile of 1..100 is p.
TEST(OnsaleStatistics, PercentileIsNearestRank) {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);
  const Summary summary = Summarize(samples);
  EXPECT_EQ(summary.count, 100u);
  EXPECT_EQ(summary.p50, 50);
  EXPECT_EQ(summary.p95, 95);
  EXPECT_EQ(summary.p99, 99);
  EXPECT_EQ(summary.max, 100);
  const std::vector<double> one = {7};
  EXPECT_EQ(Percentile(one, 0.5), 7);
  EXPECT_EQ(Percentile(one, 0.99), 7);
  std::vector<double> none;
  EXPECT_EQ(Summarize(none).count, 0u);
}

// The histogram's percentiles are within its bucket width of the exact ones, over six decades.
TEST(OnsaleStatistics, HistogramPercentilesAreClose) {
  std::mt19937_64 random(5);
  std::lognormal_distribution<double> latency(std::log(3.0), 1.5);
  LatencyHistogram histogram;
  std::vector<double> exact;
  for (int i = 0; i < 200'000; ++i) {
    const double ms = latency(random);
    histogram.Add(ms);
    exact.push_back(ms);
  }
  const Summary truth = Summarize(exact);
  const Summary approx = histogram.Summarize();
  EXPECT_EQ(approx.count, truth.count);
  EXPECT_NEAR(approx.p50 / truth.p50, 1, 0.05);
  EXPECT_NEAR(approx.p95 / truth.p95, 1, 0.05);
  EXPECT_NEAR(approx.p99 / truth.p99, 1, 0.05);
  EXPECT_EQ(approx.max, truth.max);
  LatencyHistogram empty;
  EXPECT_FALSE(empty.Percentile(0.5));
  histogram.Clear();
  EXPECT_EQ(histogram.count(), 0u);
}

// Counts per bucket: at or below each bound, and above the last.
TEST(OnsaleStatistics, BucketCountsIncludeTheBoundAndTheOverflow) {
  const std::vector<double> bounds = {1, 2, 5};
  const std::vector<double> samples = {0.5, 1, 1.5, 2, 4.9, 5, 6, 100};
  EXPECT_EQ(BucketCounts(samples, bounds), (std::vector<std::uint64_t>{2, 2, 2, 2}));
}

// The same order gives 1, the reverse -1, and neither side constant is needed.
TEST(OnsaleStatistics, KendallTauOfSameAndReversedOrder) {
  std::vector<std::pair<double, double>> same, reversed;
  for (int i = 0; i < 1'000; ++i) {
    same.emplace_back(i, i * 2 + 3);
    reversed.emplace_back(i, -i);
  }
  EXPECT_DOUBLE_EQ(*KendallTau(same), 1.0);
  EXPECT_DOUBLE_EQ(*KendallTau(reversed), -1.0);
  std::vector<std::pair<double, double>> constant = {{1, 5}, {2, 5}, {3, 5}};
  EXPECT_FALSE(KendallTau(constant));
  std::vector<std::pair<double, double>> single = {{1, 1}};
  EXPECT_FALSE(KendallTau(single));
}

// The O(n log n) count agrees with the pair-by-pair definition, ties included.
TEST(OnsaleStatistics, KendallTauMatchesBruteForceWithTies) {
  std::mt19937_64 random(9);
  for (int round = 0; round < 20; ++round) {
    std::uniform_int_distribution<int> value(0, 2 + round * 5);
    std::vector<std::pair<double, double>> pairs;
    for (int i = 0; i < 300; ++i) pairs.emplace_back(value(random), value(random));
    const double expected = BruteForceTau(pairs);
    std::vector<std::pair<double, double>> copy = pairs;
    EXPECT_NEAR(*KendallTau(copy), expected, 1e-12) << round;
  }
}

// A million fans, a few of them out of place, take well under a second and give a tau near 1.
TEST(OnsaleStatistics, KendallTauOfAMillionIsFast) {
  std::vector<std::pair<double, double>> pairs;
  std::mt19937_64 random(1);
  for (int i = 0; i < 1'000'000; ++i) pairs.emplace_back(i, i);
  for (int swap = 0; swap < 1'000; ++swap) {
    const std::size_t a = random() % pairs.size();
    const std::size_t b = random() % pairs.size();
    std::swap(pairs[a].second, pairs[b].second);
  }
  const auto started = std::chrono::steady_clock::now();
  const std::optional<double> tau = KendallTau(pairs);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(tau);
  EXPECT_GT(*tau, 0.99);
  EXPECT_LT(*tau, 1.0);
  EXPECT_LT(seconds, 5.0);  // the pair-by-pair count would take hours
}

}  // namespace
}  // namespace boxoffice::tools::onsale
