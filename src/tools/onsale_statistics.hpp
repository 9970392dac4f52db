// The statistics of an `onsale` report (tools/onsale.hpp), pure and bounded: percentiles of a
// set of samples, a fixed-memory latency histogram for the per-second percentiles of a long run,
// bucket counts, and Kendall's tau between two orders in O(n log n) (a million admitted fans are
// half a trillion pairs).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace boxoffice::tools::onsale {

struct Summary {
  std::uint64_t count = 0;
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
};

// The nearest-rank percentile `q` (0 < q <= 1) of `sorted` (ascending, not empty): the smallest
// sample with at least q of the samples at or below it.
double Percentile(std::span<const double> sorted, double q);
// Sorts `samples` and summarises them; an empty set gives count 0 and zeros.
Summary Summarize(std::vector<double>& samples);

// A histogram of positive values (milliseconds) in logarithmic buckets 5% wide from 1 µs to
// about 10^4 s, so a percentile is within 2.5% of the exact one; values outside are clamped into
// the end buckets (the exact maximum is kept aside). 2 KiB whatever the number of samples.
class LatencyHistogram {
 public:
  static constexpr double kMinMs = 1e-3;
  static constexpr double kRatio = 1.05;
  static constexpr std::size_t kBuckets = 480;

  void Add(double value_ms);
  void Merge(const LatencyHistogram& other);
  void Clear();
  std::uint64_t count() const { return count_; }
  double max() const { return max_; }
  // The percentile `q` (nearest rank) as its bucket's geometric middle; the maximum for q = 1;
  // nullopt when empty.
  std::optional<double> Percentile(double q) const;
  Summary Summarize() const;

 private:
  std::array<std::uint32_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  double max_ = 0;
};

// How many samples fall at or below each bound and above the last: `bounds.size() + 1` counts;
// sample v goes to the first bucket whose bound is >= v.
std::vector<std::uint64_t> BucketCounts(std::span<const double> samples,
                                        std::span<const double> bounds);

// Kendall's tau-b between the first and the second members of `pairs` (ties handled), by
// Knight's algorithm: sort by the first, count the discordant pairs as the inversions of a merge
// sort of the second. Reorders `pairs`. nullopt for fewer than two pairs, or when either side is
// constant.
std::optional<double> KendallTau(std::vector<std::pair<double, double>>& pairs);

}  // namespace boxoffice::tools::onsale
